"""Refresh: every read of the API a plan needs, made here and nowhere else.

`refresh_and_plan` reads in bulk (this workspace's jobs page by page — never one GET per job; every
job of the organisation only when planner/listing.py says why —, every file page by page, and one permission list per managed checkpoint, concurrently with a bound) into an
immutable `Snapshot`, then calls the pure planner. When the planner reports reads the snapshot did
not hold (a data source's checkpoints, the grants of a checkpoint that became known during the
walk, a file's content hash), they are read — concurrently — and the plan is made again with the
larger snapshot.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from reconciler.api.clock import server_time as api_time
from reconciler.api.parallel import AdaptiveLimit, map_bounded, observing
from reconciler.api.profiles import ProfileClients
from reconciler.api.protocols import ModelReader, Reader
from reconciler.config.documents import SpecSet
from reconciler.config.providers import DEFAULT_PROVIDER, recorded_profile
from reconciler.config.refs import resolve
from reconciler.errors import ApiError, NotFoundError, PlanError
from reconciler.kinds.base import KindTable
from reconciler.kinds.job.inputs import compact_live
from reconciler.plan.model import Plan
from reconciler.plan.snapshot import MissingRead, Read, Snapshot, SnapshotReads
from reconciler.plan.walk import WorkingState
from reconciler.planner.build import PlanOptions, check_importable, plan, working_state
from reconciler.planner.listing import MAX_UNMARKED, JobScope, job_scope
from reconciler.sharing import Canonical, same, share_equal
from reconciler.state import State
from reconciler.values import UNKNOWN

__all__ = ["Reader", "build_plan", "check_listing_sanity", "fetch", "read_for_import", "read_models", "refresh",
           "refresh_and_plan"]

log = logging.getLogger("reconciler.refresh")   # --debug shows why every job was listed, or not
MAX_ROUNDS = 8   # each round reads what the previous one found it needs: references chain this deep


def refresh_and_plan(specs: SpecSet, state: State, reader: Reader | None, options: PlanOptions, *,
                     content_digest: Callable[[str], str | None] | None = None,
                     clock: Callable[[], float] = time.time,
                     full_listing: str | None = None) -> tuple[Plan, Snapshot | None]:
    """The plan and the snapshot it was made from (drift reports look for unmanaged objects
    there; None when nothing was refreshed). Only this workspace's jobs are listed unless
    `full_listing` says why every job of the organisation is needed (planner/listing.py)."""
    work = working_state(specs, state)
    kinds = options.kinds
    if options.refresh and reader is not None:
        jobs, files, checkpoints = _needs(specs, work, kinds)
        scope = job_scope(specs, work, kinds, recovered=getattr(state, "recovered_from_journal", 0),
                          full_listing=full_listing)
        if jobs:
            log.debug("job listing: %s: %s", "every job" if scope.complete else "filtered", scope.reason)
        snapshot = refresh(reader, need_jobs=jobs, need_files=files, checkpoints=checkpoints,
                           parallelism=options.parallelism, clock=clock, scope=scope, need_models=jobs)
        snapshot = widen(reader, work, snapshot, kinds)
        check_listing_sanity(work, snapshot, kinds)
        snapshot = confirm_missing(reader, work, snapshot, options.parallelism, kinds)
        if not options.destroy:
            snapshot = snapshot.with_reads(fetch(reader, _predicted_reads(specs, work, snapshot, kinds),
                                                 options.parallelism, content_digest))
    else:
        snapshot = Snapshot.of(refreshed=False, server_time=None)
    for _ in range(MAX_ROUNDS):
        result = plan(specs, state, snapshot, options, clock=clock)
        if isinstance(result, Plan):
            return result, (snapshot if snapshot.refreshed else None)
        snapshot = snapshot.with_reads(fetch(reader, result.missing, options.parallelism, content_digest))
    raise PlanError(f"references chain more than {MAX_ROUNDS} reads deep; the plan cannot be completed")


def read_for_import(reader: Reader, address: str, kind_name: str, object_id: str, kinds: KindTable) -> dict[str, Any]:
    """The live object behind `object_id`, as state attributes (`reconciler import`)."""

    check_importable(address, kind_name, kinds)
    snapshot = Snapshot.of(refreshed=True)
    for _ in range(MAX_ROUNDS):
        try:
            return kinds.get(kind_name).read_for_import(address, object_id, SnapshotReads(snapshot))
        except MissingRead as need:
            snapshot = snapshot.with_reads(fetch(reader, [need.read], 1))
        except NotFoundError:
            raise PlanError(f"cannot import {address}: {object_id} does not exist") from None
    raise PlanError(f"cannot import {address}: too many reads")  # pragma: no cover


def build_plan(specs: SpecSet, state: State, reader: Reader | None, options: PlanOptions, *,
               content_digest: Callable[[str], str | None] | None = None,
               clock: Callable[[], float] = time.time) -> Plan:
    """Refresh (unless options.refresh is false), then plan."""
    return refresh_and_plan(specs, state, reader, options, content_digest=content_digest, clock=clock)[0]


def _needs(specs: SpecSet, work: WorkingState, kinds: KindTable) -> tuple[bool, bool, dict[str, Any]]:
    listings: set[str] = set()
    for doc in specs.documents.values():
        listings |= kinds.get(doc.kind).listings
    for resource in work.resources.values():
        listings |= kinds.by_type(resource.kind).listings
    for address in work.imports:
        kind = kinds.kind_of_address(address)
        listings |= kind.listings if kind is not None else set()
    # checkpoint -> the grants the state recorded on it (a refresh that reads the same grants back
    # keeps the recorded objects instead of a second, equal copy)
    checkpoints = {r.id: (r.attributes or {}).get("permissions") for r in work.resources.values()
                   if r.id and "permissions" in kinds.by_type(r.kind).listings}
    return "jobs" in listings, "files" in listings, checkpoints


def _predicted_reads(specs: SpecSet, work: WorkingState, snapshot: Snapshot, kinds: KindTable) -> set[Read]:
    """Grants the permission documents will read, resolved against what the API reports now, so
    they are listed in parallel up front instead of in a second round (the first plan after jobs
    finish would otherwise wait for one more round trip). A guess only: the planner resolves every
    reference itself and asks for anything this missed."""

    def lookup(ref: Any) -> Any:
        resource = work.resources.get(ref.address)
        live = snapshot.job(resource.id) if resource is not None and resource.id else None
        value: Any = live
        for part in ref.path:
            value = value.get(part) if isinstance(value, dict) else None
        return UNKNOWN if value is None else value

    found: set[Read] = set()
    for doc in specs.documents.values():
        kind = kinds.get(doc.kind)
        if kind.checkpoint_of(doc.spec) is None or doc.address in work.resources:
            continue
        checkpoint = resolve(kind.checkpoint_of(doc.spec), lookup)
        if isinstance(checkpoint, str) and checkpoint and checkpoint not in snapshot.permissions:
            found.add(Read("permissions", (checkpoint,)))
    return found


def check_listing_sanity(work: WorkingState, snapshot: Snapshot, kinds: KindTable) -> None:
    """A listing that is suddenly empty is an alert, never "everything was deleted": a wrong key,
    project or base URL looks exactly like that, and acting on it would re-create (and pay for)
    every job. With provider profiles each profile's part of the listing is checked too: one
    profile's wrong key hides behind the others' objects in the merged listing."""
    for listing, listed, noun in (("jobs", snapshot.jobs, "fine-tuning jobs"),
                                  ("files", snapshot.files, "files")):
        # an object a killed run was deleting (a write-ahead mark) may rightly be gone: not evidence
        managed = [r for r in work.resources.values()
                   if listing in kinds.by_type(r.kind).listings and r.id
                   and not (r.meta or {}).get("deleting")]
        if listed is None or not managed:
            continue
        _refuse_if_hidden([r.id for r in managed if r.id], listed, noun, "")
        if not snapshot.listed_in:
            continue
        by_profile: dict[str, list[str]] = {}
        for r in managed:
            if r.id:
                by_profile.setdefault(recorded_profile(r), []).append(r.id)
        if set(by_profile) == {DEFAULT_PROVIDER}:
            continue  # one profile: the whole listing's check above was its check
        for profile, ids in sorted(by_profile.items()):
            in_profile = {i for i in listed if snapshot.listed_in.get(i) == profile}
            _refuse_if_hidden(ids, in_profile, noun, f" for provider {profile}")


def _refuse_if_hidden(managed: list[str], listed: Mapping[str, Any] | set[str], noun: str, who: str) -> None:
    visible = sum(1 for object_id in managed if object_id in listed)
    if visible == 0 and (not listed or len(managed) >= 3):
        what = "listed no " + noun + " at all" if not listed else f"shows none of the {len(managed)} managed {noun}"
        raise PlanError(f"refusing to plan: the API {what}{who} while the state manages {len(managed)}. "
                        "This usually means a wrong key, project or base URL rather than deletion; nothing "
                        "was changed. If they really are gone, remove them with `reconciler state rm`.")


def _managed_jobs(work: WorkingState, kinds: KindTable) -> set[str]:
    return {r.id for r in work.resources.values()
            if "jobs" in kinds.by_type(r.kind).listings and r.id and not (r.meta or {}).get("deleting")}


def _missing_jobs(work: WorkingState, listed: Mapping[str, Any], kinds: KindTable) -> list[str]:
    return sorted(j for j in _managed_jobs(work, kinds) if j not in listed)


def widen(reader: Reader, work: WorkingState, snapshot: Snapshot, kinds: KindTable) -> Snapshot:
    """A filtered job listing that misses more than a few managed jobs (made before workspace
    marks, or a listing that lost them) is replaced by the listing of every job; the few that
    remain missing are then read by id (`confirm_missing`), as with any listing."""
    if snapshot.jobs is None or snapshot.jobs_complete:
        return snapshot
    missing = _missing_jobs(work, snapshot.jobs, kinds)
    if not missing or (len(missing) <= MAX_UNMARKED and any(j in snapshot.jobs for j in _managed_jobs(work, kinds))):
        return snapshot
    log.debug("job listing: every job: the filtered listing omits %d managed job(s)%s (made before workspace "
              "marks?)", len(missing), f", more than {MAX_UNMARKED} to read one by one"
              if len(missing) > MAX_UNMARKED else ", all it should show")
    jobs = _list_jobs(reader)
    return Snapshot.of(jobs=jobs, files=snapshot.files, permissions=snapshot.permissions,
                       reads=snapshot.reads, server_time=snapshot.server_time, warnings=snapshot.warnings,
                       listed_in=_listed_in(reader, jobs, snapshot.files), models=snapshot.models)


MAX_CONFIRM = 500   # managed objects missing from a listing that are confirmed one by one


def confirm_missing(reader: Reader, work: WorkingState, snapshot: Snapshot, parallelism: int,
                    kinds: KindTable) -> Snapshot:
    """A managed object a listing does not show is gone only if reading it by id says 404: a
    listing can be partial (a proxy, a paging bug, eventual consistency), and planning a create
    for a job that still exists would pay for it twice. Objects found this way join the snapshot;
    more missing objects than can be confirmed one by one abort the plan."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    notes: list[str] = []
    for listing, listed, op, noun in (("jobs", snapshot.jobs, "job", "jobs"), ("files", snapshot.files, "file", "files")):
        if listed is None:
            continue
        missing = sorted({r.id for r in work.resources.values()
                          if listing in kinds.by_type(r.kind).listings and r.id and r.id not in listed
                          and not (r.meta or {}).get("deleting")})
        if not missing:
            continue
        if len(missing) > MAX_CONFIRM:
            raise PlanError(f"refusing to plan: the {noun} listing omits {len(missing)} managed {noun}, more than "
                            f"can be confirmed one by one ({MAX_CONFIRM}); nothing was changed. Check the base "
                            "URL, key and project, or remove what is really gone with `reconciler state rm`.")
        answers = fetch(reader, [Read(op, (object_id,)) for object_id in missing], parallelism)
        present = {read.args[0]: value for read, value in answers.items() if not isinstance(value, BaseException)}
        if present:
            found[listing] = present
            notes.append(f"the {noun} listing omitted {len(present)} managed {noun} that still exist "
                         f"({', '.join(sorted(present)[:3])}{', …' if len(present) > 3 else ''}); they were read "
                         "one by one")
    if not found:
        return snapshot
    jobs = dict(snapshot.jobs or {}) if snapshot.jobs is not None else None
    if jobs is not None:
        jobs.update({i: compact_live(j) for i, j in found.get("jobs", {}).items()})
    files = dict(snapshot.files or {}) if snapshot.files is not None else None
    if files is not None:
        files.update(found.get("files", {}))
    return Snapshot.of(jobs=jobs, files=files, permissions=snapshot.permissions, reads=snapshot.reads,
                       server_time=snapshot.server_time, warnings=(*snapshot.warnings, *notes),
                       jobs_complete=snapshot.jobs_complete, listed_in=_listed_in(reader, jobs, files),
                       models=snapshot.models)


