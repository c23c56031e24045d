"""The sandbox's organisation: files, jobs, checkpoint permissions, idempotency keys.

One readers-writer lock (rwlock.py) guards everything: reads share it, writes hold it alone. Job
records are replaced, never mutated in place (copy on write), so a snapshot for persistence is a
cheap shallow copy taken under the lock and serialised outside it. Lists keep ids in creation
order plus an id -> position index, so a page costs O(page), not O(world).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from reconciler import training_data
from reconciler.cost.tokens import count_lines, count_record, count_text, encoding_for
from reconciler_sandbox import chat, lifecycle
from reconciler_sandbox.arm import call_deployment
from reconciler_sandbox.clock import SimClock
from reconciler_sandbox.errors import bad_request, not_found
from reconciler_sandbox.jobspec import parse_create
from reconciler_sandbox.model_routes import serving
from reconciler_sandbox.models import ALIASES, SNAPSHOTS, base_of
from reconciler_sandbox.paging import OrderedStore, slice_page
from reconciler_sandbox.persist import BlobStore, Staged
from reconciler_sandbox.rwlock import RWLock
from reconciler_sandbox.uploads import upload_view

log = logging.getLogger(__name__)

ORGANIZATION_ID = "org-sandbox"
ORG_SLUG = "sandbox"
DEFAULT_PROJECT = "proj_sandbox"
VALIDATING_SECONDS = 10.0
QUEUED_SECONDS = 10.0
RUNNING_SECONDS = 120.0
FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
UNDOWNLOADABLE = ("assistants",)  # the real API answers 400 to a download of these


def file_view(meta: dict[str, Any]) -> dict[str, Any]:
    """A file as the API answers it (a world saved before `status_details` existed gets it null)."""
    view = {"status_details": None, **meta}
    view.pop("_project", None)  # the project a scoped sandbox keeps (sandbox/projects.py), not shown
    return view


def too_few_examples(check: training_data.CheckResult) -> bool:
    return (len(check.problems) == 1 and check.problems[0].line == 0
            and check.examples < training_data.MIN_EXAMPLES)


def running_seconds(examples: int) -> float:
    """120 s up to 100 examples, then half a second per example more, at most an hour."""
    return min(3600.0, RUNNING_SECONDS + max(0, examples - 100) * 0.5)


class _FineTunedModels:
    """`name in models`: a fine-tuned model that exists now (its job succeeded)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def __contains__(self, name: object) -> bool:
        job = self.world.job_for_model(str(name))
        return job is not None and lifecycle.status_at(job, self.world.now()) == "succeeded"


def _metadata_pairs(job: dict[str, Any]) -> list[tuple[str, str]]:
    """A job's metadata pairs: the tags its listing filter (`metadata[key]=value`) is served from."""
    metadata = job.get("metadata")
    if not isinstance(metadata, dict):
        return []
    return [(k, v) for k, v in metadata.items() if isinstance(k, str) and isinstance(v, str)]


