"""Applying a CheckpointPermission change: grants in one POST, one DELETE per revoke.

A grant that waited for its checkpoint (PENDING: the model of a job still training) resolves the
spec once the job finished — the executor waits with --wait — and computes its grants and
revokes then, with the same pure function planning uses (grants.py), against the grants the
API reports at that moment."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.errors import ConnectionFailedError, NotFoundError, StalePlanError
from reconciler.kinds.base import ApplyContext, Kind
from reconciler.kinds.permission.grants import KIND, grant_steps, move_steps
from reconciler.plan.model import Action, Change, Op, Step
from reconciler.state import ResourceState
from reconciler.values import UNKNOWN

__all__ = ["apply_permission", "revoke"]


def _grants_by_project(ctx: ApplyContext, checkpoint: str) -> dict[str, dict[str, Any]]:
    return {p["project_id"]: p for p in ctx.client.list_permissions(checkpoint)}


def _steps_now(ctx: ApplyContext, change: Change,
               spec: dict[str, Any]) -> tuple[tuple[Step, ...], dict[str, dict[str, Any]]]:
    """The steps of a change planned before its checkpoint was known, computed now, and the grants
    the checkpoint has now (read once: the steps and the grants that follow use the same read)."""
    checkpoint = spec["fine_tuned_model_checkpoint"]
    wanted = list(dict.fromkeys(spec.get("project_ids") or []))
    exclusive = bool(spec.get("exclusive", False))
    rs = ctx.state.resources.get(change.address)
    steps: list[Step] = []
    managed_before: set[str] = set()
    if rs is not None and rs.id and rs.id != checkpoint:
        steps += move_steps(rs.id, set((rs.inputs or {}).get("project_ids") or []),
                            _grants_by_project(ctx, rs.id))
    elif rs is not None:
        managed_before = set((rs.inputs or {}).get("project_ids") or [])
    live = _grants_by_project(ctx, checkpoint)
    more, _, _ = grant_steps(checkpoint, wanted, exclusive, live, managed_before)
    return (*steps, *more), live


def apply_permission(ctx: ApplyContext, change: Change) -> str | None:
    if change.action not in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.PENDING, Action.ADOPT):
        return _revoke_and_forget(ctx, change)
    steps = change.steps
    checkpoint = (change.after or {}).get("fine_tuned_model_checkpoint")
    after = dict(change.after or {})
    observed = ctx.observed(change.address) or {}
    if change.action is Action.PENDING or checkpoint is UNKNOWN or checkpoint is None:
        spec = ctx.resolve_or_wait(change)
        steps, live = _steps_now(ctx, change, spec)
        steps = _shown_revokes_only(change, steps)
        checkpoint = spec["fine_tuned_model_checkpoint"]
    elif observed.get("fine_tuned_model_checkpoint") != checkpoint:
        live = _grants_by_project(ctx, checkpoint)
    else:
        live = {p["project_id"]: p for p in observed.get("permissions") or []}
    for step in steps:
        if step.op is Op.GRANT:
            missing = [p for p in step.args["project_ids"] if p not in live]
            if missing:
                for grant in _grant(ctx, checkpoint, missing):
                    live[grant["project_id"]] = grant
        elif step.op is Op.REVOKE:
            revoke(ctx, change.address, step)
            if step.args["checkpoint"] == checkpoint:
                live.pop(step.args["project_id"], None)
    resource = ResourceState(address=change.address, kind=change.kind, id=checkpoint,
                             inputs={"fine_tuned_model_checkpoint": checkpoint,
                                     "project_ids": list(after.get("project_ids") or []),
                                     "exclusive": bool(after.get("exclusive"))},
                             attributes={"fine_tuned_model_checkpoint": checkpoint,
                                         "permissions": sorted(live.values(), key=lambda p: p["project_id"])},
                             depends_on=list(change.depends_on))
    ctx.record(change.address, resource)
    return str(checkpoint)


def _shown_revokes_only(change: Change, steps: tuple[Step, ...]) -> tuple[Step, ...]:
    """The steps computed at apply, if the plan showed every revoke among them. Otherwise (a plan
    made before it could know of them, a grant made by hand on the new checkpoint) nothing is done
    and the state keeps what it had: the next plan, with the checkpoint known, shows them."""
    shown = {(s.args.get("checkpoint"), s.args.get("project_id")) for s in change.steps if s.op is Op.REVOKE}
    unseen = [f"{s.args['project_id']} from {s.args['checkpoint']}" for s in steps
              if s.op is Op.REVOKE and (s.args["checkpoint"], s.args["project_id"]) not in shown]
    if unseen:
        raise StalePlanError(f"would revoke {', '.join(unseen)}, which the plan did not show; nothing was "
                             "changed: run plan again to see it")
    return steps


def _revoke_and_forget(ctx: ApplyContext, change: Change) -> str | None:
    """A destroy (or a prune of a grant no spec lists): revoke each grant, then leave state."""
    for step in change.steps:
        if step.op is Op.REVOKE:
            revoke(ctx, change.address, step)
        elif step.op is Op.FORGET:
            Kind.forget(ctx, change, step)
        else:  # pragma: no cover - the planner makes no other step here
            raise AssertionError(f"{change.address}: a destroyed permission set has no step {step.op.value}")
    return None


def _grant(ctx: ApplyContext, checkpoint: str, projects: list[str]) -> list[dict[str, Any]]:
    try:
        return list(ctx.client.create_permissions(checkpoint, projects))
    except ConnectionFailedError:
        # The grant may have landed: read back, then grant only what is still missing.
        live = _grants_by_project(ctx, checkpoint)
        still = [p for p in projects if p not in live]
        granted = [live[p] for p in projects if p in live]
        return granted + (list(ctx.client.create_permissions(checkpoint, still)) if still else [])


def revoke(ctx: ApplyContext, address: str, step: Step) -> None:
    """One DELETE; a grant already gone is fine. The recorded grants of any other managed
    permission set on the same checkpoint are kept true, so the next plan reports no drift."""
    checkpoint, permission_id = step.args["checkpoint"], step.args["permission_id"]
    ctx.announce(address, f"revoking {step.args.get('project_id')} from {checkpoint} [{permission_id}]")
    try:
        ctx.client.delete_permission(checkpoint, permission_id)
    except NotFoundError:
        pass
    with ctx.lock:
        for other in list(ctx.state.resources.values()):
            if other.kind != KIND or other.id != checkpoint or other.address == address:
                continue
            # What this run read of it (a grant made by hand since the last run is there, not yet in
            # the state): recorded now without the revoked grant. Left untouched, the end of the
            # apply would record that read as it was, and the next drift would report the grant
            # `sync --prune` just revoked as "removed outside reconciler".
            observed = ctx.observed(other.address) or {}
            base = observed if observed.get("fine_tuned_model_checkpoint") == checkpoint else other.attributes or {}
            grants = base.get("permissions") or []
            if any(g.get("id") == permission_id for g in grants):
                updated = copy.copy(other)
                updated.attributes = {**(other.attributes or {}), **base,
                                      "permissions": [g for g in grants if g.get("id") != permission_id]}
                ctx.record(other.address, updated)