# -- reading ---------------------------------------------------------------------------------------

def _list_jobs(reader: Reader, scope: JobScope | None = None) -> dict[str, dict[str, Any]]:
    """Every job (or those `scope` filters on, one listing per filter), compacted; jobs trained
    the same way share one `method` block."""
    canonical = Canonical()
    jobs: dict[str, dict[str, Any]] = {}
    for metadata in (None,) if scope is None or scope.filters is None else scope.filters:
        for listed in reader.list_jobs(metadata=metadata, page_size=100):
            job = compact_live(listed)
            if type(job.get("method")) is dict:
                job["method"] = canonical(job["method"])
            jobs[job["id"]] = job
    return jobs


def read_models(reader: Reader) -> dict[str, str | None] | None:
    """model id -> shutdown_date, as GET /v1/models answers (one request). None when the API does
    not answer it (a proxy without the route, a key without the scope, an outage): the end dates
    then come from the data alone, and the plan is not held up for them."""
    if not isinstance(reader, ModelReader):
        return None
    try:
        listed = list(reader.list_models())
    except ApiError as exc:
        log.debug("models listing: not read (%s); end dates from the data", exc)
        return None
    return {str(m["id"]): (m.get("shutdown_date") if isinstance(m.get("shutdown_date"), str) else None)
            for m in listed if isinstance(m, dict) and isinstance(m.get("id"), str)}