class World:
    def __init__(self, *, clock: SimClock, blobs: BlobStore, seed: int = 0,
                 on_change: Callable[[], None] | None = None, flavor: str = "openai") -> None:
        self.flavor = flavor  # "azure": fine-tuned models are named as Azure names them (azure.py)
        self.keep_metadata = True  # azure: False drops a job create's metadata (docs/SANDBOX.md Z13)
        self.lock = RWLock()  # reads share it (`with self.lock.read():`), writes hold it alone
        self.clock = clock
        self.blobs = blobs
        self.seed = seed
        self.on_change = on_change or (lambda: None)
        self.counter = 0
        self.files = OrderedStore()
        self.jobs = OrderedStore(tags=_metadata_pairs)
        self.deployments: dict[str, dict[str, Any]] = {}     # ARM deployments by lower-cased id (arm.py)
        self.arm_operations: dict[str, dict[str, Any]] = {}  # ARM asynchronous operations by id
        self.arm_provisioning_seconds = 60.0  # from an ARM PUT or DELETE to Succeeded (a test may set 0)
        self.models: dict[str, str] = {}  # fine-tuned model name -> job id
        self.deleted_models: set[str] = set()  # fine-tuned models deleted (DELETE /v1/models/{model})
        self.permissions: dict[str, dict[str, dict[str, Any]]] = {}  # checkpoint -> perm id -> perm
        self.idempotency: dict[str, list[Any]] = {}
        self.result_files: dict[str, str] = {}  # result file id -> job id
        self.checkpoints: dict[str, str] = {}  # checkpoint name -> job id (the final one is the model)
        self._checks: dict[tuple[str, str], training_data.CheckResult] = {}
        # chat completions and model graders billed, per model: {"requests", "prompt_tokens", "completion_tokens"}
        self.usage: dict[str, dict[str, int]] = {}
        self._learned: dict[str, list[tuple[set[str], str]]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}  # upload id -> record (reconciler_sandbox/uploads.py)

    # ---- plumbing --------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def _new_id(self, prefix: str, kind: str, length: int = 24) -> str:
        self.counter += 1
        if self.flavor == "azure":  # Azure's ids: 32 hex digits (ftjob-…, file-…; docs/SANDBOX.md Z11)
            import hashlib

            return prefix + hashlib.sha256(f"azure:{self.seed}:{kind}:{self.counter}".encode()).hexdigest()[:32]
        return prefix + lifecycle.stable_token(self.seed, kind, self.counter, length=length)

    def changed(self) -> None:
        self.on_change()

    def snapshot(self) -> dict[str, Any]:
        with self.lock.read():
            return {
                "sim_now": self.now(),
                "seed": self.seed,
                "counter": self.counter,
                "files": self.files.dump(),
                "jobs": self.jobs.dump(),
                "permissions": {ck: dict(perms) for ck, perms in self.permissions.items()},
                "idempotency": dict(self.idempotency),
                "deleted_models": sorted(self.deleted_models),
                "uploads": {upload_id: dict(record) for upload_id, record in self.uploads.items()},

                "usage": {model: dict(counts) for model, counts in self.usage.items()},
                "deployments": {key: dict(d) for key, d in self.deployments.items()},
                "arm_operations": {key: dict(op) for key, op in self.arm_operations.items()},
            }

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.seed = data.get("seed", self.seed)
            self.counter = data["counter"]
            self.files = OrderedStore.restore(data["files"])
            self.jobs = OrderedStore.restore(data["jobs"], tags=_metadata_pairs)
            self.permissions = {ck: dict(perms) for ck, perms in data["permissions"].items()}
            self.idempotency = dict(data.get("idempotency", {}))
            self.deleted_models = set(data.get("deleted_models", ()))
            self.uploads = {upload_id: dict(record) for upload_id, record in data.get("uploads", {}).items()}

            self.usage = {model: dict(counts) for model, counts in data.get("usage", {}).items()}
            self.deployments = {key: dict(d) for key, d in data.get("deployments", {}).items()}
            self.arm_operations = {key: dict(op) for key, op in data.get("arm_operations", {}).items()}
            self.models = {lifecycle.fine_tuned_model_name(job): job_id for job_id, job in self.jobs.items.items()}
            self.result_files = {lifecycle.result_file_id(job): job_id for job_id, job in self.jobs.items.items()}
            self.checkpoints = {name: job_id for job_id, job in self.jobs.items.items()
                                for name in lifecycle.checkpoint_names(job)}

    def idempotent(self, key: str | None, scope: str, produce: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Same `Idempotency-Key` on the same operation: the stored answer, no new object."""
        if not key:
            return produce()
        with self.lock:  # held across produce(): two requests with one key make one object
            stored = self.idempotency.get(f"{scope} {key}")
            if stored is not None:
                return self._refresh(stored[0], stored[1])
            result = produce()
            self.idempotency[f"{scope} {key}"] = [result.get("object"), result["id"]]
            self.changed()
            return result

    def _refresh(self, kind: str, obj_id: str) -> dict[str, Any]:
        if kind == "file":
            meta = self.files.items.get(obj_id)
            if meta is None:
                raise not_found(f"No such File object: {obj_id}", param="id")
            return file_view(meta)
        if kind == "upload":
            return upload_view(self.uploads[obj_id], self.now())
        return self.get_job(obj_id)

    # ---- files -----------------------------------------------------------------------------

    def upload_file(self, *, filename: str, purpose: str, content: bytes | Staged,
                    expires_after: dict[str, Any] | None = None, project: str | None = None) -> dict[str, Any]:
        if purpose not in FILE_PURPOSES:
            raise bad_request(f"'{purpose}' is not one of {', '.join(FILE_PURPOSES)} - 'purpose'",
                              param="purpose", code="invalid_value")
        if purpose == "fine-tune" and not filename.endswith(".jsonl"):
            raise bad_request(f"Invalid file format for Fine-Tuning API. Must be .jsonl (got {filename!r}).",
                              param="file", code="invalid_file_format")
        with self.lock:
            file_id = self._new_id("file-", "file", 22)
        self.blobs.put(file_id, content)  # outside the lock: a large upload does not stall others
        with self.lock:
            created = int(self.now())
            meta: dict[str, Any] = {"object": "file", "id": file_id, "purpose": purpose, "filename": filename,
                                    "bytes": content.size if isinstance(content, Staged) else len(content),
                                    "created_at": created, "status": "processed",
                                    "status_details": None}
            if expires_after:
                meta["expires_at"] = created + int(expires_after["seconds"])
            if project is not None:
                meta["_project"] = project
            self.files.add(file_id, meta)
            self.changed()
            return file_view(meta)

    def list_files(self, *, purpose: str | None, limit: int, order: str, after: str | None,
                   project: str | None = None, unowned: str | None = None) -> dict[str, Any]:
        """`project`: only that project's files; `unowned`: the project a file uploaded without
        one counts as (an unscoped sandbox's default project; None: no project's)."""
        with self.lock.read():
            keep = (lambda f: f["purpose"] == purpose) if purpose else None
            scoped = ((lambda f: f.get("_project", unowned) == project and (keep is None or keep(f)))
                      if project else None)
            data, more = self.files.page(after=after, limit=limit, descending=order == "desc",
                                         keep=scoped or keep)
            data = [file_view(f) for f in data]
        return {"object": "list", "data": data, "first_id": data[0]["id"] if data else "",
                "last_id": data[-1]["id"] if data else "", "has_more": more}

    def _result_file(self, file_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        job_id = self.result_files.get(file_id)
        if job_id is None:
            return None
        job = self.jobs.items[job_id]
        if lifecycle.status_at(job, self.now()) != "succeeded":
            return None
        end = int(lifecycle.natural_end(job))
        content = lifecycle.result_file_content(job)
        meta = {"object": "file", "id": file_id, "purpose": "fine-tune-results", "filename": "step_metrics.csv",
                "bytes": len(content), "created_at": end, "status": "processed",
                "status_details": None}
        return meta, job

    def get_file(self, file_id: str) -> dict[str, Any]:
        with self.lock.read():
            meta = self.files.items.get(file_id)
            if meta is not None:
                return file_view(meta)
            result = self._result_file(file_id)
            if result is not None:
                return result[0]
        raise not_found(f"No such File object: {file_id}", param="id")

    def file_content(self, file_id: str) -> bytes | BinaryIO:
        with self.lock.read():
            meta = self.files.items.get(file_id)
            if meta is not None:
                if meta["purpose"] in UNDOWNLOADABLE:
                    raise bad_request(f"Not allowed to download files of purpose: {meta['purpose']}")
                return self.blobs.reader(file_id)   # opened under the lock: a delete cannot cut it
            result = self._result_file(file_id)
            if result is not None:
                return lifecycle.result_file_content(result[1])
        raise not_found(f"No such File object: {file_id}", param="id")

    def delete_file(self, file_id: str) -> dict[str, Any]:
        with self.lock:
            if self.files.items.pop(file_id, None) is None:
                raise not_found(f"No such File object: {file_id}", param="id")
            self.blobs.delete(file_id)
            self.changed()
        return {"object": "file", "id": file_id, "deleted": True}

    # ---- jobs ------------------------------------------------------------------------------

    def _tokens(self, file_id: str, fmt: str, model: str) -> int:
        """Training tokens per epoch, counted as OpenAI counts them (reconciler/cost/tokens.py), so
        `trained_tokens` is what a plan estimates; bytes / 4 for a model of unknown encoding."""
        encoding = encoding_for(base_of(model))
        if encoding is None:
            return int(self.files.items[file_id]["bytes"]) // 4
        return count_lines(self.blobs.lines(file_id), fmt, encoding).tokens

    def _check(self, file_id: str, fmt: str) -> training_data.CheckResult:
        key = (file_id, fmt)
        if key not in self._checks:
            self._checks[key] = training_data.check_lines(self.blobs.lines(file_id), fmt)
        return self._checks[key]

    def create_job(self, body: Any, *, project: str) -> dict[str, Any]:
        with self.lock:
            def purpose(file_id: str) -> str | None:
                meta = self.files.items.get(file_id)
                return meta["purpose"] if meta else None

            args = parse_create(body, file_purpose=purpose, fine_tuned_models=_FineTunedModels(self))
            fmt = training_data.format_for(args["method_type"], base_of(args["model"]))
            error = None
            train = self._check(args["training_file"], fmt)
            if too_few_examples(train):
                error = {"code": "invalid_n_examples", "param": "training_file",
                         "message": f"Training file has {train.examples} example(s), but must have at least "
                                    f"{training_data.MIN_EXAMPLES} examples"}
            elif not train.ok:
                error = {"code": "invalid_training_file", "param": "training_file",
                         "message": f"The job failed due to an invalid training file. "
                                    f"Training file {args['training_file']}: {train.summary()}"}
            elif args["validation_file"]:
                valid = self._check(args["validation_file"], fmt)
                if not valid.ok:
                    error = {"code": "invalid_validation_file", "param": "validation_file",
                             "message": f"The job failed due to an invalid validation file. "
                                        f"Validation file {args['validation_file']}: {valid.summary()}"}
            job_id = self._new_id("ftjob-", "job")
            seed = args.pop("seed")
            job = dict(args)
            job.update({
                "id": job_id,
                "created_at": self.now(),
                "seed": seed if seed is not None else int(lifecycle.stable_fraction(job_id, "seed") * 2**31),
                "project": project,
                "organization_id": ORGANIZATION_ID,
                "org_slug": ORG_SLUG,
                "short": lifecycle.stable_token(job_id, "model", length=8),
                "examples": train.examples,
                "tokens": self._tokens(args["training_file"], fmt, args["model"]) if train.ok else 0,
                "error": error,
                "durations": [VALIDATING_SECONDS, QUEUED_SECONDS, running_seconds(train.examples)],
                "pauses": [],
                "cancelled_at": None,
            })
            if self.flavor == "azure":
                job["naming"] = "azure"
            self.jobs.add(job_id, job)
            self.models[lifecycle.fine_tuned_model_name(job)] = job_id
            self.result_files[lifecycle.result_file_id(job)] = job_id
            for name in lifecycle.checkpoint_names(job):
                self.checkpoints[name] = job_id
            self.changed()
            return lifecycle.render_job(job, self.now())

    def _job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs.items.get(job_id)
        if job is None:
            raise not_found(f"Could not find fine-tune: {job_id}", param="fine_tune_id",
                            code="fine_tune_not_found")
        return job

    def get_job(self, job_id: str) -> dict[str, Any]:
        with self.lock.read():
            return lifecycle.render_job(self._job(job_id), self.now())

    def list_jobs(self, *, after: str | None, limit: int,
                  metadata: dict[str, str] | bool | None = False, project: str | None = None) -> dict[str, Any]:
        """`metadata` False: no filter; None: jobs without metadata; a dict: all pairs must match.
        `project`: only that project's jobs (a scoped sandbox's project key)."""
        def keep(job: dict[str, Any]) -> bool:
            if project is not None and job.get("project") != project:
                return False
            if metadata is False:
                return True
            if metadata is None:
                return not job.get("metadata")
            have = job.get("metadata") or {}
            return all(have.get(k) == v for k, v in metadata.items())  # type: ignore[union-attr]

        with self.lock.read():
            now = self.now()
            among = self.jobs.candidates(metadata.items()) if isinstance(metadata, dict) and metadata else None
            data, more = self.jobs.page(after=after, limit=limit,
                                        keep=None if metadata is False and project is None else keep, among=among)
            return {"object": "list", "data": [lifecycle.render_job(j, now) for j in data], "has_more": more}

    def _replace(self, job: dict[str, Any], **changes: Any) -> dict[str, Any]:
        new = {**job, **changes}
        self.jobs.items[job["id"]] = new
        self.changed()
        return new

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            job = self._job(job_id)
            now = self.now()
            status = lifecycle.status_at(job, now)
            if status not in lifecycle.ACTIVE:
                raise bad_request(f"Job {job_id} has already {'been ' if status == 'cancelled' else ''}"
                                  f"{status}; only an active job can be cancelled.", param="fine_tune_id",
                                  code="invalid_job_state")
            pauses = [[s, e if e is not None else now] for s, e in job["pauses"]]
            job = self._replace(job, cancelled_at=now, pauses=pauses)
            return lifecycle.render_job(job, now)

    def pause_job(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            job = self._job(job_id)
            now = self.now()
            status = lifecycle.status_at(job, now)
            if status != "running":
                raise bad_request(f"Job {job_id} is {status}; only a running job can be paused.",
                                  param="fine_tune_id", code="invalid_job_state")
            job = self._replace(job, pauses=[*job["pauses"], [now, None]])
            return lifecycle.render_job(job, now)

    def resume_job(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            job = self._job(job_id)
            now = self.now()
            status = lifecycle.status_at(job, now)
            if status != "paused":
                raise bad_request(f"Job {job_id} is {status}; only a paused job can be resumed.",
                                  param="fine_tune_id", code="invalid_job_state")
            pauses = [list(p) for p in job["pauses"]]
            pauses[-1][1] = now
            job = self._replace(job, pauses=pauses)
            return lifecycle.render_job(job, now)

    def list_events(self, job_id: str, *, after: str | None, limit: int) -> dict[str, Any]:
        with self.lock.read():
            events = lifecycle.events_at(self._job(job_id), self.now())
        events.reverse()  # newest first
        return {"object": "list", **slice_page(events, after, limit, with_ids=False)}

    def list_checkpoints(self, job_id: str, *, after: str | None, limit: int) -> dict[str, Any]:
        with self.lock.read():
            checkpoints = lifecycle.checkpoints_at(self._job(job_id), self.now())
        checkpoints.reverse()  # newest first
        return {"object": "list", **slice_page(checkpoints, after, limit, with_ids=True)}

    def job_for_model(self, name: str) -> dict[str, Any] | None:
        """The job whose fine-tuned model `name` is, while that model exists (not deleted)."""
        if name in self.deleted_models:
            return None
        job_id = self.models.get(name)
        return self.jobs.items.get(job_id) if job_id else None

    # ---- chat completions ------------------------------------------------------------------

    def chat_completion(self, body: Any, *, deployment: str | None = None) -> dict[str, Any]:
        """A deterministic answer (sandbox/chat.py), its usage counted in `self.usage`. With
        `deployment` (Azure: a call to a deployment), the model is the one that deployment serves."""
        if deployment is not None and isinstance(body, dict):
            body = {**body, "model": deployment}
        model, messages, seed, limit, _temperature = chat.check_request(body)
        with self.lock:
            if deployment is not None:
                model = call_deployment(self, deployment)
            job_id = self.models.get(model) or self.checkpoints.get(model)
            job = self.jobs.items.get(job_id) if job_id else None
            if job is not None:
                if lifecycle.status_at(job, self.now()) != "succeeded" or model in self.deleted_models:
                    raise chat.model_not_found(model)
                training_file = str(job["training_file"])
                key = "ft:" + training_file
                learned: Callable[[], list[tuple[set[str], str]]] | None = functools.partial(
                    self._learned_pairs, training_file)
                served = model
            elif model in ALIASES or model in SNAPSHOTS:
                key, learned, served = ALIASES.get(model, model), None, ALIASES.get(model, model)
            else:
                raise chat.model_not_found(model)
            if not serving(served, self.now(), self.flavor):   # shut down on the sandbox's clock, its fine-tunes with it
                raise chat.model_not_found(model)
            encoding = encoding_for(base_of(served)) or "o200k_base"
            text = chat.answer(key, messages, seed, learned)
            reply = chat.truncate(text, limit, lambda t: count_text(t, encoding))
            usage = {"prompt_tokens": count_record({"messages": messages}, "chat", encoding),
                     "completion_tokens": count_text(reply.text, encoding)}
            counts = self.usage.setdefault(served, {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0})
            counts["requests"] += 1
            counts["prompt_tokens"] += usage["prompt_tokens"]
            counts["completion_tokens"] += usage["completion_tokens"]
            completion_id = self._new_id("chatcmpl-", "chat", length=29)
            self.changed()
            return chat.completion_body(completion_id, int(self.now()), served, reply, usage,
                                        "fp_" + lifecycle.stable_token(self.seed, "fp", length=10))

    def bill_grader_usage(self, usage: Mapping[str, Mapping[str, int]]) -> None:
        """A model grader's tokens (graders/run), counted in `self.usage` as chat completions are."""
        if not usage:
            return
        with self.lock:
            for model, tokens in usage.items():
                counts = self.usage.setdefault(model, {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0})
                counts["requests"] += 1
                counts["prompt_tokens"] += int(tokens.get("prompt_tokens", 0))
                counts["completion_tokens"] += int(tokens.get("completion_tokens", 0))
            self.changed()

    def _learned_pairs(self, training_file: str) -> list[tuple[set[str], str]]:
        if training_file not in self._learned:
            lines = self.blobs.lines(training_file) if training_file in self.files.items else iter(())
            self._learned[training_file] = chat.learned_pairs(lines)
        return self._learned[training_file]

    # ---- checkpoint permissions ------------------------------------------------------------

    def _checkpoint_owner(self, checkpoint: str) -> str:
        """The project that owns a checkpoint (or fine-tuned model) that exists now; 404 otherwise."""
        job_id = self.checkpoints.get(checkpoint) or self.models.get(checkpoint)
        job = self.jobs.items.get(job_id) if job_id and checkpoint not in self.deleted_models else None
        if job is not None:
            now = self.now()
            if checkpoint == lifecycle.fine_tuned_model_name(job):
                if lifecycle.status_at(job, now) == "succeeded":
                    return str(job["project"])
            elif any(c["fine_tuned_model_checkpoint"] == checkpoint for c in lifecycle.checkpoints_at(job, now)):
                return str(job["project"])
        raise not_found(f"Checkpoint {checkpoint} not found.", param="fine_tuned_model_checkpoint",
                        code="model_not_found")

    def list_permissions(self, checkpoint: str, *, project_id: str | None, after: str | None, limit: int,
                         order: str) -> dict[str, Any]:
        with self.lock.read():
            self._checkpoint_owner(checkpoint)
            perms = list(self.permissions.get(checkpoint, {}).values())
        if order == "descending":
            perms.reverse()
        if project_id:
            perms = [p for p in perms if p["project_id"] == project_id]
        page = slice_page(perms, after, limit, with_ids=True)
        return {"object": "list", **page}

    def create_permissions(self, checkpoint: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or "project_ids" not in body:
            raise bad_request("Missing required parameter: 'project_ids'.", param="project_ids",
                              code="missing_required_parameter")
        extra = sorted(set(body) - {"project_ids"})
        if extra:
            raise bad_request(f"Unrecognized request argument supplied: {extra[0]}", param=extra[0],
                              code="unknown_parameter")
        ids = body["project_ids"]
        if not isinstance(ids, list) or not ids or not all(isinstance(p, str) and p for p in ids):
            raise bad_request("'project_ids' must be a non-empty list of project ids.", param="project_ids",
                              code="invalid_value")
        for p in ids:
            if not p.startswith("proj_"):
                raise bad_request(f"Invalid project id '{p}': project ids start with 'proj_'.",
                                  param="project_ids", code="invalid_value")
        with self.lock:
            owner = self._checkpoint_owner(checkpoint)
            if owner in ids:
                raise bad_request(f"Cannot modify checkpoint permissions for the owning project: {owner}",
                                  param="project_ids", code="invalid_value")
            perms = self.permissions.setdefault(checkpoint, {})
            by_project = {p["project_id"]: p for p in perms.values()}
            out = []
            for project in dict.fromkeys(ids):
                perm = by_project.get(project)
                if perm is None:
                    perm_id = self._new_id("cp_", "perm")
                    perm = {"object": "checkpoint.permission", "id": perm_id, "created_at": int(self.now()),
                            "project_id": project}
                    perms[perm_id] = perm
                    by_project[project] = perm
                out.append(dict(perm))
            self.changed()
        return {"object": "list", "data": out, "first_id": out[0]["id"], "last_id": out[-1]["id"],
                "has_more": False}

    def delete_permission(self, checkpoint: str, permission_id: str) -> dict[str, Any]:
        with self.lock:
            self._checkpoint_owner(checkpoint)
            perms = self.permissions.get(checkpoint, {})
            if perms.pop(permission_id, None) is None:
                raise not_found(f"Permission {permission_id} not found for checkpoint {checkpoint}.",
                                param="permission_id")
            self.changed()
        return {"object": "checkpoint.permission", "id": permission_id, "deleted": True}
