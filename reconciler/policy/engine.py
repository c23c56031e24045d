"""Evaluating policies and budgets against a plan (pure): every policy against every planned object
it matches, every budget against the plan, each giving one result, pass or not.

What a rule reads (plain data; a value known only after apply is null):

    object   kind, type, address, name, action ("create", "update", "replace", "pending", ...),
             spec (as written, ${...} references unresolved), inputs (what would be sent, resolved
             where known), cost (the estimate of a job created or replaced, as in plan JSON; else null)
    plan     counts (add, change, destroy, ... as in the plan summary), new_jobs, replacements,
             cost (the plan's cost summary: usd, jobs, unknown, complete, billed_tokens, ...)

Objects are the plan's changes that do something (create, update, replace, adopt, delete, forget)
or wait to (pending); unchanged objects and data-source reads are not checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from reconciler.plan.model import Action, Change, Plan
from reconciler.policy.budgets import Budgets
from reconciler.policy.document import Policy

__all__ = ["PolicyReport", "PolicyResult", "evaluate", "object_activation", "plan_activation"]

_ZERO_COST = {"version": 1, "usd": 0.0, "jobs": 0, "estimated": 0, "unknown": 0, "complete": True,
              "replacements": 0, "replacement_billed_tokens": 0, "billed_tokens": 0}


@dataclass(frozen=True)
class PolicyResult:
    rule: str                  # Policy.NAME, or budgets.KEY
    address: str               # the object checked ("plan" for a budget)
    enforcement: str           # deny | warn
    passed: bool
    message: str               # the policy's message (or the budget's)
    where: str                 # file:line of the rule
    detail: str = ""           # e.g. "3 new jobs, the budget is 2"
    override: Mapping[str, str] | None = None  # {"reason", "by"} when --policy-override passed it

    @property
    def outcome(self) -> str:
        if self.passed:
            return "pass"
        if self.override is not None:
            return "overridden"
        return "deny" if self.enforcement == "deny" else "warn"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "address": self.address, "enforcement": self.enforcement,
                "outcome": self.outcome, "passed": self.passed, "message": self.message, "where": self.where,
                "detail": self.detail or None, "override": dict(self.override) if self.override else None}


@dataclass(frozen=True)
class PolicyReport:
    results: tuple[PolicyResult, ...] = ()

    @property
    def denied(self) -> tuple[PolicyResult, ...]:
        return tuple(r for r in self.results if r.outcome == "deny")

    @property
    def warned(self) -> tuple[PolicyResult, ...]:
        return tuple(r for r in self.results if r.outcome == "warn")

    @property
    def overridden(self) -> tuple[PolicyResult, ...]:
        return tuple(r for r in self.results if r.outcome == "overridden")

    def rules(self) -> set[str]:
        return {r.rule for r in self.results}

    def with_overrides(self, overrides: Mapping[str, Mapping[str, str]]) -> PolicyReport:
        """Failing deny results of the named rules marked overridden (rule -> {reason, by})."""
        return PolicyReport(tuple(
            replace(r, override=overrides[r.rule]) if r.rule in overrides and not r.passed
            and r.enforcement == "deny" else r
            for r in self.results))

    def to_list(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.results]

    @classmethod
    def from_list(cls, items: Any) -> PolicyReport:
        """The `policies` array of a saved plan (overrides made at plan time are not kept: an
        override is given to the apply that acts on it)."""
        results = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            results.append(PolicyResult(str(item.get("rule")), str(item.get("address")),
                                        str(item.get("enforcement", "deny")), bool(item.get("passed")),
                                        str(item.get("message", "")), str(item.get("where", "")),
                                        str(item.get("detail") or "")))
        return cls(tuple(results))


def _checked(change: Change) -> bool:
    return change.action.is_change() or change.action is Action.PENDING


def _new_job(change: Change) -> bool:
    return change.kind == "FineTuningJob" and change.action in (Action.CREATE, Action.REPLACE)


def plan_activation(plan: Plan, cost_summary: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"counts": plan.counts(),
            "new_jobs": sum(1 for c in plan.changes if _new_job(c)),
            "replacements": sum(1 for c in plan.changes if c.action is Action.REPLACE),
            "destroy": plan.destroy,
            "cost": dict(cost_summary) if cost_summary else dict(_ZERO_COST)}


def object_activation(change: Change, document: Any, cost: Mapping[str, Any] | None) -> dict[str, Any]:
    kind = getattr(document, "kind", change.kind)
    return {"kind": kind, "type": change.kind, "address": change.address, "name": change.name,
            "action": change.action.value, "spec": dict(getattr(document, "spec", None) or {}),
            "inputs": dict(change.after or {}), "cost": dict(cost) if cost else None}


def evaluate(plan: Plan, documents: Mapping[str, Any], policies: Iterable[Policy], budgets: Budgets,
             cost: Any = None) -> PolicyReport:
    """Every result. `cost` is the plan's PlanCost (reconciler/cost/estimate.py) or None. A rule
    that fails to evaluate raises its one-line SpecError."""
    summary = cost.summary() if cost is not None else None
    by_address = getattr(cost, "by_address", {}) if cost is not None else {}
    plan_data = plan_activation(plan, summary)
    results: list[PolicyResult] = []
    policies = tuple(policies)
    for change in plan.changes:
        if not _checked(change):
            continue
        document = documents.get(change.address)
        kind = getattr(document, "kind", change.kind)
        wanted = [p for p in policies if p.matches(kind, change.kind)]
        if not wanted:
            continue
        job = by_address.get(change.address)
        data = {"object": object_activation(change, document, job.to_dict() if job is not None else None),
                "plan": plan_data}
        for policy in wanted:
            passed = policy.rule.evaluate(data)
            results.append(PolicyResult(policy.address, change.address, policy.enforcement, passed,
                                        policy.message, f"{policy.file}:{policy.rule.where.line}"))
    results.extend(_budget_results(budgets, plan_data))
    return PolicyReport(tuple(results))


def _budget_results(budgets: Budgets, plan_data: Mapping[str, Any]) -> list[PolicyResult]:
    where = f"{budgets.file}:{budgets.line}" if budgets.file else "Settings"
    out = []
    cost = plan_data["cost"]
    for key, limit in budgets.limits().items():
        if key == "max_cost_per_apply":
            usd = float(cost.get("usd") or 0.0)
            unknown = int(cost.get("unknown") or 0)
            passed = usd <= limit
            detail = f"estimated ${usd:,.2f}, the budget is ${limit:,.2f}"
            if unknown:
                detail += f" ({unknown} job{'s' if unknown != 1 else ''} of unknown cost not counted)"
            message = "the plan's estimated training cost is over the budget"
        elif key == "max_new_jobs":
            n = int(plan_data["new_jobs"])
            passed = n <= limit
            detail = f"{n} new job{'s' if n != 1 else ''}, the budget is {limit}"
            message = "the plan creates more fine-tuning jobs than the budget allows"
        else:
            n = int(plan_data["replacements"])
            passed = n <= limit
            detail = f"{n} replacement{'s' if n != 1 else ''}, the budget is {limit}"
            message = "the plan replaces more objects than the budget allows"
        out.append(PolicyResult(f"budgets.{key}", "plan", "deny", passed, message, where, detail))
    return out
