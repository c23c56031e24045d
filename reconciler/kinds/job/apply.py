"""Applying a FineTuningJob change: create (never twice), cancel, pause, resume, adopt, forget.

A job is created with its address and input digest in `metadata` and an `Idempotency-Key`
derived from (lineage, serial, address, digest): a retry, or a re-run after a crash, cannot make
a second job; a connection lost during the create is followed by a lookup by metadata."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.errors import ApiError, ConnectionFailedError, NotFoundError
from reconciler.kinds.base import ApplyContext, Kind
from reconciler.kinds.job import inputs as J
from reconciler.plan.model import Change, Op, Step
from reconciler.state import ResourceState

__all__ = ["apply_job"]


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
    body = J.create_body(spec, change.address, digest)
    key = ctx.key(change.address, digest, "create_job")
    try:
        job = ctx.client.create_job(body, idempotency_key=key)
    except ConnectionFailedError:
        # The POST may have reached the API: look before anyone creates a second job.
        found = _find_created(ctx, change.address, digest)
        if found is None:
            raise
        job = found
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


def _find_created(ctx: ApplyContext, address: str, digest: str) -> dict[str, Any] | None:
    for job in ctx.client.list_jobs(metadata={J.TAG_ADDRESS: address}):
        if (job.get("metadata") or {}).get(J.TAG_DIGEST) == digest and job.get("status") != "cancelled":
            return dict(job)
    return None


def _cancel(ctx: ApplyContext, change: Change, step: Step, resource: ResourceState | None) -> ResourceState | None:
    job_id = step.args["id"]
    job: dict[str, Any] | None
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
