"""An in-memory stand-in for `reconciler.api.ApiClient`: a small world of jobs, files and grants,
and a recording of every call made to it.

- every call is recorded in order: method, arguments, thread name, a start and an end tick from
  one shared counter (never wall-clock time), and how it ended;
- `Idempotency-Key` is honoured: a second create with a key already seen answers the first job
  (counted in `idempotent_replays`) instead of making a new one;
- `fail(...)` makes a matching call raise one of the real `reconciler.errors` classes, before the
  effect (the API never saw it) or after it (the API did it, the answer was lost);
- `gate(...)` makes matching calls wait on a `threading.Event` or `threading.Barrier` before
  their effect, so a test can hold calls in flight and look at the concurrency. Every wait has a
  timeout: a test that goes wrong fails instead of hanging.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import ApiError, ConnectionFailedError, NotFoundError

__all__ = ["WAIT_TIMEOUT", "Call", "FakeClient", "Rule", "api_error", "connection_dropped", "finished_before"]

WAIT_TIMEOUT = 10.0  # seconds: long enough for a loaded machine, short enough to fail a hang

ACTIVE = frozenset({"validating_files", "queued", "running", "paused"})
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
MUTATING = frozenset({"create_job", "cancel_job", "pause_job", "resume_job", "upload_file", "delete_file",
                      "create_permissions", "delete_permission"})


@dataclass
class Call:
    seq: int                  # position in the recording
    method: str
    args: dict[str, Any]
    thread: str
    start: int                # tick when the call began
    end: int | None = None    # tick when it returned or raised
    outcome: str = "running"  # ok | error:<ClassName>
    result: Any = None

    @property
    def address(self) -> str | None:
        """The reconciler address a create_job was made for (from its metadata tag)."""
        body = self.args.get("body") or {}
        return (body.get("metadata") or {}).get("reconciler_address")


@dataclass
class Rule:
    """What to do to calls of `method` that `match`: raise `error` (before or after the effect),
    and/or wait on `event` / `barrier` first. `times` bounds how many calls it applies to."""

    method: str
    match: Callable[[dict[str, Any]], bool] = lambda args: True
    error: Callable[[], BaseException] | None = None
    after_effect: bool = False
    times: int | None = 1
    event: threading.Event | None = None
    barrier: threading.Barrier | None = None
    hook: Callable[[dict[str, Any]], object] | None = None
    used: int = 0


def _api_error(method: str, path: str, status: int, message: str) -> ApiError:
    cls: type[ApiError] = NotFoundError if status == 404 else ApiError
    return cls(message, status=status, method=method, path=path)


@dataclass
class FakeClient:
    organization_id: str = "org-fake"
    # Status a newly created job starts in; "succeeded" finishes it at once (with a model).
    create_status: str = "validating_files"
    has_admin_key: bool = True
    last_server_date: str | None = None

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    grants: dict[str, list[dict[str, Any]]] = field(default_factory=dict)      # checkpoint -> grants
    checkpoints: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # job id -> checkpoints
    hidden_from_listing: set[str] = field(default_factory=set)  # job ids a listing lags behind on
    calls: list[Call] = field(default_factory=list)
    idempotent_replays: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._ticks = itertools.count(1)
        self._ids = itertools.count(1)
        self._keys: dict[tuple[str, str], Any] = {}
        self._rules: list[Rule] = []
        self._in_flight = 0
        self.clock = 1_700_000_000

    # -- test controls ---------------------------------------------------------------------
    def fail(self, method: str, error: Callable[[], BaseException], *, match: Callable[[dict[str, Any]], bool]
             | None = None, after_effect: bool = False, times: int | None = 1) -> Rule:
        rule = Rule(method, match or (lambda args: True), error=error, after_effect=after_effect, times=times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def gate(self, method: str, *, event: threading.Event | None = None,
             barrier: threading.Barrier | None = None, match: Callable[[dict[str, Any]], bool] | None = None,
             times: int | None = None) -> Rule:
        rule = Rule(method, match or (lambda args: True), event=event, barrier=barrier, times=times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def before(self, method: str, hook: Callable[[dict[str, Any]], object], *,
               match: Callable[[dict[str, Any]], bool] | None = None, times: int | None = None) -> Rule:
        """Run `hook(args)` in the calling thread before the effect (e.g. to look at the journal)."""
        rule = Rule(method, match or (lambda args: True), hook=hook, times=times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def wait_in_flight(self, count: int, timeout: float = WAIT_TIMEOUT) -> bool:
        """Block until at least `count` calls are in flight at once; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._in_flight >= count, timeout)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    # -- world helpers ---------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):04d}"

    def add_file(self, filename: str = "train.jsonl", size: int = 100) -> dict[str, Any]:
        with self._lock:
            obj: dict[str, Any] = {"id": self._new_id("file"), "object": "file", "bytes": size, "created_at": self.clock,
                   "filename": filename, "purpose": "fine-tune", "status": "processed"}
            self.files[obj["id"]] = obj
            return copy.deepcopy(obj)

    def set_status(self, job_id: str, status: str) -> dict[str, Any]:
        """Move a job on, as the API would; succeeded gives it a fine-tuned model."""
        with self._lock:
            job = self.jobs[job_id]
            job["status"] = status
            if status == "succeeded" and not job.get("fine_tuned_model"):
                job["fine_tuned_model"] = self.model_of(job)
            if status in FINISHED:
                job["finished_at"] = self.clock
            return copy.deepcopy(job)

    @staticmethod
    def model_of(job: dict[str, Any]) -> str:
        return f"ft:{job['model']}:fake:{job.get('suffix') or ''}:{job['id'][-4:]}"

    def job_for(self, address: str) -> dict[str, Any]:
        """The one job carrying this reconciler address (AssertionError unless exactly one)."""
        with self._lock:
            found = [j for j in self.jobs.values() if (j.get("metadata") or {}).get("reconciler_address") == address]
        assert len(found) == 1, f"{len(found)} jobs for {address}: {[j['id'] for j in found]}"
        return copy.deepcopy(found[0])

    # -- recording -------------------------------------------------------------------------
    def named(self, *methods: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method in methods]

    def mutations(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method in MUTATING]

    def find(self, method: str, match: Callable[[Call], bool] | None = None) -> list[Call]:
        return [c for c in self.named(method) if match is None or match(c)]

    def one(self, method: str, match: Callable[[Call], bool] | None = None) -> Call:
        found = self.find(method, match)
        assert len(found) == 1, f"expected one {method} call, got {len(found)}: {[c.args for c in found]}"
        return found[0]

    def creates_for(self, address: str) -> list[Call]:
        """The create_job calls made for one reconciler address."""
        return self.find("create_job", lambda c: c.address == address)

    def count(self, method: str) -> int:
        return len(self.named(method))

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()
            self.max_in_flight = 0

    def _call(self, method: str, args: dict[str, Any], effect: Callable[[], Any]) -> Any:
        with self._lock:
            call = Call(len(self.calls), method, dict(args), threading.current_thread().name, next(self._ticks))
            self.calls.append(call)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            self._changed.notify_all()
            rules = [r for r in self._rules if r.method == method and (r.times is None or r.used < r.times)
                     and r.match(args)]
            for rule in rules:
                rule.used += 1
        try:
            for rule in rules:
                if rule.hook is not None:
                    rule.hook(args)
                if rule.event is not None and not rule.event.wait(WAIT_TIMEOUT):
                    raise AssertionError(f"{method}: the test never released its gate")
                if rule.barrier is not None:
                    rule.barrier.wait(WAIT_TIMEOUT)  # BrokenBarrierError on timeout
            for rule in rules:
                if rule.error is not None and not rule.after_effect:
                    raise rule.error()
            with self._lock:
                result = effect()
            for rule in rules:
                if rule.error is not None and rule.after_effect:
                    raise rule.error()
            call.result = copy.deepcopy(result) if not isinstance(result, Iterator) else None
            call.outcome = "ok"
            return result
        except BaseException as exc:
            call.outcome = f"error:{type(exc).__name__}"
            raise
        finally:
            with self._lock:
                call.end = next(self._ticks)
                self._in_flight -= 1
                self._changed.notify_all()

    # -- jobs ------------------------------------------------------------------------------
    def create_job(self, body: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        def effect() -> dict[str, Any]:
            if not idempotency_key:
                raise _api_error("POST", "/fine_tuning/jobs", 400, "an Idempotency-Key is required here")
            seen = self._keys.get(("create_job", idempotency_key))
            if seen is not None:
                self.idempotent_replays += 1
                return copy.deepcopy(self.jobs[seen])
            training = body.get("training_file")
            if training not in self.files:
                raise _api_error("POST", "/fine_tuning/jobs", 400, f"invalid training_file: {training}")
            job_id = self._new_id("ftjob")
            job = {"id": job_id, "object": "fine_tuning.job", "model": body["model"], "created_at": self.clock,
                   "status": "validating_files", "fine_tuned_model": None, "finished_at": None,
                   "organization_id": self.organization_id, "training_file": training,
                   "validation_file": body.get("validation_file"), "result_files": [], "trained_tokens": None,
                   "error": None, "seed": body.get("seed", 7), "suffix": body.get("suffix"),
                   "metadata": dict(body.get("metadata") or {}), "method": copy.deepcopy(body.get("method")),
                   "estimated_finish": None}
            self.jobs[job_id] = job
            self._keys[("create_job", idempotency_key)] = job_id
            if self.create_status != "validating_files":
                self.set_status(job_id, self.create_status)
            return copy.deepcopy(job)

        return self._call("create_job", {"body": copy.deepcopy(body), "idempotency_key": idempotency_key}, effect)

    def list_jobs(self, *, metadata: dict[str, str] | None = None, page_size: int = 100) -> Iterator[dict[str, Any]]:
        def effect() -> list[dict[str, Any]]:
            found = [j for j in self.jobs.values() if j["id"] not in self.hidden_from_listing
                     and all((j.get("metadata") or {}).get(k) == v for k, v in (metadata or {}).items())]
            return copy.deepcopy(sorted(found, key=lambda j: j["id"], reverse=True))

        return iter(self._call("list_jobs", {"metadata": dict(metadata or {})}, effect))

    def _job(self, method: str, job_id: str, suffix: str = "") -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise _api_error(method, f"/fine_tuning/jobs/{job_id}{suffix}", 404, f"no job {job_id}")
        return job

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self._call("get_job", {"job_id": job_id},
                          lambda: copy.deepcopy(self._job("GET", job_id)))

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        def effect() -> dict[str, Any]:
            job = self._job("POST", job_id, "/cancel")
            if job["status"] not in ACTIVE:
                raise _api_error("POST", f"/fine_tuning/jobs/{job_id}/cancel", 400,
                                 f"job {job_id} has already {job['status']}")
            return self.set_status(job_id, "cancelled")

        return self._call("cancel_job", {"job_id": job_id}, effect)

    def pause_job(self, job_id: str) -> dict[str, Any]:
        def effect() -> dict[str, Any]:
            job = self._job("POST", job_id, "/pause")
            if job["status"] != "running":
                raise _api_error("POST", f"/fine_tuning/jobs/{job_id}/pause", 400, "only a running job pauses")
            return self.set_status(job_id, "paused")

        return self._call("pause_job", {"job_id": job_id}, effect)

    def resume_job(self, job_id: str) -> dict[str, Any]:
        def effect() -> dict[str, Any]:
            job = self._job("POST", job_id, "/resume")
            if job["status"] != "paused":
                raise _api_error("POST", f"/fine_tuning/jobs/{job_id}/resume", 400, "only a paused job resumes")
            return self.set_status(job_id, "running")

        return self._call("resume_job", {"job_id": job_id}, effect)

    def list_events(self, job_id: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        return iter(self._call("list_events", {"job_id": job_id}, lambda: []))

    def list_checkpoints(self, job_id: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        return iter(self._call("list_checkpoints", {"job_id": job_id},
                               lambda: copy.deepcopy(self.checkpoints.get(job_id, []))))

    # -- files -----------------------------------------------------------------------------
    def upload_file(self, path: Path, *, purpose: str = "fine-tune", filename: str | None = None,
                    idempotency_key: str | None = None) -> dict[str, Any]:
        path = Path(path)

        def effect() -> dict[str, Any]:
            if idempotency_key:
                seen = self._keys.get(("upload_file", idempotency_key))
                if seen is not None:
                    self.idempotent_replays += 1
                    return copy.deepcopy(self.files[seen])
            data = path.read_bytes()
            obj: dict[str, Any] = {"id": self._new_id("file"), "object": "file", "bytes": len(data), "created_at": self.clock,
                   "filename": filename or path.name, "purpose": purpose, "status": "processed"}
            self.files[obj["id"]] = obj
            if idempotency_key:
                self._keys[("upload_file", idempotency_key)] = obj["id"]
            return copy.deepcopy(obj)

        return self._call("upload_file", {"path": str(path), "purpose": purpose, "filename": filename,
                                          "idempotency_key": idempotency_key}, effect)

    def list_files(self, purpose: str | None = None, *, page_size: int = 10000) -> Iterator[dict[str, Any]]:
        return iter(self._call("list_files", {"purpose": purpose}, lambda: copy.deepcopy(
            [f for f in self.files.values() if purpose is None or f.get("purpose") == purpose])))

    def get_file(self, file_id: str) -> dict[str, Any]:
        def effect() -> dict[str, Any]:
            if file_id not in self.files:
                raise _api_error("GET", f"/files/{file_id}", 404, f"no file {file_id}")
            return copy.deepcopy(self.files[file_id])

        return self._call("get_file", {"file_id": file_id}, effect)

    def delete_file(self, file_id: str) -> dict[str, Any]:
        def effect() -> dict[str, Any]:
            if self.files.pop(file_id, None) is None:
                raise _api_error("DELETE", f"/files/{file_id}", 404, f"no file {file_id}")
            return {"id": file_id, "object": "file", "deleted": True}

        return self._call("delete_file", {"file_id": file_id}, effect)

    def delete_model(self, model: str) -> dict[str, Any]:
        return self._call("delete_model", {"model": model},
                          lambda: {"id": model, "object": "model", "deleted": True})

    # -- checkpoint permissions ------------------------------------------------------------
    def list_permissions(self, checkpoint: str, *, project_id: str | None = None, order: str | None = None,
                         page_size: int = 100) -> Iterator[dict[str, Any]]:
        return iter(self._call("list_permissions", {"checkpoint": checkpoint, "project_id": project_id},
                               lambda: copy.deepcopy([g for g in self.grants.get(checkpoint, [])
                                                      if project_id is None or g["project_id"] == project_id])))

    def create_permissions(self, checkpoint: str, project_ids: list[str], *,
                           idempotency_key: str | None = None) -> list[dict[str, Any]]:
        def effect() -> list[dict[str, Any]]:
            have = self.grants.setdefault(checkpoint, [])
            made = []
            for project in project_ids:
                if any(g["project_id"] == project for g in have):
                    raise _api_error("POST", f"/fine_tuning/checkpoints/{checkpoint}/permissions", 400,
                                     f"{project} already has access")
                grant = {"id": self._new_id("cp"), "object": "checkpoint.permission", "created_at": self.clock,
                         "project_id": project}
                have.append(grant)
                made.append(grant)
            return copy.deepcopy(made)

        return self._call("create_permissions", {"checkpoint": checkpoint,
                                                 "project_ids": list(project_ids)}, effect)

    def delete_permission(self, checkpoint: str, permission_id: str) -> dict[str, Any]:
        def effect() -> dict[str, Any]:
            have = self.grants.get(checkpoint, [])
            kept = [g for g in have if g["id"] != permission_id]
            if len(kept) == len(have):
                raise _api_error("DELETE", f"/fine_tuning/checkpoints/{checkpoint}/permissions/{permission_id}",
                                 404, f"no permission {permission_id}")
            self.grants[checkpoint] = kept
            return {"id": permission_id, "object": "checkpoint.permission", "deleted": True}

        return self._call("delete_permission", {"checkpoint": checkpoint,
                                                "permission_id": permission_id}, effect)


def finished_before(first: Call, second: Call) -> bool:
    """`first` had returned before `second` began (by the recording's ticks, not the clock)."""
    return first.end is not None and first.end < second.start


def connection_dropped(method: str = "POST", path: str = "/fine_tuning/jobs") -> Callable[[], Exception]:
    return lambda: ConnectionFailedError("connection failed (RemoteProtocolError: Server disconnected)",
                                         method=method, path=path)


def api_error(status: int, message: str = "invalid request", method: str = "POST",
              path: str = "/fine_tuning/jobs") -> Callable[[], Exception]:
    return lambda: _api_error(method, path, status, message)
