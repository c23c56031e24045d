"""The one place the executor tests reach the planner and the executor.

The planner/executor API is being reshaped (towards a pure planner and `apply_plan(session, plan,
policy)`); when it changes, only this module should need edits. Test modules never import
`reconciler.planner.build` or `reconciler.apply.executor` themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.apply.events import ApplyResult
from reconciler.kinds import registry
from reconciler.loading import load_specs
from reconciler.plan.model import Plan

__all__ = ["action_of", "actions", "make_plan", "reversed_plan", "run_apply", "steps_of"]


def make_plan(spec_dir: Path, state: Any, client: Any, **options: Any) -> Plan:
    """Load the specs in `spec_dir` and plan them against `state` and what `client` reports.

    `options` are PlanOptions fields (destroy, replace, targets, parallelism, now, ...), plus
    `variables` for `${var.X}` and `content_digest` for file adoption."""
    from reconciler.planner.build import PlanOptions

    try:  # the refresh (API reads) moved out of the pure planner
        from reconciler.planner.refresh import build_plan
    except ImportError:  # before the planner refactor
        from reconciler.planner.build import build_plan  # type: ignore[attr-defined,no-redef]

    variables = options.pop("variables", {})
    content_digest = options.pop("content_digest", None)
    specs = load_specs(Path(spec_dir), variables)
    return build_plan(specs, state, client, PlanOptions(**options, kinds=registry), content_digest=content_digest)


def run_apply(plan: Plan, client: Any, store: Any, state: Any, **executor_options: Any) -> ApplyResult:
    """Apply `plan`; `executor_options`: parallelism, wait_for_jobs, timeout, poll_interval,
    listener, monotonic, sleep."""
    from reconciler.apply.executor import Executor

    return Executor(plan, client=client, store=store, state=state, **executor_options).run()


def actions(plan: Plan) -> dict[str, str]:
    """address -> action ("create", "replace", "pending", ...), in plan order."""
    return {c.address: c.action.value for c in plan.changes}


def action_of(plan: Plan, address: str) -> str:
    return actions(plan)[address]


def steps_of(plan: Plan, address: str) -> list[str]:
    change = plan.change_for(address)
    assert change is not None, f"{address} is not in the plan"
    return [s.op.value for s in change.steps]


def reversed_plan(plan: Plan) -> Plan:
    """The same plan with its changes in reverse order: the executor must still honour every
    dependency (the planner's order is not the only thing keeping them right)."""
    import dataclasses

    return dataclasses.replace(plan, changes=tuple(reversed(plan.changes)))
