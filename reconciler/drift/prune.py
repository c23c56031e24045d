"""`sync --prune`: cancel unmanaged active jobs and revoke grants no spec lists — never by default,
and never for a kind the specs do not mention at all."""

from __future__ import annotations

from typing import Any

from reconciler.drift.findings import DriftReport
from reconciler.plan.model import Action, Change, Op, Plan, Step

__all__ = ["destructive_count", "prune_changes"]


def prune_changes(report: DriftReport, plan: Plan, specs: Any, observed: Any) -> list[Change]:
    kinds = {d.type for d in specs.documents.values()}
    changes: list[Change] = []
    planned_revokes = {(s.args.get("checkpoint"), s.args.get("permission_id"))
                       for c in plan.changes for s in c.steps if s.op is Op.REVOKE}
    for f in report.active():
        if f.category == "unmanaged_job" and "FineTuningJob" in kinds and f.after in (
                "validating_files", "queued", "running", "paused"):
            job_id = f.address.rsplit(".", 1)[1]
            changes.append(Change(address=f.address, kind="FineTuningJob", action=Action.DELETE,
                                  reasons=("--prune: active job not declared in any spec",),
                                  steps=(Step(Op.CANCEL_JOB, f"cancel {job_id} (unmanaged)", {"id": job_id}),),
                                  prior_id=job_id))
        elif f.category == "unmanaged_grant" and "CheckpointPermission" in kinds:
            change = plan.change_for(f.address)
            checkpoint = (change.after or {}).get("fine_tuned_model_checkpoint") if change else None
            grant = next((g for g in (observed.permissions.get(checkpoint, []) if observed else [])
                          if g["project_id"] == f.after), None)
            if grant is None or (checkpoint, grant["id"]) in planned_revokes:
                continue
            changes.append(Change(address=f"unmanaged.grant.{checkpoint}/{f.after}", kind="CheckpointPermission",
                                  action=Action.DELETE, reasons=("--prune: grant not listed in any spec",),
                                  steps=(Step(Op.REVOKE, f"revoke {f.after} on {checkpoint} (unlisted)",
                                              {"checkpoint": checkpoint, "permission_id": grant["id"],
                                               "project_id": f.after}),),
                                  prior_id=grant["id"]))
    return changes


def destructive_count(plan: Plan) -> int:
    """Cancels and revokes the plan would make (what --max-deletes bounds)."""
    return sum(1 for c in plan.changes for s in c.steps if s.op in (Op.CANCEL_JOB, Op.REVOKE))
