"""A lost state, told apart from a second workspace on purpose.

Every object carries its workspace's lineage mark and a state never adopts another lineage's
objects. When a state file is lost (deleted, a fresh clone, a CI runner without the artifact), the
next state has a new lineage, and its plan would create — pay for — every job again, while the
jobs of the lost state still exist under the same addresses. The plan shows each such create
(`Change.elsewhere`); apply in a new state (nothing recorded yet) refuses them unless the user
says a second workspace is meant (`--allow-other-workspaces`). A state that already manages
objects was chosen by the user: it only gets the plan annotation.
"""

from __future__ import annotations

import re

from reconciler.kinds.job.inputs import KIND as JOB_KIND
from reconciler.plan.model import Action, Change, Elsewhere, Plan

__all__ = ["ALLOW_FLAG", "lost_state_refusal"]

ALLOW_FLAG = "--allow-other-workspaces"
_SHOWN = 5   # jobs named in the refusal; the rest are counted
_FILE_REF = re.compile(r"^\s*\$\{(File\.[A-Za-z_][A-Za-z0-9_-]*)\.id\}\s*$")


def imports(change: Change, other: Elsewhere) -> list[str]:
    """The `reconciler import` commands that take `other` back into this state: its files first (a
    job imported without the File its spec refers to would be replaced: trained, and paid, again)."""
    commands = []
    for key, file_id in other.files:
        written = (change.config or {}).get(key)
        found = _FILE_REF.match(written) if isinstance(written, str) else None
        if found:
            commands.append(f"reconciler import {found.group(1)} {file_id}")
    return [*commands, f"reconciler import {change.address} {other.id}"]


def lost_state_refusal(plan: Plan, *, fresh: bool, where: str) -> str | None:
    """The one line that refuses `plan` in a new state (`fresh`: no resources recorded) when a job
    it creates already exists, live, in another workspace; None when nothing needs refusing."""
    if not fresh or plan.destroy:
        return None
    held = [(c, e) for c in plan.changes if c.action is Action.CREATE and c.kind == JOB_KIND
            for e in c.elsewhere[:1]]
    if not held:
        return None
    workspaces = sorted({e.workspace[:8] for _, e in held})
    named = ", ".join(f"{c.address}: {e.id}" for c, e in held[:_SHOWN])
    more = f", and {len(held) - _SHOWN} more" if len(held) > _SHOWN else ""
    n = len(held)
    jobs = f"{n} job{'s' if n != 1 else ''} with {'these addresses belong' if n != 1 else 'this address belongs'}"
    commands = "; ".join(f"`{command}`" for command in imports(*held[0]))
    each = ", and likewise for each" if n > 1 else ""
    backup = "" if where.startswith("pg:") else f"{where}.backup, "
    return (f"{where} is new, but {jobs} to workspace{'s' if len(workspaces) > 1 else ''} "
            f"{', '.join(workspaces)} ({named}{more}): if the state was lost, restore it ({backup}"
            f"`reconciler state push`, or the pg history) or import the jobs "
            f"and their files ({commands}{each}); to run a second workspace on purpose, apply with {ALLOW_FLAG}")
