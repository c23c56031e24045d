"""The executor: runs a Plan against the API, in dependency order, in parallel up to a bound, and
records each action's result in the state journal the moment it finishes.

Safety rules (the API spends money):
- a job is created with its address and input digest in `metadata` and an `Idempotency-Key`
  derived from (lineage, serial, address, digest): a retry, or a re-run after a crash, cannot
  make a second job; a connection lost during the create is followed by a lookup by metadata;
- the state is never behind the world: every finished action is journalled (fsync) before the
  next one that depends on it starts, and the state file is written once at the end;
- one failed action does not stop independent ones; its dependents are skipped and reported.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from reconciler.apply.events import ApplyResult, Event, EventKind, Listener
from reconciler.errors import ApiError, ConnectionFailedError, NotFoundError, ReconcilerError
from reconciler.plan.jobs import LiveJobView
from reconciler.plan.model import Action, Change, Op, Plan, Step
from reconciler.resources import job as J
from reconciler.resources.file import sha256_of
from reconciler.sharing import Canonical, share_equal
from reconciler.state import ResourceState
from reconciler.values import UNKNOWN, contains_unknown

__all__ = ["Executor", "idempotency_key"]

_VERBS = {
    Action.CREATE: ("Creating", "Creation"), Action.REPLACE: ("Replacing", "Replacement"),
    Action.UPDATE: ("Modifying", "Modifications"), Action.DELETE: ("Destroying", "Destruction"),
    Action.FORGET: ("Forgetting", "Forgetting"), Action.ADOPT: ("Adopting", "Adoption"),
    Action.PENDING: ("Granting", "Grants"),
}


class Pending(Exception):
    """An action cannot run yet (a value it needs is not known); not a failure."""


class Skip(Exception):
    pass


def idempotency_key(lineage: str, serial: int, address: str, digest: str, op: str) -> str:
    raw = f"reconciler:{lineage}:{serial}:{address}:{digest}:{op}"
    return "rc-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


class Executor:
    def __init__(self, plan: Plan, *, client: Any, store: Any, state: Any, parallelism: int = 10,
                 wait_for_jobs: bool = False, timeout: float | None = None, poll_interval: float = 10.0,
                 listener: Listener | None = None, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.plan = plan
        self.client = client
        self.store = store
        self.state = state
        self.parallelism = max(1, parallelism)
        self.wait_for_jobs = wait_for_jobs
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.listener = listener or (lambda event: None)
        self.monotonic = monotonic
        self.sleep = sleep
        self.result = ApplyResult()
        self._lock = threading.RLock()
        self._journal: Any = None
        self._started = monotonic()
        self.values: dict[str, Mapping[str, Any]] = {}
        self._touched: set[str] = set()  # addresses whose state this run rewrote
        self._canonical = Canonical()  # jobs trained the same way share one method/settings block

    # -- bookkeeping -----------------------------------------------------------------------------
    def _emit(self, kind: EventKind, address: str, verb: str = "", message: str = "", *,
              elapsed: float = 0.0, object_id: str | None = None) -> None:
        self.listener(Event(kind, address, verb, message, elapsed, object_id))

    def _record(self, address: str, resource: ResourceState | None) -> None:
        if resource is not None and resource.kind == "FineTuningJob" and resource.attributes:
            resource.attributes = J.state_attributes(resource.attributes, keep_method=not resource.inputs)
        with self._lock:
            self._touched.add(address)
            if resource is None:
                self.state.resources.pop(address, None)
            else:
                self.state.resources[address] = resource
            ticket = self._journal.append(address, resource)
        # fsync outside the executor's lock: concurrent actions share one fsync (group commit),
        # and this still returns only once the line is on disk, before any dependent starts.
        self._journal.sync(ticket)

    def _key(self, address: str, digest: str, op: str) -> str:
        return idempotency_key(self.plan.lineage, self.plan.serial, address, digest, op)

    # -- run -------------------------------------------------------------------------------------
    def run(self) -> ApplyResult:
        self._journal = self.store.open_journal(self.state)
        try:
            self._apply_moves_and_imports()
            self._seed_values()
            self._schedule()
            self._refresh_untouched()
            self.store.write(self.state)
        finally:
            self._journal.close()
        return self.result

    def _apply_moves_and_imports(self) -> None:
        for old, new in self.plan.moves:
            resource = self.state.resources.get(old)
            if resource is not None and new not in self.state.resources:
                moved = copy.copy(resource)
                moved.address = new
                self._record(old, None)
                self._record(new, moved)
                self._emit(EventKind.NOTE, new, message=f"moved from {old}")
        from reconciler.plan.imports import imported_resource

        for address, object_id in self.plan.imports.items():
            change = self.plan.change_for(address)
            kind = change.kind if change else address.split(".", 1)[0]
            self._record(address, imported_resource(kind, address, object_id,
                                                    dict(self.plan.observed.get(address) or {}),
                                                    list(change.depends_on) if change else []))
            self._emit(EventKind.NOTE, address, message=f"imported {object_id}")

    def _seed_values(self) -> None:
        for change in self.plan.changes:
            live = self.plan.observed.get(change.address)
            if live is None:
                continue
            self.values[change.address] = self._attrs(change, live)

    def _attrs(self, change: Change, obj: dict[str, Any]) -> Mapping[str, Any]:
        """What references to this address see: the object as read, never a copy of it (a copy per
        resource doubled the memory of applying 10,000 jobs). A job is seen through a view that
        hides the tracking tags in its metadata and shows the spec's suffix."""
        if change.kind == "FineTuningJob":
            return LiveJobView(obj, (change.after or {}).get("suffix"))
        if change.kind == "File" and change.after:
            return {**obj, **{k: change.after.get(k) for k in ("path", "sha256")}}
        return obj

    def _dependencies(self, change: Change, addresses: set[str]) -> set[str]:
        if change.action in (Action.DELETE, Action.FORGET):
            # Destroy dependents first: revoke grants before cancelling the job they came from.
            return {c.address for c in self.plan.changes
                    if c.action in (Action.DELETE, Action.FORGET) and c.address != change.address
                    and change.address in self._state_deps(c.address)}
        return {d for d in change.depends_on if d in addresses}

    def _state_deps(self, address: str) -> list[str]:
        resource = self.state.resources.get(address)
        return list(resource.depends_on) if resource is not None else []

    def _schedule(self) -> None:
        """Run every change once its dependencies have an outcome, in plan order, up to
        `parallelism` at a time. Bookkeeping is O(changes + dependencies): a pass visits only the
        changes that just became ready, and completions arrive through a queue (no scans of all
        nodes or all running futures per completion)."""
        import heapq
        import queue

        nodes = {c.address: c for c in self.plan.changes}
        addresses = set(nodes)
        deps = {a: self._dependencies(c, addresses) for a, c in nodes.items()}
        position = {a: i for i, a in enumerate(nodes)}
        names = list(nodes)
        dependents: dict[str, list[str]] = {a: [] for a in nodes}
        unmet: dict[str, int] = {}
        for address, needed in deps.items():
            unmet[address] = len(needed)
            for d in needed:
                dependents[d].append(address)
        outcome: dict[str, str] = {}       # address -> done | failed | skipped | pending
        ready = [position[a] for a in nodes if unmet[a] == 0]   # heap of plan positions
        heapq.heapify(ready)
        finished: queue.SimpleQueue[tuple[str, Future[str]]] = queue.SimpleQueue()
        running = 0

        later: list[int] = []

        def settle(address: str, result: str, current: int | None) -> None:
            outcome[address] = result
            for dependent in dependents[address]:
                unmet[dependent] -= 1
                if unmet[dependent] == 0:
                    if current is not None and position[dependent] < current:
                        later.append(position[dependent])  # already passed in plan order: next pass
                    else:
                        heapq.heappush(ready, position[dependent])

        with ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="apply") as pool:
            while len(outcome) < len(nodes):
                # At most `parallelism` submitted at a time: the rest wait in the heap, not as
                # queued futures (10,000 of those held ~20 MiB for nothing).
                while ready and running < self.parallelism:
                    index = heapq.heappop(ready)
                    address = names[index]
                    change = nodes[address]
                    if not change.action.is_change() and change.action is not Action.PENDING:
                        settle(address, "done", index)  # nothing to do: no thread, no future
                        continue
                    broken = [d for d in deps[address] if outcome[d] in ("failed", "skipped")]
                    if broken and change.action.is_change():
                        why = f"not attempted: {', '.join(sorted(broken))} did not complete"
                        self.result.skipped.append((address, why))
                        self._emit(EventKind.SKIPPED, address, message=why)
                        settle(address, "skipped", index)
                        continue
                    future = pool.submit(self._run_change, change)
                    running += 1
                    future.add_done_callback(functools.partial(_put_done, finished, address))
                for index in later:
                    heapq.heappush(ready, index)
                later.clear()
                if not running:
                    if len(outcome) < len(nodes):  # pragma: no cover - a cycle the loader let through
                        for address in nodes:
                            outcome.setdefault(address, "skipped")
                    break
                done = [finished.get()]
                while True:
                    try:
                        done.append(finished.get_nowait())
                    except queue.Empty:
                        break
                for address, future in done:
                    running -= 1
                    settle(address, future.result(), None)

    # -- one change ------------------------------------------------------------------------------
    def _run_change(self, change: Change) -> str:
        if not change.action.is_change() and change.action is not Action.PENDING:
            return "done"
        verb, noun = _VERBS.get(change.action, ("Applying", "Apply"))
        start = self.monotonic()
        prior_id = change.prior_id or ""
        self._emit(EventKind.START, change.address, verb, object_id=prior_id or None)
        try:
            object_id = self._dispatch(change)
        except Pending as pending:
            self.result.pending.append((change.address, str(pending)))
            self._emit(EventKind.PENDING, change.address, message=str(pending))
            return "pending"
        except ReconcilerError as exc:
            self.result.failures.append((change.address, str(exc)))
            self._emit(EventKind.FAILED, change.address, verb, str(exc))
            return "failed"
        except Exception as exc:  # a bug must not lose the journal of the other actions
            self.result.failures.append((change.address, f"internal error: {type(exc).__name__}: {exc}"))
            self._emit(EventKind.FAILED, change.address, verb, f"internal error: {type(exc).__name__}: {exc}")
            return "failed"
        with self._lock:
            if change.action is Action.CREATE or (change.action is Action.PENDING and not change.prior_id):
                self.result.added += 1
            elif change.action is Action.REPLACE:
                self.result.added += 1
                if any(s.op is Op.FORGET for s in change.steps):
                    self.result.forgotten += 1
                else:
                    self.result.destroyed += 1
            elif change.action in (Action.UPDATE, Action.PENDING):
                self.result.changed += 1
            elif change.action is Action.DELETE:
                self.result.destroyed += 1
            elif change.action is Action.FORGET:
                self.result.forgotten += 1
            elif change.action is Action.ADOPT:
                self.result.adopted += 1
        self._emit(EventKind.DONE, change.address, noun, elapsed=self.monotonic() - start,
                   object_id=object_id or prior_id or None)
        return "done"

    def _dispatch(self, change: Change) -> str | None:
        if change.kind == "CheckpointPermission" and change.action in (
                Action.CREATE, Action.UPDATE, Action.REPLACE, Action.PENDING, Action.ADOPT):
            return self._run_permission(change)
        object_id: str | None = None
        resource: ResourceState | None = self.state.resources.get(change.address)
        for step in change.steps:
            if step.op is Op.UPLOAD:
                resource = self._upload(change, step)
                object_id = resource.id
            elif step.op is Op.DELETE_FILE:
                if change.action is Action.DELETE and resource is not None:
                    # Write-ahead: if this run dies after the DELETE but before recording it, the
                    # next plan knows the file may be gone by our own hand (see check_listing_sanity).
                    marked = copy.copy(resource)
                    marked.meta = {**resource.meta, "deleting": True}
                    self._record(change.address, marked)
                self._ignore_missing(lambda: self.client.delete_file(step.args["id"]))
                if change.action is Action.DELETE:
                    self._record(change.address, None)
                    resource = None
            elif step.op is Op.CREATE_JOB:
                resource = self._create_job(change)
                object_id = resource.id
            elif step.op is Op.CANCEL_JOB:
                resource = self._cancel(change, step, resource)
            elif step.op is Op.PAUSE_JOB:
                resource = self._pause_resume(change, step, resource, pause=True)
            elif step.op is Op.RESUME_JOB:
                resource = self._pause_resume(change, step, resource, pause=False)
            elif step.op is Op.REVOKE:
                self._ignore_missing(lambda: self.client.delete_permission(step.args["checkpoint"],
                                                                           step.args["permission_id"]))
                self._drop_grant(change.address, step.args["checkpoint"], step.args["permission_id"])
            elif step.op is Op.FORGET:
                current = self.state.resources.get(change.address)
                if current is not None and current.id == step.args.get("id", current.id):
                    self._record(change.address, None)
                resource = self.state.resources.get(change.address)
            elif step.op is Op.ADOPT:
                resource = self._adopt(change, step)
                object_id = resource.id
        return object_id

    def _drop_grant(self, address: str, checkpoint: str, permission_id: str) -> None:
        """Keep the recorded grants of a managed permission set true after a revoke made by another
        change (a prune, a destroy), so the next plan does not report it as drift."""
        with self._lock:
            for other in list(self.state.resources.values()):
                if other.kind != "CheckpointPermission" or other.id != checkpoint or other.address == address:
                    continue
                grants = (other.attributes or {}).get("permissions") or []
                if any(g.get("id") == permission_id for g in grants):
                    updated = copy.copy(other)
                    updated.attributes = {**other.attributes,
                                          "permissions": [g for g in grants if g.get("id") != permission_id]}
                    self._record(other.address, updated)

    @staticmethod
    def _ignore_missing(call: Callable[[], Any]) -> None:
        try:
            call()
        except NotFoundError:
            pass

    # -- files -----------------------------------------------------------------------------------
    def _upload(self, change: Change, step: Step) -> ResourceState:
        after = change.after or {}
        path = Path(step.args["path"])
        sha, size = sha256_of(path)
        if sha != after.get("sha256"):
            raise ReconcilerError(f"{path} changed since the plan was made (sha256 {sha[:12]}…, "
                                  f"planned {str(after.get('sha256'))[:12]}…); plan again")
        obj = self.client.upload_file(path, purpose=after.get("purpose") or "fine-tune",
                                      idempotency_key=self._key(change.address, sha, "upload"))
        resource = ResourceState(address=change.address, kind="File", id=obj["id"], inputs=dict(after),
                                 digest=sha, attributes=obj, depends_on=list(change.depends_on))
        self._record(change.address, resource)
        with self._lock:
            self.values[change.address] = self._attrs(change, obj)
        return resource

    # -- jobs ------------------------------------------------------------------------------------
    def _resolve(self, change: Change) -> dict[str, Any]:
        from reconciler.config.refs import find_refs, resolve
        from reconciler.plan.jobs import note_waiting
        from reconciler.plan.walk import Resolver, Walk

        walk = Walk(state=self.state, observed=None, now=time.time())
        # Only the addresses this change references matter to the resolver (a copy of every value
        # per change made apply quadratic in the number of changes).
        referenced = {ref.address for ref in find_refs(change.config or {})}
        with self._lock:
            walk.planned = {a: self.values[a] for a in referenced if a in self.values}
        for address, attrs in walk.planned.items():
            if address.split(".", 1)[0] in ("FineTuningJob", "LegacyFineTune") and attrs.get("status"):
                note_waiting(walk, address, attrs)
        resolver = Resolver(walk)
        spec = resolve(change.config or {}, resolver)
        if contains_unknown(spec):
            raise Pending("; ".join(resolver.reasons) or "a referenced value is not known yet")
        return spec

    def _create_job(self, change: Change) -> ResourceState:
        spec = self._resolve(change)
        inputs = J.inputs_from_spec(spec)
        digest = J.inputs_digest(inputs)
        body = J.create_body(spec, change.address, digest)
        key = self._key(change.address, digest, "create_job")
        try:
            job = self.client.create_job(body, idempotency_key=key)
        except ConnectionFailedError:
            # The POST may have reached the API: look before anyone creates a second job.
            job = self._find_created(change.address, digest)
            if job is None:
                raise
        settings = J.settings_from_spec(spec)
        job = J.compact_live(job)
        if type(job.get("method")) is dict:
            job["method"] = self._canonical(job["method"])
        inputs["method"] = self._canonical(inputs["method"])
        settings = self._canonical(settings)
        resource = ResourceState(address=change.address, kind="FineTuningJob", id=job["id"], inputs=inputs,
                                 digest=digest, attributes=job, depends_on=list(change.depends_on),
                                 meta={"settings": settings})
        self._record(change.address, resource)
        with self._lock:
            self.values[change.address] = self._attrs(change, job)
        return resource

    def _find_created(self, address: str, digest: str) -> dict[str, Any] | None:
        for job in self.client.list_jobs(metadata={J.TAG_ADDRESS: address}):
            if (job.get("metadata") or {}).get(J.TAG_DIGEST) == digest and job.get("status") != "cancelled":
                return job
        return None

    def _cancel(self, change: Change, step: Step, resource: ResourceState | None) -> ResourceState | None:
        job_id = step.args["id"]
        try:
            job = self.client.cancel_job(job_id)
        except NotFoundError:
            job = None
        except ApiError as exc:
            if exc.status != 400:
                raise
            job = self.client.get_job(job_id)  # finished meanwhile: nothing to cancel
        old = self.state.resources.get(change.address)
        if old is not None and old.id == job_id:
            updated = copy.copy(old)
            updated.attributes = job or old.attributes
            updated.meta = {**old.meta, "cancelled_by": step.args.get("cancelled_by") or change.action.value}
            self._record(change.address, updated)
            return updated
        return resource

    def _pause_resume(self, change: Change, step: Step, resource: ResourceState | None, *,
                      pause: bool) -> ResourceState | None:
        current = self.state.resources.get(change.address)
        if current is None:
            return resource
        status = (current.attributes or {}).get("status")
        if pause and not step.args.get("id") and status != "running":  # just created: not running yet
            self.result.notes.append((change.address, f"will pause once running (now {status})"))
            return current
        job = (self.client.pause_job if pause else self.client.resume_job)(current.id)
        updated = copy.copy(current)
        updated.attributes = job
        updated.meta = {**current.meta, "settings": {**current.meta.get("settings", {}),
                                                    "status": "paused" if pause else "running"}}
        self._record(change.address, updated)
        return updated

    def _adopt(self, change: Change, step: Step) -> ResourceState:
        obj = dict(self.plan.observed.get(change.address) or {})
        if change.kind == "FineTuningJob":
            spec = self._resolve(change)
            inputs = J.inputs_from_spec(spec)
            resource = ResourceState(address=change.address, kind=change.kind, id=step.args["id"], inputs=inputs,
                                     digest=J.inputs_digest(inputs), attributes=obj,
                                     depends_on=list(change.depends_on),
                                     meta={"settings": J.settings_from_spec(spec), "adopted": True})
        else:
            resource = ResourceState(address=change.address, kind=change.kind, id=step.args["id"],
                                     inputs=dict(change.after or {}),
                                     digest=str((change.after or {}).get("sha256", "")), attributes=obj,
                                     depends_on=list(change.depends_on), meta={"adopted": True})
        self._record(change.address, resource)
        with self._lock:
            self.values[change.address] = self._attrs(change, obj)
        return resource

    # -- permissions -----------------------------------------------------------------------------
    def _run_permission(self, change: Change) -> str | None:
        from reconciler.plan.observed import Observed
        from reconciler.plan.permissions import plan_permission
        from reconciler.plan.walk import Walk

        steps = change.steps
        checkpoint = (change.after or {}).get("fine_tuned_model_checkpoint")
        spec = None
        if change.action is Action.PENDING or checkpoint is UNKNOWN or checkpoint is None:
            spec = self._resolve_or_wait(change)
            walk = Walk(state=self.state, observed=Observed(reader=self.client), now=time.time())
            doc = _DocView(change)
            fresh = plan_permission(doc, spec, walk, [])
            steps = fresh.steps
            checkpoint = spec["fine_tuned_model_checkpoint"]
        after = dict(change.after or {})
        after["fine_tuned_model_checkpoint"] = checkpoint
        live = {p["project_id"]: p for p in (self.plan.observed.get(change.address) or {}).get("permissions") or []}
        if spec is not None or (self.plan.observed.get(change.address) or {}).get(
                "fine_tuned_model_checkpoint") != checkpoint:
            live = {p["project_id"]: p for p in self.client.list_permissions(checkpoint)}
        for step in steps:
            if step.op is Op.GRANT:
                missing = [p for p in step.args["project_ids"] if p not in live]
                if missing:
                    for grant in self._grant(checkpoint, missing):
                        live[grant["project_id"]] = grant
            elif step.op is Op.REVOKE:
                self._ignore_missing(functools.partial(self.client.delete_permission, step.args["checkpoint"],
                                                       step.args["permission_id"]))
                if step.args["checkpoint"] == checkpoint:
                    live.pop(step.args["project_id"], None)
        resource = ResourceState(address=change.address, kind="CheckpointPermission", id=checkpoint,
                                 inputs={"fine_tuned_model_checkpoint": checkpoint,
                                         "project_ids": list(after.get("project_ids") or []),
                                         "exclusive": bool(after.get("exclusive"))},
                                 attributes={"fine_tuned_model_checkpoint": checkpoint,
                                             "permissions": sorted(live.values(), key=lambda p: p["project_id"])},
                                 depends_on=list(change.depends_on))
        self._record(change.address, resource)
        return checkpoint

    def _grant(self, checkpoint: str, projects: list[str]) -> list[dict[str, Any]]:
        try:
            return list(self.client.create_permissions(checkpoint, projects))
        except ConnectionFailedError:
            # The grant may have landed: read back, then grant only what is still missing.
            live = {p["project_id"]: p for p in self.client.list_permissions(checkpoint)}
            still = [p for p in projects if p not in live]
            granted = [live[p] for p in projects if p in live]
            return granted + (list(self.client.create_permissions(checkpoint, still)) if still else [])

    def _resolve_or_wait(self, change: Change) -> dict[str, Any]:
        try:
            return self._resolve(change)
        except Pending:
            if not self.wait_for_jobs:
                raise
        jobs = self._jobs_to_wait_for(change)
        if not jobs:
            return self._resolve(change)
        deadline = None if self.timeout is None else self._started + self.timeout
        for address, job_id in jobs:
            job = self._wait_for_job(change.address, address, job_id, deadline)
            with self._lock:
                self.values[address] = self._attrs(self.plan.change_for(address) or change, job)
            current = self.state.resources.get(address)
            if current is not None and current.id == job_id:
                updated = copy.copy(current)
                updated.attributes = job
                self._record(address, updated)
            if job.get("status") != "succeeded":
                raise ReconcilerError(f"{address} ended {job.get('status')}"
                                      f"{': ' + job['error']['message'] if job.get('error') else ''}; "
                                      "there is no model to grant")
        self._reread_data(change)
        return self._resolve(change)

    def _jobs_to_wait_for(self, change: Change) -> list[tuple[str, str]]:
        """The managed jobs this change waits on, directly or through data sources."""
        found: list[tuple[str, str]] = []
        seen: set[str] = set()
        todo = list(change.depends_on)
        while todo:
            address = todo.pop(0)
            if address in seen:
                continue
            seen.add(address)
            resource = self.state.resources.get(address)
            if resource is not None and resource.kind == "FineTuningJob" and resource.id:
                found.append((address, resource.id))
            elif address.startswith("data."):
                source = self.plan.change_for(address)
                todo.extend(source.depends_on if source else ())
        return found

    def _reread_data(self, change: Change) -> None:
        """Data sources between this change and the jobs it waited for were read before those jobs
        finished: read them again, in dependency order."""
        from reconciler.plan.data_sources import plan_data
        from reconciler.plan.observed import Observed
        from reconciler.plan.walk import Walk

        order: list[Change] = []

        def visit(address: str) -> None:
            source = self.plan.change_for(address)
            if source is None or not address.startswith("data.") or source in order:
                return
            for dep in source.depends_on:
                visit(dep)
            order.append(source)

        for address in change.depends_on:
            visit(address)
        for source in order:
            walk = Walk(state=self.state, observed=Observed(reader=self.client), now=time.time(), reader=self.client)
            with self._lock:
                walk.planned = dict(self.values)
            from reconciler.config.refs import resolve
            from reconciler.plan.walk import Resolver

            resolver = Resolver(walk)
            spec = resolve(source.config or {}, resolver)
            plan_data(_DocView(source), spec, walk, resolver.reasons)
            with self._lock:
                self.values[source.address] = walk.planned[source.address]

    def _wait_for_job(self, waiter: str, address: str, job_id: str, deadline: float | None) -> dict[str, Any]:
        first = self.monotonic()
        while True:
            job = self.client.get_job(job_id)
            status = job.get("status")
            if status in J.FINISHED:
                return job
            now = self.monotonic()
            eta = job.get("estimated_finish")
            eta_text = f", estimated finish {time.strftime('%H:%M:%S', time.gmtime(eta))} UTC" if eta else ""
            self._emit(EventKind.WAITING, waiter,
                       message=f"waiting for {address} ({job_id}): {status}{eta_text}", elapsed=now - first)
            if deadline is not None and now >= deadline:
                raise Pending(f"{address} is still {status} after the --timeout; the next run completes this")
            self.sleep(self.poll_interval if deadline is None else max(0.0, min(self.poll_interval,
                                                                                deadline - now)))

    # -- after -----------------------------------------------------------------------------------
    def _refresh_untouched(self) -> None:
        """Record fresh reads of objects this apply did not change (Terraform refreshes on apply),
        and fill in the inputs of imported objects the plan found matching."""
        for change in self.plan.changes:
            if change.action not in (Action.NOOP,):
                continue
            resource = self.state.resources.get(change.address)
            live = self.plan.observed.get(change.address)
            if resource is None or live is None or change.address in self._touched:
                continue
            updated = copy.copy(resource)
            updated.attributes = dict(live)
            if change.kind == "FineTuningJob" and change.config is not None and not resource.inputs:
                try:
                    spec = self._resolve(change)
                except Pending:
                    spec = None
                if spec is not None:
                    updated.inputs = J.inputs_from_spec(spec)
                    updated.digest = J.inputs_digest(updated.inputs)
                    updated.meta = {**resource.meta, "settings": J.settings_from_spec(spec)}
            if change.kind == "File" and change.after and not resource.inputs.get("sha256"):
                updated.inputs = dict(change.after)
            if change.kind == "FineTuningJob":
                updated.attributes = J.state_attributes(updated.attributes, keep_method=not updated.inputs)
            # Read back unchanged (the usual case): keep the recorded objects, not equal copies.
            updated.attributes = share_equal(updated.attributes, resource.attributes)
            with self._lock:
                self.state.resources[change.address] = updated


def _put_done(queue: Any, address: str, future: Any) -> None:
    queue.put((address, future))


class _DocView:
    """The parts of a spec Document that planning one permission needs, rebuilt from a Change."""

    def __init__(self, change: Change):
        from reconciler.config import Lifecycle

        self.address = change.address
        self.type = change.kind
        self.kind = change.kind
        self.spec = change.config or {}
        self.depends_on = change.depends_on
        self.lifecycle = Lifecycle()
