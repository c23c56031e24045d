"""The planner: `plan(specs, state, snapshot, options) -> Plan`, a pure function — it reads only its
arguments (the API as an immutable snapshot), writes nothing, and calls no one.

Documents are walked in dependency order; each one's references are resolved against what the
documents before it will look like after apply, so a value that only exists later (the id of a
file not uploaded yet, the model of a job still training) is UNKNOWN, shown as
`(known after apply)`, and a permission that needs it waits as pending with the reason. Each
document is planned by its kind, asked of the table of kinds the options carry (`PlanOptions.kinds`:
kinds/registry.py in the CLI).

When a kind needs a read the snapshot does not hold, the planner finishes the walk and returns
`Incomplete(missing)` instead of a plan; refresh (planner/refresh.py) reads those and plans again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from reconciler.addresses import expand_bases, kind_of
from reconciler.config.documents import Document, SpecSet
from reconciler.config.providers import declared_profile, document_platforms, platform_of, recorded_profile
from reconciler.config.refs import resolve
from reconciler.errors import NotFoundError, PlanError
from reconciler.kinds.base import KindTable
from reconciler.plan.model import Action, Change, Plan
from reconciler.plan.snapshot import MissingRead, Read, Snapshot
from reconciler.plan.walk import Walk, WorkingState
from reconciler.planner.conditions import apply_conditions
from reconciler.resolver import condensed
from reconciler.state import ResourceState, State

__all__ = ["Incomplete", "PlanOptions", "check_importable", "kind_name", "plan",
           "working_state"]


@dataclass(frozen=True)
class PlanOptions:
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    refresh: bool = True
    refresh_only: bool = False
    destroy: bool = False
    parallelism: int = 10
    now: float | None = None
    kinds: KindTable = field(kw_only=True)  # the table of kinds the planner asks (kinds/registry.py)


@dataclass(frozen=True)
class Incomplete:
    """The snapshot lacked these reads; nothing else is decided."""

    missing: frozenset[Read]


def working_state(specs: SpecSet, state: State | WorkingState) -> WorkingState:
    """The state as the plan sees it: moved blocks applied, import blocks noted."""
    resources = dict(state.resources)
    work = WorkingState(state.lineage, state.serial, resources)
    for block in specs.moved:
        if block.from_ in resources and block.to not in resources:
            moved = resources.pop(block.from_)
            resources[block.to] = dataclasses.replace(moved, address=block.to)
            work.moves.append((block.from_, block.to))
    for imported in specs.imports:
        if imported.to not in resources:
            work.imports[imported.to] = imported.id
    return work


def check_importable(address: str, kind_name: str, kinds: KindTable) -> None:
    names = [k.name for k in kinds.all_kinds() if k.importable and k.name == k.type]
    if kind_name not in names:
        raise PlanError(f"cannot import {address}: {kind_name} objects cannot be imported "
                        f"(only {', '.join(names[:-1])} and {names[-1]})")


def kind_name(address: str, documents: Mapping[str, Document], kinds: KindTable) -> str:
    """The resource type an address has: its document's, else the one its address spells."""
    doc = documents.get(address)
    if doc is not None:
        return doc.type
    kind = kinds.kind_of_address(address)
    return kind.type if kind is not None else address.split(".", 1)[0]


def _closure(targets: Iterable[str], documents: Mapping[str, Document], work: WorkingState) -> set[str]:
    wanted: set[str] = set()
    todo = list(targets)
    while todo:
        address = todo.pop()
        if address in wanted:
            continue
        wanted.add(address)
        doc = documents.get(address)
        resource = work.resources.get(address)
        deps = doc.depends_on if doc is not None else (resource.depends_on if resource is not None else [])
        todo.extend(deps or [])
    return wanted


