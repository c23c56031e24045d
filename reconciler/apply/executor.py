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
import dataclasses
import functools
import graphlib
import hashlib
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from reconciler.api.clock import server_now
from reconciler.api.profiles import acting_for, mark_profile
from reconciler.api.protocols import Client
from reconciler.apply.events import ApplyResult, Event, EventKind, Listener
from reconciler.apply.order import ReadyInPlanOrder
from reconciler.config.refs import find_refs, resolve
from reconciler.errors import ReconcilerError, StateError
from reconciler.kinds import registry
from reconciler.kinds.base import Pending
from reconciler.kinds.data.common import ClientReads, DataKind
from reconciler.plan.model import Action, Change, Op, Plan, ReplaceMode
from reconciler.resolver import Resolver, condensed
from reconciler.sharing import Canonical, share_equal
from reconciler.state import ResourceState, State, StateStore
from reconciler.state.journal import Journal
from reconciler.values import contains_unknown

__all__ = ["Executor", "Interruption", "Pending", "idempotency_key", "interrupt_running", "runs_started"]

# Executors running in this process, for a signal handler to stop (no lock: a signal handler runs
# in the main thread between bytecodes; set.add/discard and a copy to a list are atomic).
_running: set[Executor] = set()
_runs = [0]


def interrupt_running() -> int:
    """Cooperative stop of every running executor (SIGINT/SIGTERM): nothing new starts, `--wait`
    stops waiting, the changes in flight finish and are journalled, the state is written. Returns
    how many were running."""
    running = list(_running)
    for executor in running:
        executor.interrupt()
    return len(running)


def runs_started() -> int:
    """How many executors have started in this process (0: nothing was applied)."""
    return _runs[0]


@dataclass(frozen=True)
class Interruption:
    """An apply stopped by `interrupt()`: changes it completed, those it did not start, and those
    it stopped waiting for."""

    done: int
    not_started: tuple[str, ...]
    abandoned: tuple[str, ...] = ()  # still in flight IN_FLIGHT_GRACE after the signal: not recorded


class _Abandoned(BaseException):
    """Ends the thread of a change that finished after its interrupted apply stopped waiting."""


# How long an interrupted apply waits for the changes in flight: an API answers in well under a
# second; one held longer (a server trickling its answer, a request deadline minutes away) is left
# unrecorded, as a SIGKILL would leave it, and the next plan finds what it made.
IN_FLIGHT_GRACE = 2.0

_VERBS = {
    Action.CREATE: ("Creating", "Creation"), Action.REPLACE: ("Replacing", "Replacement"),
    Action.UPDATE: ("Modifying", "Modifications"), Action.DELETE: ("Destroying", "Destruction"),
    Action.FORGET: ("Forgetting", "Forgetting"), Action.ADOPT: ("Adopting", "Adoption"),
    Action.PENDING: ("Granting", "Grants"),
}


# The steps of a create-before-destroy replacement that wait for its dependents: deleting the old
# upload (recorded as deposed meanwhile: kinds/file/apply.py). A job's cancel is not deferred: its
# dependents are grants, often pending until the new job ends, and the old job would run on unpaid.
_DEPOSED_OPS = (Op.DELETE_FILE,)


def idempotency_key(lineage: str, serial: int, address: str, digest: str, op: str) -> str:
    raw = f"reconciler:{lineage}:{serial}:{address}:{digest}:{op}"
    return "rc-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


