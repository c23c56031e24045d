"""What the live API reported during one refresh, indexed for the planner.

Reads are done in bulk: every job page by page (never one GET per job), every file page by page,
and one permission list per managed checkpoint, the lists run concurrently with a bound.
"""

from __future__ import annotations

import email.utils
import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.resources.job import TAG_ADDRESS, compact_live
from reconciler.sharing import Canonical, same, share_equal

__all__ = ["Observed", "Reader", "refresh"]


class Reader(Protocol):
    """The read-only part of reconciler.api.ApiClient that planning uses."""

    def list_jobs(self, *, metadata: dict[str, str] | None = None, page_size: int = 100) -> Iterable[dict]: ...
    def get_job(self, job_id: str) -> dict: ...
    def list_files(self, purpose: str | None = None) -> Iterable[dict]: ...
    def list_permissions(self, checkpoint: str, *, project_id: str | None = None,
                         order: str | None = None, page_size: int = 100) -> Iterable[dict]: ...
    def list_checkpoints(self, job_id: str, page_size: int = 100) -> Iterable[dict]: ...


@dataclass
class Observed:
    jobs: dict[str, dict[str, Any]] | None = None                 # id -> job (None: not read)
    files: dict[str, dict[str, Any]] | None = None                # id -> file
    permissions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # checkpoint -> grants
    checkpoints: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # job id -> checkpoints
    jobs_by_address: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    server_time: float | None = None
    reader: Reader | None = None
    parallelism: int = 10
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def index_jobs(self) -> None:
        self.jobs_by_address = {}
        for job in (self.jobs or {}).values():
            address = (job.get("metadata") or {}).get(TAG_ADDRESS)
            if address:
                self.jobs_by_address.setdefault(address, []).append(job)

    def permissions_for(self, checkpoint: str) -> list[dict[str, Any]]:
        """Grants on one checkpoint; read on demand when the prefetch did not cover it."""
        with self._lock:
            cached = self.permissions.get(checkpoint)
        if cached is not None or self.reader is None:
            return cached or []
        grants = list(self.reader.list_permissions(checkpoint))
        with self._lock:
            self.permissions[checkpoint] = grants
        return grants

    def prefetch_permissions(self, checkpoints: Iterable[str]) -> None:
        wanted = sorted({c for c in checkpoints if c and c not in self.permissions})
        if not wanted or self.reader is None:
            return
        from reconciler.api.parallel import map_bounded

        reader = self.reader
        results = map_bounded(lambda c: list(reader.list_permissions(c)), wanted, self.parallelism)
        with self._lock:
            self.permissions.update(zip(wanted, results))

    def checkpoints_for(self, job_id: str) -> list[dict[str, Any]]:
        if job_id not in self.checkpoints and self.reader is not None:
            self.checkpoints[job_id] = list(self.reader.list_checkpoints(job_id))
        return self.checkpoints.get(job_id, [])

    def job(self, job_id: str) -> dict[str, Any] | None:
        if self.jobs is not None and job_id in self.jobs:
            return self.jobs[job_id]
        return None


def _list_jobs(reader: Reader) -> dict[str, dict[str, Any]]:
    """Every job, compacted; jobs trained the same way share one `method` block."""
    canonical = Canonical()
    jobs: dict[str, dict[str, Any]] = {}
    for listed in reader.list_jobs(page_size=100):
        job = compact_live(listed)
        if type(job.get("method")) is dict:
            job["method"] = canonical(job["method"])
        jobs[job["id"]] = job
    return jobs


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
            parallelism: int = 10, clock: Callable[[], float] | None = None) -> Observed:
    """Bulk reads, all at once: every job page and every file page, and the permissions of
    `checkpoints` (known from the state, so they need not wait for the job list). The job pages
    follow one another (each needs the previous cursor) while the permission lists fill the other
    workers; errors are raised in the same order as before (jobs, files, then checkpoints sorted).

    `checkpoints` maps each checkpoint to the grants last recorded for it (or None): grants read
    back unchanged are then the recorded objects, not a second equal copy (10,000 checkpoints)."""
    from reconciler.api.parallel import map_bounded

    observed = Observed(reader=reader, parallelism=parallelism)
    tasks: list[Callable[[], Any]] = []
    if need_jobs:
        tasks.append(lambda: ("jobs", _list_jobs(reader)))
    if need_files:
        tasks.append(lambda: ("files", {f["id"]: f for f in reader.list_files(purpose="fine-tune")}))
    bulk = len(tasks)
    wanted = sorted({c for c in checkpoints if c})
    for checkpoint in wanted:
        tasks.append(functools.partial(_permissions_task, reader, checkpoint, checkpoints[checkpoint]))
    workers = max(1, bulk, parallelism if wanted else bulk)
    results = map_bounded(lambda task: task(), tasks, workers)
    for name, value in results[:bulk]:
        setattr(observed, name, value)
    observed.permissions.update(zip(wanted, (value for _, value in results[bulk:])))
    observed.index_jobs()
    server_date = getattr(reader, "last_server_date", None)
    if isinstance(server_date, str):
        parsed = email.utils.parsedate_to_datetime(server_date)
        observed.server_time = parsed.timestamp() if parsed else None
    if observed.server_time is None and clock is not None:
        observed.server_time = clock()
    return observed