def _permissions_task(reader: Reader, checkpoint: str, recorded: Any) -> tuple[str, list[dict[str, Any]]]:
    grants = list(reader.list_permissions(checkpoint))
    if isinstance(recorded, list) and recorded:
        # The recorded grant objects stand in for equal ones read back (matched by id: the API's
        # order need not be the order they were recorded in).
        known = {g.get("id"): g for g in recorded if isinstance(g, dict)}
        grants = [share_equal(g, known[g.get("id")]) if g.get("id") in known else g for g in grants]
        if same(grants, recorded):
            grants = recorded
    return "permissions", grants


def refresh(reader: Reader, *, need_jobs: bool, need_files: bool, checkpoints: Mapping[str, Any],
            parallelism: int = 10, clock: Callable[[], float] | None = None,
            scope: JobScope | None = None, need_models: bool = False) -> Snapshot:
    """Bulk reads, all at once: every job page and every file page, and the permissions of
    `checkpoints` (known from the state, so they need not wait for the job list). The job pages
    follow one another (each needs the previous cursor) while the permission lists fill the other
    workers; errors are raised in a fixed order (jobs, files, then checkpoints sorted).

    `checkpoints` maps each checkpoint to the grants last recorded for it (or None): grants read
    back unchanged are then the recorded objects, not a second equal copy (10,000 checkpoints).
    `need_models`: the models listing too (their shutdown dates), beside the job pages."""
    tasks: list[Callable[[], Any]] = []
    if need_jobs:
        tasks.append(lambda: ("jobs", _list_jobs(reader, scope)))
    if need_files:
        tasks.append(lambda: ("files", {f["id"]: f for f in reader.list_files(purpose="fine-tune")}))
    if need_models:
        tasks.append(lambda: ("models", read_models(reader)))
    bulk = len(tasks)
    wanted = sorted({c for c in checkpoints if c})
    for checkpoint in wanted:
        tasks.append(functools.partial(_permissions_task, reader, checkpoint, checkpoints[checkpoint]))
    workers = max(1, bulk, parallelism if wanted else bulk)
    if wanted and workers > 1:
        limit = AdaptiveLimit(max(workers, parallelism), cpu_clock=time.process_time)
        undo = observing(reader, limit)
        try:
            results = map_bounded(lambda task: task(), tasks, workers, limit)
        finally:
            undo()
        log.debug("%s", limit.summary())
    else:
        results = map_bounded(lambda task: task(), tasks, workers)
    listed = dict(results[:bulk])
    server_time = api_time(reader)
    if server_time is None and clock is not None:
        server_time = clock()
    return Snapshot.of(jobs=listed.get("jobs"), files=listed.get("files"),
                       permissions=dict(zip(wanted, (value for _, value in results[bulk:]))),
                       server_time=server_time, jobs_complete=scope is None or scope.complete,
                       listed_in=_listed_in(reader, listed.get("jobs"), listed.get("files")),
                       models=listed.get("models"))


