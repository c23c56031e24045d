"""A lost or replaced state, told apart from a second workspace on purpose.

Every job carries its workspace's lineage mark, its workspace's name and its spec folder
(reconciler/resources/ownership.py), and a state never adopts another lineage's jobs. When a state
is lost (deleted, a fresh clone, a CI runner without the artifact) or replaced by another lineage's
(`state push --force`, a migration or a restore of the wrong file, a hand-made state), its plan
would create — pay for — jobs again while the jobs of the old state still exist under the same
addresses. The plan shows each such create (`Change.elsewhere`); apply refuses the ones whose job
is marked with this very workspace and folder, under another lineage, unless the user says a
second copy is meant (`--allow-other-workspaces`). Another workspace of the folder (`-w staging`
beside `-w prod`) and another folder that reuses an address are named on the create and not
refused. A job marked by an older reconciler names only its lineage: it counts as this workspace's
unless `workspace_of` knows the lineage as another workspace's state, and is refused in a new state
only (what older versions did)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from reconciler.kinds.base import KindTable
from reconciler.plan.model import Action, Change, Elsewhere, Plan
from reconciler.resources.ownership import same_folder
from reconciler.state.model import Owner

__all__ = ["ALLOW_FLAG", "collision_refusal", "held_here", "name_lineages"]

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


def held_here(other: Elsewhere, owner: Owner | None, *, fresh: bool,
              workspace_of: Callable[[str], str | None] | None = None) -> bool:
    """Whether `other` is a job of the workspace and folder this run acts as, made under another
    lineage: creating the address again would pay twice for one workspace's job."""
    if other.name is not None and owner is not None:
        # a name found for a lineage-only mark comes without a folder: it may be this one
        return other.name == owner.workspace and (other.folder is None or same_folder(other.folder, owner.folder))
    sibling = workspace_of(other.workspace) if workspace_of is not None else None
    if sibling is not None and owner is not None and sibling != owner.workspace:
        return False  # a lineage-only mark of another workspace's state beside this one
    return fresh


def name_lineages(plan: Plan, workspace_of: Callable[[str], str | None]) -> Plan:
    """`plan` with the workspace's name on each job marked with a lineage only (an older
    reconciler's) whose lineage a workspace's state has: the plan names `staging`, not `081feefa`.
    `workspace_of` is asked only when such a job is there."""
    def named(other: Elsewhere) -> Elsewhere:
        name = workspace_of(other.workspace) if other.name is None else None
        return dataclasses.replace(other, name=name) if name is not None else other

    if not any(e.name is None for c in plan.changes for e in c.elsewhere):
        return plan
    changes = tuple(dataclasses.replace(c, elsewhere=tuple(named(e) for e in c.elsewhere)) if c.elsewhere else c
                    for c in plan.changes)
    return dataclasses.replace(plan, changes=changes)


def collision_refusal(plan: Plan, *, kinds: KindTable, owner: Owner | None, fresh: bool, where: str,
                      workspace_of: Callable[[str], str | None] | None = None) -> str | None:
    """The one line that refuses `plan` when a job it creates already exists, live, marked with
    this workspace and folder under another lineage (`fresh`: the state records nothing yet); None
    when nothing needs refusing. `workspace_of` names the workspace whose state has a lineage."""
    if plan.destroy:
        return None
    first: dict[str, tuple[Change, Elsewhere]] = {}  # one job named per address
    for c in plan.changes:
        if c.action is Action.CREATE and kinds.by_type(c.kind).job:
            for e in c.elsewhere:
                if held_here(e, owner, fresh=fresh, workspace_of=workspace_of):
                    first.setdefault(c.address, (c, e))
    held = list(first.values())
    if not held:
        return None
    names = sorted({e.name if e.name is not None else e.workspace[:8] for _, e in held})
    lineages = sorted({e.workspace[:8] for _, e in held})
    named = ", ".join(f"{c.address}: {e.id}" for c, e in held[:_SHOWN])
    more = f", and {len(held) - _SHOWN} more" if len(held) > _SHOWN else ""
    n = len(held)
    jobs = f"{n} job{'s' if n != 1 else ''} at {'these addresses' if n != 1 else 'this address'}"
    commands = "; ".join(f"`{command}`" for command in imports(*held[0]))
    each = ", and likewise for each" if n > 1 else ""
    backup = "" if where.startswith("pg:") else f"{where}.backup, "
    made = f"made under lineage{'s' if len(lineages) > 1 else ''} {', '.join(lineages)}"
    if fresh:
        head = f"{where} is new, but workspace {', '.join(names)} already has {jobs} ({named}{more}; {made})"
        lost = "if the state was lost, restore it"
    else:
        head = (f"{where} (lineage {plan.lineage[:8]}) does not manage them, but workspace {', '.join(names)} "
                f"already has {jobs} ({named}{more}; {made}: a state pushed, migrated or restored over "
                f"the one that made them?)")
        lost = "restore the state that made them"
    return (f"{head}: {lost} ({backup}`reconciler state push`, or the pg history) or import the jobs and "
            f"their files ({commands}{each}); to create a second copy on purpose, apply with {ALLOW_FLAG}")