class Executor:
    """Runs a plan; lends each kind's `apply` the narrow ApplyContext (reconciler/kinds/base.py)."""

    def __init__(self, plan: Plan, *, client: Client, store: StateStore, state: State, parallelism: int = 10,
                 wait_for_jobs: bool = False, wait_for_created: bool = False, timeout: float | None = None,
                 poll_interval: float = 10.0,
                 listener: Listener | None = None, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.plan = plan
        self._client = client
        self.store = store
        self._state = state
        self.parallelism = max(1, parallelism)
        self.wait_for_jobs = wait_for_jobs
        self.wait_for_created = wait_for_created  # --wait=jobs: until the jobs created/replaced finish
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.listener = listener or (lambda event: None)
        self.monotonic = monotonic
        self.sleep = sleep
        self.result = ApplyResult()
        self._lock = threading.RLock()
        self._journal: Journal | None = None
        self._started = monotonic()
        self.values: dict[str, Mapping[str, Any]] = {}
        self._touched: set[str] = set()  # addresses whose state this run rewrote
        self._canonical = Canonical()  # jobs trained the same way share one method/settings block
        self._journal_failure: str | None = None  # set once a journal write failed: start nothing new
        self._stop = threading.Event()  # interrupt(): start nothing new, stop --wait
        self._stopped_at: float | None = None
        self._sealed = False  # set when in-flight changes were abandoned: nothing more is recorded
        self.interruption: Interruption | None = None  # set when run() was interrupted
        # what each data source in the plan depends on: a resource reached through one records the
        # managed addresses behind it too (Terraform's state does), for destroy order
        self._data_deps = {c.address: c.depends_on for c in plan.changes if c.address.startswith("data.")}

    # -- bookkeeping -----------------------------------------------------------------------------
    def _emit(self, kind: EventKind, address: str, verb: str = "", message: str = "", *,
              elapsed: float = 0.0, object_id: str | None = None,
              progress: Mapping[str, Any] | None = None) -> None:
        if self._sealed:  # an abandoned change ending after the run has reported
            return
        self.listener(Event(kind, address, verb, message, elapsed, object_id, progress))

    # -- the ApplyContext kinds see -----------------------------------------------------------------
    @property
    def client(self) -> Client:
        return self._client

    @property
    def state(self) -> State:
        return self._state

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def record(self, address: str, resource: ResourceState | None) -> None:
        resource = mark_profile(self._client, address, resource)  # meta.provider: which profile made it
        if resource is not None:
            resource = registry.by_type(resource.kind).stored(resource)
            reached = self._reached(resource.depends_on)
            if reached != list(resource.depends_on):
                resource = copy.copy(resource)
                resource.depends_on = reached
        assert self._journal is not None
        with self._lock:
            if self._sealed:
                raise StateError(f"{address}: not recorded: the apply was interrupted while this was in flight")
            self._touched.add(address)
            if resource is None:
                self._state.resources.pop(address, None)
            else:
                self._state.resources[address] = resource
            try:
                ticket = self._journal.append(address, resource)
            except StateError as exc:
                self._journal_failure = self._journal_failure or str(exc)
                raise
        # fsync outside the executor's lock: concurrent actions share one fsync (group commit),
        # and this still returns only once the line is on disk, before any dependent starts.
        try:
            self._journal.sync(ticket)
        except StateError as exc:
            with self._lock:
                self._journal_failure = self._journal_failure or str(exc)
            raise

    def remember(self, change: Change, obj: Mapping[str, Any]) -> None:
        with self._lock:
            self.values[change.address] = registry.by_type(change.kind).view(change, obj)

    def observed(self, address: str) -> dict[str, Any] | None:
        return self.plan.observed.get(address)

    def canonical(self, value: Any) -> Any:
        return self._canonical(value)

    def announce(self, address: str, text: str) -> None:
        self._emit(EventKind.NOTE, address, message=text)

    def note(self, address: str, text: str) -> None:
        with self._lock:
            self.result.notes.append((address, text))

    def key(self, address: str, digest: str, op: str) -> str:
        return idempotency_key(self.plan.lineage, self.plan.serial, address, digest, op)

    # -- run -------------------------------------------------------------------------------------
    def interrupt(self) -> None:
        """Stop cooperatively (thread- and signal-safe): schedule nothing new, stop waiting for
        jobs; `run()` lets the changes in flight finish (for IN_FLIGHT_GRACE at most; one still
        running then is left unrecorded), journals them and writes the state."""
        if self._stopped_at is None:
            self._stopped_at = self.monotonic()
        self._stop.set()

    def run(self) -> ApplyResult:
        _runs[0] += 1
        _running.add(self)
        try:
            return self._run()
        finally:
            _running.discard(self)

    def _run(self) -> ApplyResult:
        self._journal = self.store.open_journal(self._state)
        if not self.store.exists():
            # A state never written has a lineage only in memory: journal it before anything is
            # created, so a re-run after a crash sends the same Idempotency-Keys.
            self._journal.begin()
        try:
            self._apply_moves_and_imports()
            self._seed_values()
            self._schedule()
            if self.wait_for_created and not self._stop.is_set():
                self._wait_for_created()
            self._refresh_untouched()
            try:
                self.store.write(self.state)
            except StateError as exc:
                if self._journal_failure is None:
                    raise
                raise StateError(f"{self._journal_failure}; apply stopped, {len(self.result.skipped)} "
                                 f"change(s) not started (the journal keeps what completed: free "
                                 f"space and run apply again)") from exc
        finally:
            self._journal.close()
        return self.result

    def _apply_moves_and_imports(self) -> None:
        for old, new in self.plan.moves:
            resource = self._state.resources.get(old)
            if resource is not None and new not in self._state.resources:
                moved = copy.copy(resource)
                moved.address = new
                self.record(old, None)
                self.record(new, moved)
                self._emit(EventKind.NOTE, new, message=f"moved from {old}")
        for address, object_id in self.plan.imports.items():
            change = self.plan.change_for(address)
            kind = change.kind if change else address.split(".", 1)[0]
            self.record(address, registry.imported_resource(address, kind, object_id,
                                                   dict(self.plan.observed.get(address) or {}),
                                                   change.depends_on if change else ()))
            self._emit(EventKind.NOTE, address, message=f"imported {object_id}")

    def _seed_values(self) -> None:
        for change in self.plan.changes:
            live = self.plan.observed.get(change.address)
            if live is None:
                continue
            # What references see: the object as read, never a copy of it (see the kind's view).
            self.values[change.address] = registry.by_type(change.kind).view(change, live)

    def _dependencies(self, change: Change, addresses: set[str], destroyed_first: Mapping[str, set[str]]) -> set[str]:
        if change.action in (Action.DELETE, Action.FORGET):
            return destroyed_first.get(change.address, set())
        return {d for d in change.depends_on if d in addresses}

    def _destroy_dependents(self) -> dict[str, set[str]]:
        """Destroy dependents first: for each address destroyed, the destroyed addresses that depend
        on it by the state, directly or through anything between (revoke the grant on a checkpoint
        read through a data source before cancelling the job it came from)."""
        gone = [c.address for c in self.plan.changes if c.action in (Action.DELETE, Action.FORGET)]
        chosen = set(gone)
        first: dict[str, set[str]] = {}
        reached = {address: self._state_deps(address) for address in gone}
        for address in gone:
            for dep in reached[address]:
                if dep in chosen and dep != address:
                    first.setdefault(dep, set()).add(address)
        # A state written before data sources were followed names only the data source, and a
        # destroy plan does not read it again: what reads through one it cannot follow goes before
        # everything else destroyed (unless that depends on it), as what it read may be any of them.
        blind = [a for a in gone if any(d.startswith("data.") and d not in self._data_deps
                                        and d not in self._state.resources for d in reached[a])]
        if blind:
            blind_set = set(blind)
            for other in gone:
                if other in blind_set:
                    continue
                for address in blind:
                    if address not in reached[other]:
                        first.setdefault(other, set()).add(address)
        return first

    def _state_deps(self, address: str) -> set[str]:
        """What `address` depends on by the state, transitively: a grant recorded against a data
        source whose job is also recorded behind another resource still goes before that job."""
        found: set[str] = set()
        todo = list(self._state.resources[address].depends_on) if address in self._state.resources else []
        while todo:
            dep = todo.pop()
            if dep in found:
                continue
            found.add(dep)
            resource = self._state.resources.get(dep)
            todo.extend(resource.depends_on if resource is not None else self._data_deps.get(dep, ()))
        return found

    def _reached(self, depends_on: list[str]) -> list[str]:
        """`depends_on` plus the managed addresses reached through the data sources in it."""
        if not any(d in self._data_deps for d in depends_on):
            return list(depends_on)
        out = list(depends_on)
        todo = [d for d in depends_on if d in self._data_deps]
        seen = set(todo)
        while todo:
            for dep in self._data_deps[todo.pop()]:
                if dep in seen:
                    continue
                seen.add(dep)
                if dep in self._data_deps:
                    todo.append(dep)
                elif dep not in out:
                    out.append(dep)
        return out

    def _schedule(self) -> None:
        """Run every change once its dependencies have an outcome, ready ones in plan order, up to
        `parallelism` at a time: the rest wait as addresses, not as queued futures (which hold memory
        for each change). Completions arrive through a queue."""
        run = self._graph()
        pool = ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="apply")
        abandoned: tuple[str, ...] = ()
        try:
            while not run.complete:
                self._start_ready(run, pool)
                if not run.in_flight:
                    if not self._stop.is_set():  # pragma: no cover - nothing ready, nothing running
                        for address in run.nodes:
                            run.outcome.setdefault(address, "skipped")
                    break  # interrupted: what was not started stays not started
                abandoned = self._collect(run)
                if abandoned:
                    break
        finally:
            # abandoned changes are not waited for (their threads end with the process)
            pool.shutdown(wait=not abandoned, cancel_futures=bool(abandoned))
        if self._stop.is_set():
            self._note_interruption(run, abandoned)

    def _graph(self) -> _Schedule:
        """The changes as nodes (a deposed destroy split off as a node of its own), what each waits
        for, and the order they become ready in."""
        nodes = {c.address: c for c in self.plan.changes}
        addresses = set(nodes)
        destroyed_first = self._destroy_dependents()
        deps = {a: self._dependencies(c, addresses, destroyed_first) for a, c in nodes.items()}
        deposed = self._split_deposed(nodes, deps)
        try:
            ready = ReadyInPlanOrder(deps, nodes)
        except graphlib.CycleError as exc:
            cycle = " -> ".join(exc.args[1]) if len(exc.args) > 1 else "?"
            raise ReconcilerError(f"the plan's changes wait for each other in a cycle ({cycle}): "
                                  "nothing was applied") from None
        return _Schedule(nodes, deps, deposed, ready)

    def _start_ready(self, run: _Schedule, pool: ThreadPoolExecutor) -> None:
        """Start ready changes, earliest in the plan first, until `parallelism` are in flight."""
        while run.ready and len(run.in_flight) < self.parallelism and not self._stop.is_set():
            address = run.ready.pop()
            change = run.nodes[address]
            settled = self._settled_without_running(run, address, change)
            if settled is not None:
                run.settle(address, settled)
                continue
            future = pool.submit(self._run_deposed if address in run.deposed else self._run_change, change)
            run.in_flight.add(address)
            future.add_done_callback(functools.partial(_put_done, run.finished, address))

    def _settled_without_running(self, run: _Schedule, address: str, change: Change) -> str | None:
        """"done" for a change with nothing to do, "skipped" (reported) for one that must not start
        (the journal failed, or something it waits for did not complete); None: run it."""
        if not change.action.is_change() and change.action is not Action.PENDING:
            return "done"  # nothing to do: no thread, no future
        if self._journal_failure is not None:  # what is done could not be recorded
            return self._skip(address, f"not started: {self._journal_failure}")
        broken = [d for d in run.deps[address] if run.outcome[d] in ("failed", "skipped")
                  or (address in run.deposed and run.outcome[d] == "pending")]
        if not broken:
            return None
        if address in run.deposed:
            if run.outcome[address[:-len(" (deposed)")]] == "done":  # else nothing new: the old one stays
                self.note(change.address, f"the old {change.prior_id} is kept (recorded; the next apply deletes "
                                          f"it): {', '.join(sorted(broken))} did not complete")
            return "skipped"
        return self._skip(address, f"not attempted: {', '.join(sorted(broken))} did not complete")

    def _skip(self, address: str, why: str) -> str:
        self.result.skipped.append((address, why))
        self._emit(EventKind.SKIPPED, address, message=why)
        return "skipped"

    def _collect(self, run: _Schedule) -> tuple[str, ...]:
        """Settle the changes that finished, waiting in slices so that an interrupt is noticed while
        a change is held in flight. Returns the changes abandoned, once IN_FLIGHT_GRACE after an
        interrupt has passed with them still running (the state is sealed against their answers)."""
        try:
            done = [run.finished.get(timeout=0.2)]
        except queue.Empty:
            stopped = self._stopped_at
            if stopped is not None and self.monotonic() - stopped >= IN_FLIGHT_GRACE:
                with self._lock:
                    self._sealed = True
                return tuple(sorted(run.in_flight))
            return ()
        while True:
            try:
                done.append(run.finished.get_nowait())
            except queue.Empty:
                break
        for address, future in done:
            run.in_flight.discard(address)
            run.settle(address, future.result())
        return ()

    def _note_interruption(self, run: _Schedule, abandoned: tuple[str, ...]) -> None:
        def real(change: Change) -> bool:
            return change.action.is_change() or change.action is Action.PENDING

        for key in run.deposed:  # not started: the deposed object stays recorded in the state
            run.outcome.setdefault(key, "skipped")
        self.interruption = Interruption(
            done=sum(1 for a, r in run.outcome.items() if r == "done" and real(run.nodes[a])),
            not_started=tuple(a for a in run.nodes if a not in run.outcome and a not in abandoned
                              and real(run.nodes[a])),
            abandoned=abandoned)

    def _split_deposed(self, nodes: dict[str, Change], deps: dict[str, set[str]]) -> set[str]:
        """A create-before-destroy replacement whose dependents change too (a File re-upload and the
        job training on the old file): its destroy steps become a node of their own that runs after
        those dependents (Terraform destroys the deposed object after its dependents were
        replaced), so the old job never loses its file before its successor exists. Returns the
        keys of the new nodes (`<address> (deposed)`); `nodes` and `deps` are extended in place."""
        changed = {a for a, c in nodes.items() if c.action.is_change() or c.action is Action.PENDING}
        direct: dict[str, set[str]] = {}
        for address, needed in deps.items():
            if nodes[address].action not in (Action.DELETE, Action.FORGET):
                for d in needed:
                    direct.setdefault(d, set()).add(address)
        keys: set[str] = set()
        for address, change in list(nodes.items()):
            if change.action is not Action.REPLACE or change.replace is not ReplaceMode.CREATE_THEN_DESTROY:
                continue
            tail = tuple(s for s in change.steps if s.op in _DEPOSED_OPS)
            head = tuple(s for s in change.steps if s.op not in _DEPOSED_OPS)
            dependents = self._dependents_through_data(address, direct) & changed
            if not tail or not head or not dependents:
                continue
            key = f"{address} (deposed)"
            nodes[address] = dataclasses.replace(change, steps=head)
            nodes[key] = dataclasses.replace(change, steps=tail)
            deps[key] = {address, *dependents}
            keys.add(key)
        return keys

    @staticmethod
    def _dependents_through_data(address: str, direct: Mapping[str, set[str]]) -> set[str]:
        found: set[str] = set()
        todo = list(direct.get(address, ()))
        while todo:
            dependent = todo.pop()
            if dependent in found:
                continue
            found.add(dependent)
            if dependent.startswith("data."):
                todo.extend(direct.get(dependent, ()))  # a data source in between: what reads it depends too
        return found

    def _run_deposed(self, change: Change) -> str:
        """The destroy steps of a create-before-destroy replacement, run after its dependents."""
        start = self.monotonic()
        self._emit(EventKind.START, change.address, "Destroying deposed", object_id=change.prior_id)
        try:
            self._dispatch(change)
        except ReconcilerError as exc:
            why = f"the old {change.prior_id} could not be removed (recorded; the next apply retries): {exc}"
            self.result.failures.append((change.address, why))
            self._emit(EventKind.FAILED, change.address, "Destroying deposed", why)
            return "failed"
        self._emit(EventKind.DONE, change.address, "Destruction", elapsed=self.monotonic() - start,
                   object_id=change.prior_id)
        return "done"

    # -- one change ------------------------------------------------------------------------------
    def _run_change(self, change: Change) -> str:
        if not change.action.is_change() and change.action is not Action.PENDING:
            return "done"
        verb, noun = _VERBS.get(change.action, ("Applying", "Apply"))
        if change.action is Action.PENDING:
            verb, noun = registry.by_type(change.kind).pending_verbs
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
                if change.replace is not None and change.replace.forgets:
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
        try:
            with acting_for(self._client, change.address):  # its provider profile's client
                return registry.by_type(change.kind).apply(self, change)
        finally:
            if self._sealed:  # the run was abandoned while this was in flight: say and count nothing
                raise _Abandoned(change.address)

    # -- resolving references ----------------------------------------------------------------------
    def resolve(self, change: Change) -> dict[str, Any]:
        # Only the addresses this change references matter to the resolver (a copy of every value
        # per change made apply quadratic in the number of changes).
        referenced = {ref.address for ref in find_refs(change.config or {})}
        with self._lock:
            values = {a: self.values[a] for a in referenced if a in self.values}
        now = server_now(self.client)  # job times are the API's
        waiting: dict[str, str] = {}
        for address, attrs in values.items():
            kind = registry.kind_of_address(address)
            reason = kind.waiting_reason(address, attrs, now) if kind is not None else None
            if reason is not None:
                waiting[address] = reason
        resolver = Resolver(values, waiting)
        spec = resolve(change.config or {}, resolver)
        if contains_unknown(spec):
            raise Pending("; ".join(condensed(resolver.reasons)) or "a referenced value is not known yet")
        return dict(spec)

    def resolve_or_wait(self, change: Change) -> dict[str, Any]:
        try:
            return self.resolve(change)
        except Pending:
            if not self.wait_for_jobs:
                raise
        jobs = self._jobs_to_wait_for(change)
        if not jobs:
            return self.resolve(change)
        deadline = None if self.timeout is None else self._started + self.timeout
        for address, job_id in jobs:
            job = self._wait_for(change.address, address, job_id, deadline)
            self.remember(self.plan.change_for(address) or change, job)
            current = self._state.resources.get(address)
            if current is not None and current.id == job_id:
                updated = copy.copy(current)
                updated.attributes = job
                self.record(address, updated)
            if job.get("status") != "succeeded":
                raise ReconcilerError(f"{address} ended {job.get('status')}"
                                      f"{': ' + job['error']['message'] if job.get('error') else ''}; "
                                      "there is no model to grant")
        self._reread_data(change)
        return self.resolve(change)

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
            resource = self._state.resources.get(address)
            kind = registry.kind_of_address(address)
            if resource is not None and resource.id and kind is not None and kind.waitable:
                found.append((address, resource.id))
            elif kind is not None and kind.data:
                source = self.plan.change_for(address)
                todo.extend(source.depends_on if source else ())
        return found

    def _reread_data(self, change: Change) -> None:
        """Data sources between this change and the jobs it waited for were read before those jobs
        finished: read them again, in dependency order, straight from the API."""
        order: list[Change] = []

        def visit(address: str) -> None:
            source = self.plan.change_for(address)
            kind = registry.kind_of_address(address)
            if source is None or kind is None or not kind.data or source in order:
                return
            for dep in source.depends_on:
                visit(dep)
            order.append(source)

        for address in change.depends_on:
            visit(address)
        reads = ClientReads(self._client)
        for source in order:
            with self._lock:
                values = dict(self.values)
            spec = resolve(source.config or {}, Resolver(values, {}))
            kind = registry.get(source.kind)
            assert isinstance(kind, DataKind)
            result, _ = kind.result(source.address, spec, reads)
            with self._lock:
                self.values[source.address] = result

    def _wait_for(self, waiter: str, address: str, object_id: str, deadline: float | None) -> dict[str, Any]:
        kind = registry.kind_of_address(address)
        assert kind is not None and kind.waitable
        first = self.monotonic()
        while True:
            obj, finished, status, detail = kind.poll(self._client, object_id)
            if finished:
                return obj
            if self._stop.is_set():
                raise Pending(f"interrupted while waiting for {address} ({object_id}, {status}); "
                              "the next run completes this")
            now = self.monotonic()
            self._emit(EventKind.WAITING, waiter,
                       message=f"waiting for {address} ({object_id}): {status}{detail}", elapsed=now - first,
                       object_id=object_id, progress=self._progress(kind, address, obj))
            if deadline is not None and now >= deadline:
                raise Pending(f"{address} is still {status} after the --timeout; the next run completes this")
            self._pause(self.poll_interval if deadline is None else max(0.0, min(self.poll_interval,
                                                                                deadline - now)))

    def _progress(self, kind: Any, address: str, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        info = kind.progress(self._client, obj)
        return None if info is None else {**info, "job": address}

    def _wait_for_created(self) -> None:
        """`apply --wait=jobs`: once every change ran, poll the jobs this apply created or replaced
        (all of them each round, one read each plus a page of events) until they finish. A job that
        fails or is cancelled, or is still running at the --timeout, fails the apply: no green CI
        over a job that did not succeed. An interrupt stops the wait; the jobs keep running."""
        left = self._jobs_created()
        deadline = None if self.timeout is None else self._started + self.timeout
        first = self.monotonic()
        last: dict[str, str] = {}
        while left and not self._stop.is_set():
            for address, (job_id, kind) in list(left.items()):
                if self._stop.is_set():
                    break
                if self._poll_once(address, job_id, kind, first, last):
                    del left[address]
            now = self.monotonic()
            if left and deadline is not None and now >= deadline:
                for address, (job_id, _) in left.items():
                    self._fail(address, "Wait", f"{job_id} is still running after the --timeout (it keeps running; "
                                                "see `reconciler show`)")
                return
            if left and not self._stop.is_set():
                self._pause(self.poll_interval if deadline is None else max(0.0, min(self.poll_interval,
                                                                                    deadline - now)))
        for address, (job_id, _) in left.items():  # interrupted: say what was not waited for
            self.note(address, f"the wait was interrupted: {job_id} is {last.get(address, 'not read yet')} "
                               "and keeps running")

    def _jobs_created(self) -> dict[str, tuple[str, Any]]:
        """address -> (id, kind) of the waitable objects this apply created or replaced."""
        left: dict[str, tuple[str, Any]] = {}
        failed = {a for a, _ in self.result.failures}
        for change in self.plan.changes:
            kind = registry.kind_of_address(change.address)
            if change.action not in (Action.CREATE, Action.REPLACE) or kind is None or not kind.waitable:
                continue
            resource = self._state.resources.get(change.address)
            if change.address in self._touched and change.address not in failed and resource and resource.id:
                left[change.address] = (resource.id, kind)
        return left

    def _poll_once(self, address: str, job_id: str, kind: Any, first: float, last: dict[str, str]) -> bool:
        """Read one job; record it once finished, a failure unless it succeeded. True: no more
        waiting for it (finished, or it could not be read)."""
        try:
            obj, finished, status, detail = kind.poll(self._client, job_id)
        except ReconcilerError as exc:
            self._fail(address, "Wait", f"could not read while waiting: {exc}")
            return True
        self._emit(EventKind.WAITING, address, message=f"{status}{detail}", elapsed=self.monotonic() - first,
                   object_id=job_id, progress=self._progress(kind, address, obj))
        last[address] = status
        if not finished:
            return False
        current = self._state.resources.get(address)
        if current is not None and current.id == job_id:
            updated = copy.copy(current)
            updated.attributes = obj
            self.record(address, updated)
        if status != "succeeded":
            error = obj.get("error") if isinstance(obj.get("error"), dict) else None
            self._fail(address, "Training", f"the job {job_id} ended {status}"
                                            + (f": {error.get('message')}" if error else ""))
        return True

    def _fail(self, address: str, verb: str, why: str) -> None:
        self.result.failures.append((address, why))
        self._emit(EventKind.FAILED, address, verb, why)

    def pause(self) -> None:
        self._raise_if_stopped()
        self._pause(self.poll_interval)
        self._raise_if_stopped()   # an interrupt ends the wait at once: stop polling too

    def _raise_if_stopped(self) -> None:
        if self._stop.is_set():
            raise Pending("interrupted while an operation was still running; the next plan reads what it left")

    def _pause(self, seconds: float) -> None:
        """Sleep between polls; with the real clock, an interrupt ends the sleep at once."""
        if self.sleep is time.sleep:
            self._stop.wait(seconds)
        else:
            self.sleep(seconds)

    # -- after -----------------------------------------------------------------------------------
    def _refresh_untouched(self) -> None:
        """Record fresh reads of objects this apply did not change (Terraform refreshes on apply),
        and fill in the inputs of imported objects the plan found matching."""
        for change in self.plan.changes:
            if change.action is not Action.NOOP:
                continue
            resource = self._state.resources.get(change.address)
            live = self.plan.observed.get(change.address)
            if resource is None or live is None or change.address in self._touched:
                continue
            updated = registry.by_type(change.kind).refreshed_resource(
                resource, dict(live), change, functools.partial(self._resolved_or_none, change))
            # Read back unchanged (the usual case): keep the recorded objects, not equal copies.
            updated.attributes = share_equal(updated.attributes, resource.attributes)
            # a state written before data-source dependencies were followed learns them here
            updated.depends_on = self._reached(list(change.depends_on)) if change.depends_on \
                else updated.depends_on
            with self._lock:
                self._state.resources[change.address] = updated

    def _resolved_or_none(self, change: Change) -> dict[str, Any] | None:
        try:
            return self.resolve(change)
        except Pending:
            return None


@dataclass
class _Schedule:
    """One apply's graph as it runs: the changes, what each waits for, and their outcomes."""

    nodes: dict[str, Change]
    deps: dict[str, set[str]]
    deposed: set[str]                  # keys of the deposed destroys split off (`<address> (deposed)`)
    ready: ReadyInPlanOrder
    outcome: dict[str, str] = dataclasses.field(default_factory=dict)  # done | failed | skipped | pending
    in_flight: set[str] = dataclasses.field(default_factory=set)
    finished: queue.SimpleQueue[tuple[str, Future[str]]] = dataclasses.field(default_factory=queue.SimpleQueue)

    @property
    def complete(self) -> bool:
        return len(self.outcome) >= len(self.nodes)

    def settle(self, address: str, result: str) -> None:
        self.outcome[address] = result
        self.ready.settled(address)


def _put_done(finished: queue.SimpleQueue[tuple[str, Future[str]]], address: str, future: Future[str]) -> None:
    finished.put((address, future))
