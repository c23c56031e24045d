"""Applying a FineTuningJob change: create (never twice), cancel, pause, resume, adopt, forget, and
delete its fine-tuned model (lifecycle.delete_model_on_destroy).

A job is created with its address and input digest in `metadata` and an `Idempotency-Key`
derived from (lineage, serial, address, digest). Whether the API honours that key is not
documented, so the client never re-sends a create that may have had its effect (a timeout, a
dropped connection, a 5xx): it raises `AmbiguousCreateError`, and this module looks the job up by
its metadata. Found: it is the job. The lookup answered and found nothing: the create is sent
again (at most `CREATE_ATTEMPTS` times in all). The lookup failed, or found only a cancelled job
with the same marks: the change fails with one line, and nothing is sent again."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.api.errors import AmbiguousCreateError
from reconciler.errors import ApiError, ConnectionFailedError, NotFoundError, ReconcilerError
from reconciler.kinds.base import ApplyContext, Kind
from reconciler.kinds.job import inputs as J
from reconciler.plan.model import Change, Op, Step
from reconciler.resources.ownership import job_owner, mark
from reconciler.state import ResourceState

__all__ = ["CREATE_ATTEMPTS", "apply_job"]

CREATE_ATTEMPTS = 3  # creates sent for one change, each after a lookup that answered "no such job"


def apply_job(ctx: ApplyContext, change: Change) -> str | None:
    object_id: str | None = None
    resource: ResourceState | None = ctx.state.resources.get(change.address)
    for step in change.steps:
        if step.op is Op.CREATE_JOB:
            resource = _create(ctx, change)
            object_id = resource.id
        elif step.op is Op.CANCEL_JOB:
            resource = _cancel(ctx, change, step, resource)
        elif step.op in (Op.PAUSE_JOB, Op.RESUME_JOB):
            resource = _pause_resume(ctx, change, step, resource, pause=step.op is Op.PAUSE_JOB)
        elif step.op is Op.DELETE_MODEL:
            resource = _delete_model(ctx, change, step, resource)
        elif step.op is Op.FORGET:
            resource = Kind.forget(ctx, change, step)
        elif step.op is Op.ADOPT:
            resource = _adopt(ctx, change, step)
            object_id = resource.id
        else:  # pragma: no cover - the planner makes no other step for a job
            raise AssertionError(f"{change.address}: a job has no step {step.op.value}")
    return object_id


def _create(ctx: ApplyContext, change: Change) -> ResourceState:
    spec = ctx.resolve(change)
    inputs = J.inputs_from_spec(spec)
    digest = J.inputs_digest(inputs)
    body = J.create_body(spec, change.address, digest, ctx.state.lineage, ctx.state.owner)
    key = ctx.key(change.address, digest, "create_job")
    job = _create_or_find(ctx, change.address, digest, body, key)
    settings = J.settings_from_spec(spec)
    job = J.compact_live(job)
    if type(job.get("method")) is dict:
        job["method"] = ctx.canonical(job["method"])
    inputs["method"] = ctx.canonical(inputs["method"])
    settings = ctx.canonical(settings)
    resource = ResourceState(address=change.address, kind=change.kind, id=job["id"], inputs=inputs,
                             digest=digest, attributes=job, depends_on=list(change.depends_on),
                             meta={"settings": settings})
    ctx.record(change.address, resource)
    ctx.remember(change, job)
    return resource


def _ambiguous(exc: ApiError) -> bool:
    """Whether a failed create may have made the job: the client says so, or (a client that does
    not) the connection failed or the server erred."""
    return isinstance(exc, (AmbiguousCreateError, ConnectionFailedError)) or (exc.status or 0) >= 500 \
        or exc.status in (408, 409)


def _create_or_find(ctx: ApplyContext, address: str, digest: str, body: dict[str, Any],
                    key: str) -> dict[str, Any]:
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            return ctx.client.create_job(body, idempotency_key=key)
        except ApiError as exc:
            if not _ambiguous(exc):
                raise
            failure = exc
        # The POST may have reached the API: look before anyone creates a second job.
        try:
            found, cancelled = _find_created(ctx, address, digest)
        except ApiError as lookup:
            raise ReconcilerError(
                f"the create may have reached the API ({failure}) and looking for the job by its "
                f"metadata failed ({lookup}); not creating it again: run `reconciler plan` once the API "
                f"answers (a job with metadata reconciler_address={address} is adopted, not paid for twice)"
            ) from None
        if found is not None:
            return found
        if cancelled:
            raise ReconcilerError(
                f"the create may have reached the API ({failure}) and a job with its marks exists "
                f"but is cancelled ({', '.join(cancelled[:3])}); not creating another in this run: check it, "
                "then apply again")
        if not getattr(ctx.client, "keeps_metadata", True):
            raise ReconcilerError(
                f"the create may have reached the API ({failure}) and this platform does not keep job metadata, "
                f"so the job cannot be looked for by reconciler's marks; not creating it again: look for a job on "
                f"{body.get('model')} with training_file {body.get('training_file')} made in the last minutes, "
                f"then `reconciler import {address} JOB_ID` it, or apply again if there is none")
        if attempt == CREATE_ATTEMPTS:
            raise ReconcilerError(
                f"the create failed {attempt} times, each time without making a job (looked up by "
                f"metadata), last: {failure}")
        ctx.note(address, f"the create failed ({failure.status or 'connection'}) and no job was made "
                          "(looked up by metadata): sending it again")
    raise AssertionError("unreachable")  # pragma: no cover


def _find_created(ctx: ApplyContext, address: str, digest: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The live job this address and digest made in this workspace (None if none), and the ids of
    cancelled ones. A job with the same marks made by another workspace (another lineage) is not
    this create's job."""
    cancelled: list[str] = []
    ours = mark(ctx.state.lineage)
    for job in ctx.client.list_jobs(metadata={J.TAG_ADDRESS: address}):
        if (job.get("metadata") or {}).get(J.TAG_DIGEST) != digest or job_owner(job) != ours:
            continue
        if job.get("status") == "cancelled":
            cancelled.append(str(job.get("id")))
        else:
            return dict(job), cancelled
    return None, cancelled