def _listed_in(reader: Reader, *listings: Mapping[str, Any] | None) -> dict[str, str] | None:
    """object id -> profile, for the objects a profile-routing reader (api/profiles.py) listed."""
    if not isinstance(reader, ProfileClients):
        return None
    found: dict[str, str] = {}
    for listing in listings:
        for object_id in listing or ():
            profile = reader.owner(object_id)
            if profile is not None:
                found[object_id] = profile
    return found


_EMPTY: dict[str, Any] = {"permissions": [], "permissions_query": [], "checkpoints": [], "jobs": [],
                          "job": {}, "file": {}, "file_sha256": None,
                          "deployments": []}


def fetch(reader: Reader | None, reads: Iterable[Read], parallelism: int,
          content_digest: Callable[[str], str | None] | None = None) -> dict[Read, Any]:
    """Make `reads`, concurrently. A read of an object that does not exist answers the error, which
    the planner raises where it needs the value. Without a reader every read answers nothing (the
    planner then sees empty lists, as a plan with no API does)."""
    wanted = sorted(set(reads))
    if reader is None:
        return {read: _EMPTY[read.op] for read in wanted}
    digest = content_digest or _downloaded_sha256(reader)

    def one(read: Read) -> Any:
        try:
            return _read(reader, read, digest)
        except NotFoundError as exc:
            return exc

    if parallelism <= 1 or len(wanted) <= 1:
        return dict(zip(wanted, map_bounded(one, wanted, max(1, parallelism))))
    limit = AdaptiveLimit(parallelism, cpu_clock=time.process_time)
    undo = observing(reader, limit)
    try:
        answers = map_bounded(one, wanted, parallelism, limit)
    finally:
        undo()
    log.debug("%s", limit.summary())
    return dict(zip(wanted, answers))


