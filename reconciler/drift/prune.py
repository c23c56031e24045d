"""`sync --prune`: cancel unmanaged active jobs and revoke grants no spec lists — never by default,
and never for a kind the specs do not mention at all. Each kind says what it prunes."""

from __future__ import annotations

from typing import Any

from reconciler.drift.findings import DriftReport
from reconciler.kinds import registry
from reconciler.plan.model import Change, Op, Plan

__all__ = ["prune_changes"]


def prune_changes(report: DriftReport, plan: Plan, specs: Any, snapshot: Any) -> list[Change]:
    declared = {d.type for d in specs.documents.values()}
    kinds = [k for k in registry.resource_types() if k.name in declared]
    planned_revokes = {(s.args.get("checkpoint"), s.args.get("permission_id"))
                       for c in plan.changes for s in c.steps if s.op is Op.REVOKE}
    changes: list[Change] = []
    for finding in report.active():
        for kind in kinds:
            change = kind.prune(finding, plan, snapshot, planned_revokes)
            if change is not None:
                changes.append(change)
    return changes
