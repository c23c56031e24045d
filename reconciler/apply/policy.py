"""Apply policy, in one place for `apply`, `sync` and `destroy`: is a saved plan still current,
does the plan destroy more than allowed, is there anything to do, and then run it.

The CLI parses flags into an `ApplyPolicy`, renders, and asks for confirmation; everything that
decides whether and what to apply is here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.api.protocols import Client
from reconciler.apply.events import ApplyResult, Listener
from reconciler.apply.executor import Executor
from reconciler.config.documents import SpecSet
from reconciler.errors import PlanError, StalePlanError
from reconciler.kinds import registry
from reconciler.plan.model import Action, Plan
from reconciler.planner.elsewhere import collision_refusal
from reconciler.planner.folders import folder_refusal
from reconciler.planner.promise import broken_promise, foreign_id
from reconciler.policy.engine import refusal
from reconciler.policy.overrides import stamp
from reconciler.state import State, StateStore

if TYPE_CHECKING:
    from reconciler.apply.executor import Interruption

__all__ = ["ApplyOutcome", "ApplyPolicy", "Session", "apply_plan", "check_current", "check_plan",
           "destructive_count", "has_work", "keep_promise", "where_of"]


@dataclass
class Session:
    """What a command that changes the world holds: specs, the locked state and its store, a client."""

    specs: SpecSet
    store: StateStore
    state: State
    client: Client


@dataclass(frozen=True)
class ApplyPolicy:
    saved_plan: str | None = None      # the plan file's name when applying a saved plan: it must be current
    max_deletes: int | None = None     # refuse a plan that cancels or revokes more than this
    wait: bool = False                 # wait for jobs so pending grants complete now
    timeout: float | None = None       # with wait: give up after this many seconds
    wait_jobs: bool = False            # --wait=jobs: also wait until the jobs created/replaced finish
    poll_interval: float = 10.0
    parallelism: int = 10
    policies: Any = None               # the plan's PolicyReport (overrides applied): a deny refuses
    overrides: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)  # address -> records
    allow_other_workspaces: bool = False  # create jobs this workspace holds under another lineage (planner/elsewhere.py)
    allow_other_folder: bool = False   # take away objects of a state applied from another folder (planner/folders.py)
    # The workspace whose state has this lineage, for jobs marked with a lineage only (planner/elsewhere.py)
    workspace_of: Callable[[str], str | None] | None = None


@dataclass(frozen=True)
class ApplyOutcome:
    applied: bool
    reason: str = ""                   # why not: "no changes", "cancelled"
    result: ApplyResult | None = None
    interruption: Interruption | None = None  # stopped by a signal: what was done, what was not started


def destructive_count(plan: Plan) -> int:
    """Cancels and revokes the plan would make (what --max-deletes bounds)."""
    counts = plan.counts()
    return counts["cancel_job"] + counts["revoke"]


def check_current(state: State, plan: Plan, name: str, *, state_written: bool) -> None:
    """Refuse a saved plan made against another state (lineage) or an earlier write of it
    (serial): Terraform's "saved plan is stale". A plan made before the first state was written
    gives that state its lineage (the marks and idempotency keys of its creates carry it)."""
    if not state_written and state.serial == 0 and plan.serial == 0:
        state.lineage = plan.lineage
    if (plan.lineage, plan.serial) != (state.lineage, state.serial):
        raise StalePlanError(
            f"{name} is stale: it was made against state serial {plan.serial} "
            f"(lineage {plan.lineage[:8]}…), the state is now at serial {state.serial} "
            f"(lineage {state.lineage[:8]}…). Run `reconciler plan` again.")


def keep_promise(state: State, saved: Plan, fresh: Plan, name: str) -> None:
    """Refuse (one line) a saved plan that is not what the current specs and state decide: a step
    on an object no managed one is (PlanError), or any decision the fresh plan, made with the same
    options, does not make (StalePlanError). See reconciler/planner/promise.py."""
    foreign = foreign_id(saved, state, fresh)
    if foreign is not None:
        address, op, object_id = foreign
        raise PlanError(f"{name}: {address}: its {op} step touches {object_id}, which is neither in the state nor "
                        f"among what {address} reads now: refusing the plan (edited, or made for another state)")
    why = broken_promise(saved, fresh)
    if why is not None:
        raise StalePlanError(f"{name} is stale: {why}. Run `reconciler plan` again.")


def check_plan(state: State, plan: Plan, policy: ApplyPolicy, *, state_written: bool) -> None:
    """Refuse a stale saved plan, or one that destroys more than `max_deletes` allows."""
    if policy.saved_plan is not None:
        check_current(state, plan, policy.saved_plan, state_written=state_written)
    if policy.policies is not None and policy.policies.denied:
        raise PlanError(refusal(policy.policies))
    if policy.max_deletes is not None and not plan.destroy:
        deletes = destructive_count(plan)
        if deletes > policy.max_deletes:
            raise PlanError(f"refusing to apply: the plan would cancel or revoke {deletes} objects, "
                            f"more than --max-deletes {policy.max_deletes}. Review the plan, then raise the "
                            "limit if it is intended.")


def has_work(state: State, plan: Plan, policy: ApplyPolicy) -> bool:
    """Anything to apply: changes, drift to record, grants to wait for, or imported objects whose
    spec matched (their inputs get recorded: a state-only update)."""
    if plan.has_changes or plan.drift:
        return True
    if policy.wait and any(c.action is Action.PENDING for c in plan.changes):
        return True
    return any(c.action is Action.NOOP and c.address in state.resources and not state.resources[c.address].inputs
               for c in plan.changes)


def apply_plan(session: Session, plan: Plan, policy: ApplyPolicy, *, listener: Listener | None = None,
               confirm: Callable[[Plan], bool] | None = None,
               on_start: Callable[[], None] | None = None) -> ApplyOutcome:
    """Check the plan against the policy, ask `confirm` (when given and the plan changes
    something), and run it. Raises StalePlanError / PlanError when the policy refuses."""
    check_plan(session.state, plan, policy, state_written=session.store.exists())
    state, where = session.state, where_of(session.store)
    owner = state.owner
    if not policy.allow_other_folder:
        refusal = folder_refusal(plan, recorded=state.folder, current=owner.folder if owner else None, where=where)
        if refusal is not None:
            raise PlanError(refusal)
    if not policy.allow_other_workspaces:
        refusal = collision_refusal(plan, kinds=registry, owner=owner, fresh=not state.resources, where=where,
                                    workspace_of=policy.workspace_of)
        if refusal is not None:
            raise PlanError(refusal)
    if not has_work(session.state, plan, policy):
        return ApplyOutcome(applied=False, reason="no changes")
    if confirm is not None and plan.has_changes and not confirm(plan):
        return ApplyOutcome(applied=False, reason="cancelled")
    if on_start is not None:
        on_start()
    if owner is not None:
        state.folder = owner.folder  # recorded by the executor's write: where this state is applied from
    store = session.store if not policy.overrides else _StampingStore(session.store, policy.overrides)
    executor = Executor(plan, client=session.client, store=store, state=session.state,  # type: ignore[arg-type]
                        parallelism=policy.parallelism, wait_for_jobs=policy.wait or policy.wait_jobs,
                        wait_for_created=policy.wait_jobs, timeout=policy.timeout,
                        poll_interval=policy.poll_interval, listener=listener)
    result = executor.run()
    return ApplyOutcome(applied=True, result=result, interruption=executor.interruption)


def where_of(store: StateStore) -> str:
    """The state's file as the user names it (relative to the working folder when inside it)."""
    from pathlib import Path

    path = getattr(store, "path", None)
    if path is None:
        return "the state"
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _StampingStore:
    """The session's store, writing the policy overrides of this apply into the objects' meta as
    the executor writes the state (reconciler/policy/overrides.py)."""

    def __init__(self, store: StateStore, records: Mapping[str, list[dict[str, Any]]]):
        self._store = store
        self._records = records

    def write(self, state: State, *args: Any, **kwargs: Any) -> Any:
        stamp(state.resources, self._records, state.serial + 1)
        return self._store.write(state, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)