def _read(reader: Reader, read: Read, digest: Callable[[str], str | None]) -> Any:
    args = read.args
    if read.op == "permissions":
        return list(reader.list_permissions(args[0]))
    if read.op == "permissions_query":
        return list(reader.list_permissions(args[0], project_id=args[1], order=args[2]))
    if read.op == "checkpoints":
        return list(reader.list_checkpoints(args[0]))
    if read.op == "jobs":
        return list(reader.list_jobs(page_size=100))
    if read.op == "job":
        return reader.get_job(args[0])
    if read.op == "file":
        return reader.get_file(args[0])
    if read.op == "file_sha256":
        return digest(args[0])
    if read.op == "deployments":
        lister = getattr(reader, "list_deployments_of", None)
        if lister is None:
            raise PlanError(f"provider {args[0]!r} has no Azure Resource Manager account: a Deployment needs one")
        return lister(args[0])
    raise PlanError(f"unknown read {read.op}")  # pragma: no cover - SnapshotReads makes only these


class _HashingSink(io.RawIOBase):
    """A download's destination that keeps only the sha256 of what was written (emptied, as a
    retried download empties its sink, by seek(0) and truncate())."""

    def __init__(self) -> None:
        super().__init__()
        self.hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.hash.update(data)
        self.size += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        if (offset, whence) != (0, 0):
            raise io.UnsupportedOperation("a hashing sink only goes back to its start")
        return 0

    def truncate(self, size: int | None = None) -> int:
        self.hash, self.size = hashlib.sha256(), 0
        return 0

    def tell(self) -> int:
        return self.size


def _downloaded_sha256(reader: Reader) -> Callable[[str], str | None]:
    def digest(file_id: str) -> str | None:
        try:
            stream = getattr(reader, "download_file_to", None)
            if stream is not None:   # streamed: a large file is never held in memory
                sink = _HashingSink()
                stream(file_id, sink)
                return sink.hash.hexdigest()
            return hashlib.sha256(reader.download_file(file_id)).hexdigest()
        except Exception:  # best effort: a file we cannot read is simply not adopted
            return None

    return digest
