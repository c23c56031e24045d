"""Grants no spec lists on a managed checkpoint: reported as drift, revoked by `sync --prune`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler.kinds.permission.grants import KIND
from reconciler.plan.finding import DRIFT, Finding
from reconciler.plan.model import Action, Change, Op, Plan, Step

__all__ = ["prune", "unmanaged"]


def unmanaged(plan: Plan, snapshot: Any, specs: Any) -> Iterable[Finding]:
    if snapshot is None:
        return
    for change in plan.changes:
        if change.kind != KIND or change.address not in specs.documents:
            continue
        after = change.after or {}
        checkpoint = after.get("fine_tuned_model_checkpoint")
        if not isinstance(checkpoint, str):
            continue
        wanted = set(after.get("project_ids") or [])
        for grant in snapshot.permissions.get(checkpoint, []):
            if grant["project_id"] not in wanted:
                yield Finding(change.address, change.kind, DRIFT, "unmanaged_grant",
                              f"{grant['project_id']} may use {checkpoint} but no spec lists it ({grant['id']})",
                              f"grant[{grant['project_id']}]", after=grant["project_id"])


def prune(finding: Finding, plan: Plan, snapshot: Any, planned_revokes: set[tuple[Any, Any]]) -> Change | None:
    if "unmanaged_grant" not in (finding.merged or (finding.category,)):  # grant_added may stand for it
        return None
    change = plan.change_for(finding.address)
    checkpoint = (change.after or {}).get("fine_tuned_model_checkpoint") if change else None
    grant = next((g for g in (snapshot.permissions.get(checkpoint, []) if snapshot else [])
                  if g["project_id"] == finding.after), None)
    if grant is None or (checkpoint, grant["id"]) in planned_revokes:
        return None
    return Change(address=f"unmanaged.grant.{checkpoint}/{finding.after}", kind=KIND,
                  action=Action.DELETE, reasons=("--prune: grant not listed in any spec",),
                  steps=(Step(Op.REVOKE, f"revoke {finding.after} on {checkpoint} (unlisted)",
                              {"checkpoint": checkpoint, "permission_id": grant["id"], "project_id": finding.after}),),
                  prior_id=grant["id"],
                  # after the owning set's own change: what that records of the checkpoint's grants
                  # comes first, and the revoke then takes this grant out of it (apply.revoke)
                  depends_on=(finding.address,))