def plan(specs: SpecSet, state: State, snapshot: Snapshot, options: PlanOptions, *,
         clock: Callable[[], float] = time.time) -> Plan | Incomplete:
    """Diff the specs against the state and the snapshot. `clock` only stamps the plan (and is the
    time of last resort when neither options nor the snapshot say what time it is)."""
    kinds = options.kinds
    work = working_state(specs, state)
    documents = dict(specs.documents)
    known = [*documents, *work.resources]
    # `Kind.name` of a for_each / matrix document stands for all its instances
    options = dataclasses.replace(options, targets=tuple(expand_bases(options.targets, known)),
                                  replace=tuple(expand_bases(options.replace, known)))
    for address in (*options.targets, *options.replace):
        if address not in documents and address not in work.resources:
            hint = _did_you_mean(address, [*documents, *work.resources])
            raise PlanError(f"{address} is neither declared in the specs nor in the state{hint}")
    now = options.now if options.now is not None else (snapshot.server_time or clock())
    moved = _provider_moves(documents, work)  # another provider profile: a replace
    lifecycle = specs.settings.lifecycle
    walk = Walk(state=work, snapshot=snapshot, now=now, replace=frozenset(options.replace) | frozenset(moved),
                end_dates=lifecycle.dates(), warn_days=lifecycle.warn_days, uploads=specs.settings.uploads,
                platforms=document_platforms(specs, state),
                platform_moves=_platform_moves(specs, work, moved))
    missing: set[Read] = set()
    errors: list[PlanError] = []

    for address, object_id in work.imports.items():
        name = kind_name(address, documents, kinds)
        check_importable(address, name, kinds)
        try:
            attributes = kinds.get(name).read_for_import(address, object_id, walk.reads)
        except MissingRead as need:
            missing.add(need.read)
            continue
        except NotFoundError:
            raise PlanError(f"cannot import {address}: {object_id} does not exist") from None
        doc = documents.get(address)
        work.resources[address] = kinds.imported_resource(address, name, object_id, attributes,
                                                    doc.depends_on if doc else ())
    if missing:
        return Incomplete(frozenset(missing))

    scope = _closure(options.targets, documents, work) if options.targets else None
    changes: list[Change] = []
    holds: dict[str, str] = {}  # held back by a lifecycle condition: address -> why (planner/conditions.py)
    if not options.destroy:
        for address, doc in documents.items():
            if scope is not None and address not in scope:
                continue
            resolver = walk.resolver()
            spec = resolve(doc.spec, resolver)
            try:
                change = kinds.get(doc.kind).plan(doc, spec, walk, condensed(resolver.reasons))
                if doc.lifecycle.preconditions or doc.lifecycle.postconditions or holds:
                    change = apply_conditions(doc, spec, change, walk, holds)
            except MissingRead as need:
                # Finish the walk to learn every read this round lacks; the next round has them.
                missing.add(need.read)
                missing.update(need.more)
                walk.planned.pop(address, None)
                continue
            except PlanError as error:
                errors.append(error)
                continue
            if address in moved:
                change = _provider_reason(change, moved[address], requested=address in options.replace)
            if address in work.imports:
                change = dataclasses.replace(
                    change, reasons=(f"imported {work.imports[address]} (import block)", *change.reasons))
            changes.append(change)

    declared = set() if options.destroy else set(documents)
    orphans = [a for a in work.resources if a not in declared and (scope is None or a in scope)]
    for address in _reverse_dependency_order(orphans, work.resources):
        resource = work.resources[address]
        doc = documents.get(address)
        try:
            changes.append(kinds.by_type(resource.kind).plan_destroy(
                address, resource, walk, prevent_destroy=bool(doc and doc.lifecycle.prevent_destroy),
                delete_model=bool(doc and doc.lifecycle.delete_model_on_destroy)))
        except MissingRead as need:
            missing.add(need.read)
        except PlanError as error:
            errors.append(error)

    if missing:
        return Incomplete(frozenset(missing))  # an error seen without those reads may not stand
    if errors:
        raise errors[0]
    if options.refresh_only:
        changes = []
    return Plan(lineage=state.lineage, serial=state.serial, changes=tuple(changes), drift=tuple(walk.drift),
                health=tuple(walk.health), warnings=(*snapshot.warnings, *walk.warnings), refresh_only=options.refresh_only,
                destroy=options.destroy, targets=tuple(options.targets), created_at=clock(),
                refreshed=snapshot.refreshed, observed=dict(walk.live),
                moves=tuple(work.moves), imports=dict(work.imports))


def _provider_moves(documents: Mapping[str, Document], work: WorkingState) -> dict[str, str]:
    """address -> "provider changed: a → b" for managed objects whose document now names another
    provider profile than the state recorded (`meta.provider`; none recorded: default). An object
    cannot move between projects: it is made again in the new one."""
    moves = {}
    for address, doc in documents.items():
        resource = work.resources.get(address)
        if resource is None or not resource.id:
            continue
        old = recorded_profile(resource)
        new = declared_profile(doc)
        if old != new:
            moves[address] = f"provider changed: {old} → {new}"
    return moves


def _platform_moves(specs: SpecSet, work: WorkingState, moved: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """address -> (old, new) platform, for the provider moves that also change platform (OpenAI to
    Azure): the old object stays where it is until its platform shuts it down, never destroyed."""
    found = {}
    for address in moved:
        old = platform_of(specs.providers, recorded_profile(work.resources[address]))
        new = platform_of(specs.providers, declared_profile(specs.documents[address]))
        if old != new:
            found[address] = (old, new)
    return found


def _provider_reason(change: Change, reason: str, *, requested: bool) -> Change:
    """The replace's reason names the provider move (the kind saw it as a forced replacement)."""
    if change.action is not Action.REPLACE:
        return change  # a kind that has nothing to move (a grant is the organisation's): unchanged
    forced = "replacement requested with --replace"
    reasons = [r for r in change.reasons if requested or r != forced]
    return dataclasses.replace(change, reasons=(reason, *reasons))


def _did_you_mean(address: str, known: list[str]) -> str:
    """A close address: a similar name of the same kind (compared by name: a shared
    `FineTuningJob.` prefix alone makes every job look alike), else the same name of another kind."""
    import difflib

    kind = kind_of(address)
    name = address[len(kind) + 1:]  # with its instance key, if any (keys may hold dots)
    same_kind = {a[len(kind) + 1:]: a for a in known if kind_of(a) == kind}
    close = difflib.get_close_matches(name, list(same_kind), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {same_kind[close[0]]!r}?)"
    other_kind = [a for a in known if a[len(kind_of(a)) + 1:] == name]  # the name right, the kind wrong
    return f" (did you mean {other_kind[0]!r}?)" if other_kind else ""


def _reverse_dependency_order(addresses: list[str], resources: Mapping[str, ResourceState]) -> list[str]:
    """Dependents before what they depend on (revoke before cancelling the job they came from)."""
    chosen = set(addresses)
    order: list[str] = []
    seen: set[str] = set()

    def visit(address: str) -> None:
        if address in seen:
            return
        seen.add(address)
        resource = resources.get(address)
        for dep in (resource.depends_on if resource is not None else []) or []:
            if dep in chosen:
                visit(dep)
        order.append(address)

    for address in sorted(addresses):
        visit(address)
    return list(reversed(order))
