"""Which grants and revokes make a checkpoint's permissions match a spec: one pure function that
planning uses, and that apply uses again for a grant whose checkpoint became known only after the
plan (a job that finished during `apply --wait`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kinds.names import PERMISSION
from reconciler.plan.model import AttrChange, Op, Step

__all__ = ["KIND", "LATER", "grant_steps", "move_steps"]

KIND = PERMISSION

# The end of a revoke's detail when the plan shows it before it can happen: a grant that follows a
# job's model moves when the grant moves to a new checkpoint, and its grants on the old model are revoked then.
LATER = " when the grant moves to a new checkpoint"


def grant_steps(checkpoint: str, wanted: list[str], exclusive: bool, live: Mapping[str, dict[str, Any]],
                managed_before: set[str]) -> tuple[list[Step], list[AttrChange], list[str]]:
    """(steps, attribute changes, reasons) that grant the missing projects of `wanted` and revoke
    the extra grants: every unlisted one with `exclusive`, else only those reconciler made
    (`managed_before`) that the spec no longer lists. `live` maps project id -> grant."""
    steps: list[Step] = []
    attrs: list[AttrChange] = []
    reasons: list[str] = []
    grants = [p for p in wanted if p not in live]
    if exclusive:
        revokes = sorted(set(live) - set(wanted))
    else:
        revokes = sorted((managed_before - set(wanted)) & set(live))
    if grants:
        steps.append(Step(Op.GRANT, f"grant {', '.join(grants)}", {"checkpoint": checkpoint, "project_ids": grants}))
        attrs.extend(AttrChange(f"grant[{p}]", None, p) for p in grants)
        reasons.append(f"grant {len(grants)} project(s)")
    for project in revokes:
        why = "not listed and exclusive is true" if exclusive else "no longer listed"
        steps.append(Step(Op.REVOKE, f"revoke {project} ({why})",
                          {"checkpoint": checkpoint, "permission_id": live[project]["id"], "project_id": project}))
        attrs.append(AttrChange(f"grant[{project}]", project, None))
    if revokes:
        reasons.append(f"revoke {len(revokes)} grant(s)")
    return steps, attrs, reasons


def move_steps(old_checkpoint: str, ours: set[str], old_live: Mapping[str, dict[str, Any]],
               later: bool = False) -> list[Step]:
    """The checkpoint itself changed (a new training run): revoke, on the old checkpoint, the grants
    reconciler made there (`later`: said by a plan before the new checkpoint is known)."""
    return [Step(Op.REVOKE, f"revoke {project} from {old_checkpoint}{LATER}" if later else
                 f"revoke {project} on {old_checkpoint}",
                 {"checkpoint": old_checkpoint, "permission_id": old_live[project]["id"], "project_id": project})
            for project in sorted(ours & set(old_live))]
