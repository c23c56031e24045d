"""A state knows the spec folder it was applied from (`State.folder`, named by
`ownership.folder_identity`). A plan made from another folder sees every object of the state as
no longer declared: it would destroy, revoke or forget what another folder's specs still want
(`reconciler plan -C examples/x` on the quick start's state). Such a plan is refused, naming both
folders, unless the user moves the state on purpose (`--allow-other-folder`). A plan that only
creates or changes is not: adding to a state from a renamed folder takes nothing away."""

from __future__ import annotations

from reconciler.plan.model import Plan
from reconciler.resources.ownership import folder_name, same_folder

__all__ = ["FOLDER_FLAG", "folder_refusal", "taken_away"]

FOLDER_FLAG = "--allow-other-folder"


def taken_away(plan: Plan) -> str:
    """What `plan` destroys, revokes or forgets, in words ("destroy 2, revoke 2 grants and forget
    2"); "" when nothing."""
    counts = plan.counts()
    parts = []
    if counts["destroy"]:
        parts.append(f"destroy {counts['destroy']}")
    if counts["revoke"]:
        parts.append(f"revoke {counts['revoke']} grant{'s' if counts['revoke'] != 1 else ''}")
    if counts["forget"]:
        parts.append(f"forget {counts['forget']}")
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return parts[0] if parts else ""


def folder_refusal(plan: Plan, *, recorded: str | None, current: str | None, where: str) -> str | None:
    """The one line that refuses a plan made from `current` against a state last applied from
    `recorded` when it takes anything away; None when the folders agree, either is unknown (a
    state written before states recorded it), or the plan takes nothing away."""
    if recorded is None or current is None or same_folder(recorded, current):
        return None
    what = taken_away(plan)
    if not what:
        return None
    return (f"{where} belongs to spec folder {folder_name(recorded)}, but this plan is made from "
            f"{folder_name(current)} and would {what} of its objects: give this folder a workspace "
            f"of its own (-w NAME), or, to move the state to {folder_name(current)} on purpose, run "
            f"with {FOLDER_FLAG}")
