"""Build a Plan: a pure function of (specs, state, what the API reported, options).

Documents are walked in dependency order; each one's references are resolved against what the
documents before it will look like after apply, so a value that only exists later (the id of a
file not uploaded yet, the model of a job still training) is UNKNOWN, shown as
`(known after apply)`, and a permission that needs it waits as pending with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import PlanError
from reconciler.plan.data_sources import plan_data
from reconciler.plan.files import plan_file, plan_file_destroy
from reconciler.plan.jobs import plan_job, plan_job_destroy
from reconciler.plan.model import Change, Plan
from reconciler.plan.observed import Observed, Reader, refresh
from reconciler.plan.permissions import plan_permission, plan_permission_destroy
from reconciler.plan.walk import Walk

__all__ = ["PlanOptions", "build_plan", "plan_from_observed"]


@dataclass(frozen=True)
class PlanOptions:
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    refresh: bool = True
    refresh_only: bool = False
    destroy: bool = False
    parallelism: int = 10
    now: float | None = None


@dataclass
class WorkingState:
    """The state as the plan sees it: moved blocks applied, import blocks adopted."""

    lineage: str
    serial: int
    resources: dict[str, Any]
    moves: list[tuple[str, str]] = field(default_factory=list)
    imports: dict[str, str] = field(default_factory=dict)


def _closure(targets: Iterable[str], documents: dict[str, Any], state: Any) -> set[str]:
    wanted: set[str] = set()
    todo = list(targets)
    while todo:
        address = todo.pop()
        if address in wanted:
            continue
        wanted.add(address)
        doc = documents.get(address)
        deps = doc.depends_on if doc is not None else getattr(state.resources.get(address), "depends_on", [])
        todo.extend(deps or [])
    return wanted


def _working_state(specs: Any, state: Any) -> WorkingState:
    resources = dict(state.resources)
    work = WorkingState(state.lineage, state.serial, resources)
    for block in getattr(specs, "moved", ()):
        if block.from_ in resources and block.to not in resources:
            moved = resources.pop(block.from_)
            resources[block.to] = _renamed(moved, block.to)
            work.moves.append((block.from_, block.to))
    for block in getattr(specs, "imports", ()):
        if block.to not in resources:
            work.imports[block.to] = block.id
    return work


def _renamed(resource: Any, address: str) -> Any:
    import dataclasses

    return dataclasses.replace(resource, address=address)


def _needs(specs: Any, state: WorkingState) -> tuple[bool, bool, dict[str, Any]]:
    kinds = {d.type for d in specs.documents.values()} | {d.kind for d in specs.documents.values()}
    kinds |= {r.kind for r in state.resources.values()}
    need_jobs = bool(kinds & {"FineTuningJob", "data.FineTuningJob", "data.FineTuningJobs"}) or \
        any(a.startswith(("FineTuningJob.", "LegacyFineTune.")) for a in state.imports)
    need_files = "File" in kinds or any(a.startswith("File.") for a in state.imports)
    # checkpoint -> the grants the state recorded on it (a refresh that reads the same grants back
    # keeps the recorded objects instead of a second, equal copy)
    checkpoints = {r.id: (r.attributes or {}).get("permissions") for r in state.resources.values()
                   if r.kind == "CheckpointPermission" and r.id}
    return need_jobs, need_files, checkpoints


def build_plan(specs: Any, state: Any, reader: Reader | None, options: PlanOptions = PlanOptions(), *,
               content_digest: Callable[[str], str | None] | None = None,
               clock: Callable[[], float] = time.time) -> Plan:
    """Refresh (unless options.refresh is false), then diff."""
    return refresh_and_plan(specs, state, reader, options, content_digest=content_digest, clock=clock)[0]


def refresh_and_plan(specs: Any, state: Any, reader: Reader | None, options: PlanOptions = PlanOptions(), *,
                     content_digest: Callable[[str], str | None] | None = None,
                     clock: Callable[[], float] = time.time) -> tuple[Plan, Observed | None]:
    """The plan and the bulk reads it was made from (drift reports look for unmanaged objects there)."""
    work = _working_state(specs, state)
    observed: Observed | None = None
    if options.refresh and reader is not None:
        need_jobs, need_files, checkpoints = _needs(specs, work)
        observed = refresh(reader, need_jobs=need_jobs, need_files=need_files, checkpoints=checkpoints,
                           parallelism=options.parallelism, clock=clock)
        check_listing_sanity(work, observed)
    plan = plan_from_observed(specs, state, observed, options, reader=reader, content_digest=content_digest,
                              work=work, clock=clock)
    return plan, observed


def check_listing_sanity(work: Any, observed: Observed) -> None:
    """A listing that is suddenly empty is an alert, never "everything was deleted": a wrong key,
    project or base URL looks exactly like that, and acting on it would re-create (and pay for)
    every job."""
    for kind, listed, noun in (("FineTuningJob", observed.jobs, "fine-tuning jobs"),
                               ("File", observed.files, "files")):
        # an object a killed run was deleting (a write-ahead mark) may rightly be gone: not evidence
        managed = [r.id for r in work.resources.values() if r.kind == kind and r.id
                   and not (r.meta or {}).get("deleting")]
        if listed is None or not managed:
            continue
        visible = sum(1 for object_id in managed if object_id in listed)
        if visible == 0 and (not listed or len(managed) >= 3):
            what = "listed no " + noun + " at all" if not listed else f"shows none of the {len(managed)} managed {noun}"
            raise PlanError(f"refusing to plan: the API {what} while the state manages {len(managed)}. "
                            "This usually means a wrong key, project or base URL rather than deletion; nothing "
                            "was changed. If they really are gone, remove them with `reconciler state rm`.")


def _adopt_imports(work: WorkingState, observed: Observed | None, reader: Reader | None, specs: Any) -> list[str]:
    from reconciler.plan.imports import imported_resource, kind_of, read_for_import

    for address, object_id in work.imports.items():
        kind = kind_of(address, specs.documents)
        attributes = read_for_import(kind, address, object_id, reader, observed)
        doc = specs.documents.get(address)
        work.resources[address] = imported_resource(kind, address, object_id, attributes,
                                                    list(doc.depends_on) if doc else [])
    return list(work.imports)


def plan_from_observed(specs: Any, state: Any, observed: Observed | None, options: PlanOptions = PlanOptions(),
                       *, reader: Reader | None = None, content_digest: Callable[[str], str | None] | None = None,
                       work: WorkingState | None = None, clock: Callable[[], float] = time.time) -> Plan:
    work = work or _working_state(specs, state)
    documents = dict(specs.documents)
    for address in (*options.targets, *options.replace):
        if address not in documents and address not in work.resources:
            raise PlanError(f"{address} is neither declared in the specs nor in the state")
    imported = _adopt_imports(work, observed, reader, specs)
    now = options.now if options.now is not None else (
        observed.server_time if observed is not None and observed.server_time else clock())
    walk = Walk(state=work, observed=observed, now=now, replace=frozenset(options.replace), reader=reader)
    if observed is not None and not options.destroy:
        observed.prefetch_permissions(_predicted_checkpoints(documents, work, observed))
    scope = _closure(options.targets, documents, work) if options.targets else None
    changes: list[Change] = []

    if not options.destroy:
        from reconciler.config.refs import resolve

        for address, doc in documents.items():
            if scope is not None and address not in scope:
                continue
            resolver = walk.resolver()
            spec = resolve(doc.spec, resolver)
            if doc.type == "FineTuningJob":
                change = plan_job(doc, spec, walk, resolver.reasons)
            elif doc.type == "File":
                change = plan_file(doc, spec, walk, content_digest)
            elif doc.type == "CheckpointPermission":
                change = plan_permission(doc, spec, walk, resolver.reasons)
            elif doc.type.startswith("data."):
                change = plan_data(doc, spec, walk, resolver.reasons)
            else:  # pragma: no cover - the loader only lets known kinds through
                raise PlanError(f"{address}: unknown kind {doc.type}")
            if address in imported:
                change = _with_reason(change, f"imported {work.imports[address]} (import block)")
            changes.append(change)

    declared = set() if options.destroy else set(documents)
    orphans = [a for a in work.resources if a not in declared and (scope is None or a in scope)]
    for address in _reverse_dependency_order(orphans, work.resources):
        resource = work.resources[address]
        doc = documents.get(address)
        prevent = bool(doc and doc.lifecycle.prevent_destroy)
        if resource.kind == "FineTuningJob":
            changes.append(plan_job_destroy(address, resource, walk, prevent_destroy=prevent))
        elif resource.kind == "File":
            changes.append(plan_file_destroy(address, resource, walk, prevent_destroy=prevent))
        elif resource.kind == "CheckpointPermission":
            changes.append(plan_permission_destroy(address, resource, walk, prevent_destroy=prevent))

    if options.refresh_only:
        changes = []
    return Plan(lineage=state.lineage, serial=state.serial, changes=tuple(changes), drift=tuple(walk.drift),
                health=tuple(walk.health), warnings=tuple(walk.warnings), refresh_only=options.refresh_only,
                destroy=options.destroy, targets=tuple(options.targets), created_at=clock(),
                refreshed=observed is not None, observed=dict(walk.live),
                moves=tuple(work.moves), imports=dict(work.imports))


def _predicted_checkpoints(documents: dict[str, Any], work: WorkingState, observed: Observed) -> set[str]:
    """Checkpoints that permission documents will name, resolved against what the API reports now,
    so their grants are listed in parallel up front instead of one at a time during the walk (the
    first plan after jobs finish would otherwise make N sequential reads). A guess only: the walk
    still resolves every reference itself and reads anything this missed."""
    from reconciler.config.refs import resolve
    from reconciler.values import UNKNOWN

    def lookup(ref: Any) -> Any:
        resource = work.resources.get(ref.address)
        live = observed.job(resource.id) if resource is not None and resource.id else None
        value: Any = live
        for part in ref.path:
            value = value.get(part) if isinstance(value, dict) else None
        return UNKNOWN if value is None else value

    found: set[str] = set()
    for doc in documents.values():
        if doc.type != "CheckpointPermission" or doc.address in work.resources:
            continue
        checkpoint = resolve(doc.spec.get("fine_tuned_model_checkpoint"), lookup)
        if isinstance(checkpoint, str) and checkpoint:
            found.add(checkpoint)
    return found


def _with_reason(change: Change, reason: str) -> Change:
    import dataclasses

    return dataclasses.replace(change, reasons=(reason, *change.reasons))


def _reverse_dependency_order(addresses: list[str], resources: dict[str, Any]) -> list[str]:
    """Dependents before what they depend on (revoke before cancelling the job they came from)."""
    chosen = set(addresses)
    order: list[str] = []
    seen: set[str] = set()

    def visit(address: str) -> None:
        if address in seen:
            return
        seen.add(address)
        for dep in getattr(resources.get(address), "depends_on", []) or []:
            if dep in chosen:
                visit(dep)
        order.append(address)

    for address in sorted(addresses):
        visit(address)
    return list(reversed(order))
