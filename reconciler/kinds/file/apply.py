"""Applying a File change: upload (checked against the planned content), delete, adopt, forget."""

from __future__ import annotations

import copy
from pathlib import Path

from reconciler.errors import NotFoundError, ReconcilerError
from reconciler.kinds.base import ApplyContext, Kind
from reconciler.kinds.file.inputs import sha256_of
from reconciler.plan.model import Action, Change, Op, Step
from reconciler.state import ResourceState

__all__ = ["apply_file"]


def apply_file(ctx: ApplyContext, change: Change) -> str | None:
    object_id: str | None = None
    resource: ResourceState | None = ctx.state.resources.get(change.address)
    for step in change.steps:
        if step.op is Op.UPLOAD:
            resource = _upload(ctx, change, step)
            object_id = resource.id
        elif step.op is Op.DELETE_FILE:
            resource = _delete(ctx, change, step, resource)
        elif step.op is Op.FORGET:
            resource = Kind.forget(ctx, change, step)
        elif step.op is Op.ADOPT:
            obj = dict(ctx.observed(change.address) or {})
            resource = ResourceState(address=change.address, kind=change.kind, id=step.args["id"],
                                     inputs=dict(change.after or {}),
                                     digest=str((change.after or {}).get("sha256", "")), attributes=obj,
                                     depends_on=list(change.depends_on), meta={"adopted": True})
            ctx.record(change.address, resource)
            ctx.remember(change, obj)
            object_id = resource.id
        else:  # pragma: no cover - the planner makes no other step for a file
            raise AssertionError(f"{change.address}: a file has no step {step.op.value}")
    return object_id


def _upload(ctx: ApplyContext, change: Change, step: Step) -> ResourceState:
    after = change.after or {}
    path = Path(step.args["path"])
    sha, _ = sha256_of(path)
    if sha != after.get("sha256"):
        raise ReconcilerError(f"{path} changed since the plan was made (sha256 {sha[:12]}…, "
                              f"planned {str(after.get('sha256'))[:12]}…); plan again")
    obj = ctx.client.upload_file(path, purpose=after.get("purpose") or "fine-tune",
                                 idempotency_key=ctx.key(change.address, sha, "upload"))
    resource = ResourceState(address=change.address, kind=change.kind, id=obj["id"], inputs=dict(after),
                             digest=sha, attributes=obj, depends_on=list(change.depends_on))
    ctx.record(change.address, resource)
    ctx.remember(change, obj)
    return resource


def _delete(ctx: ApplyContext, change: Change, step: Step, resource: ResourceState | None) -> ResourceState | None:
    if change.action is Action.DELETE and resource is not None:
        # Write-ahead: if this run dies after the DELETE but before recording it, the next plan
        # knows the file may be gone by our own hand (see plan.refresh.check_listing_sanity).
        marked = copy.copy(resource)
        marked.meta = {**resource.meta, "deleting": True}
        ctx.record(change.address, marked)
    try:
        ctx.client.delete_file(step.args["id"])
    except NotFoundError:
        pass
    if change.action is Action.DELETE:
        ctx.record(change.address, None)
        return None
    return resource