def _cancel(ctx: ApplyContext, change: Change, step: Step, resource: ResourceState | None) -> ResourceState | None:
    job_id = step.args["id"]
    job: dict[str, Any] | None
    ctx.announce(change.address, f"cancelling {job_id}")
    try:
        job = ctx.client.cancel_job(job_id)
    except NotFoundError:
        job = None
    except ApiError as exc:
        if exc.status != 400:
            raise
        job = ctx.client.get_job(job_id)  # finished meanwhile: nothing to cancel
    old = ctx.state.resources.get(change.address)
    if old is not None and old.id == job_id:
        updated = copy.copy(old)
        updated.attributes = job or old.attributes
        updated.meta = {**old.meta, "cancelled_by": step.args.get("cancelled_by") or change.action.value}
        ctx.record(change.address, updated)
        return updated
    return resource


def _delete_model(ctx: ApplyContext, change: Change, step: Step,
                  resource: ResourceState | None) -> ResourceState | None:
    """DELETE the model, then record `meta.model_deleted` (a journaled action of its own): a run
    that stops between the two sends the delete again, and a model already gone (404) counts as
    deleted, so nothing is lost track of either way."""
    model = str(step.args["model"])
    try:
        ctx.client.delete_model(model)
    except NotFoundError:
        ctx.note(change.address, f"fine-tuned model {model} was already deleted")
    old = ctx.state.resources.get(change.address)
    if old is not None and old.id == step.args["id"]:
        updated = copy.copy(old)
        updated.meta = {**old.meta, "model_deleted": model}
        ctx.record(change.address, updated)
        return updated
    return resource


def _pause_resume(ctx: ApplyContext, change: Change, step: Step, resource: ResourceState | None, *,
                  pause: bool) -> ResourceState | None:
    current = ctx.state.resources.get(change.address)
    if current is None:
        return resource
    status = (current.attributes or {}).get("status")
    if pause and not step.args.get("id") and status != "running":  # just created: not running yet
        ctx.note(change.address, f"will pause once running (now {status})")
        return current
    job = (ctx.client.pause_job if pause else ctx.client.resume_job)(str(current.id))
    updated = copy.copy(current)
    updated.attributes = job
    updated.meta = {**current.meta, "settings": {**current.meta.get("settings", {}),
                                                "status": "paused" if pause else "running"}}
    ctx.record(change.address, updated)
    return updated


def _adopt(ctx: ApplyContext, change: Change, step: Step) -> ResourceState:
    obj = dict(ctx.observed(change.address) or {})
    spec = ctx.resolve(change)
    inputs = J.inputs_from_spec(spec)
    resource = ResourceState(address=change.address, kind=change.kind, id=step.args["id"], inputs=inputs,
                             digest=J.inputs_digest(inputs), attributes=obj, depends_on=list(change.depends_on),
                             meta={"settings": J.settings_from_spec(spec), "adopted": True})
    ctx.record(change.address, resource)
    ctx.remember(change, obj)
    return resource
