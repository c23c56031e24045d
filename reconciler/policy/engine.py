"""Evaluating policies and budgets against a plan (pure): every policy against every planned object
it matches, every budget against the plan, each giving one result, pass or not.

What a rule reads (plain data; a value that is not known is absent, so `has(object.cost.usd)`
tests whether it is known):

    object   kind, type, address, name, action ("create", "update", "replace", "pending", ...),
             spec (as written, ${...} references unresolved; for a delete or forget of an object no
             longer in the specs, what the state recorded it was made with), inputs (what would be
             sent, resolved where known), cost (the estimate of the training a job created or
             replaced starts, as in plan JSON, `usd` absent when unknown; usd 0 for a change that
             starts no training)
    plan     counts (add, change, destroy, ... as in the plan summary), new_jobs, replacements,
             cost (the plan's cost summary: usd, jobs, unknown, complete, billed_tokens, ...)

Objects are the plan's changes that do something (create, update, replace, adopt, delete, forget)
or wait to (pending); unchanged objects and data-source reads are not checked. Each change is
checked on its own: a rule that fails to evaluate on one (an absent field read without `has()`)
fails that change only, with the CEL message, under the rule's enforcement.

A cost budget fails closed: a job whose cost is unknown is denied by `budgets.max_cost_per_apply`
(naming why its cost is unknown) unless `unknown_cost: allow` is set beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from reconciler.config.budgets import Budgets
from reconciler.config.policies import Policy
from reconciler.errors import SpecError
from reconciler.expr import known_only
from reconciler.kinds.registry import JOB_KINDS
from reconciler.plan.model import Action, Change, Plan

__all__ = ["NOT_ESTIMATED", "NO_TRAINING_COST", "ZERO_PLAN_COST", "PolicyReport", "PolicyResult", "evaluate",
           "evaluation_failure", "object_activation", "plan_activation", "prior_spec", "refusal", "rule_result"]

NOT_ESTIMATED = "its cost was not estimated"
UNKNOWN_COST_MESSAGE = "the job's training cost is unknown, so it cannot be held to the cost budget"
NO_TRAINING_COST = {"version": 1, "usd": 0.0, "billed_tokens": 0}  # a change that starts no training
ZERO_PLAN_COST = {"version": 1, "usd": 0.0, "jobs": 0, "estimated": 0, "unknown": 0, "complete": True,
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
    return change.kind in JOB_KINDS and change.action in (Action.CREATE, Action.REPLACE)


def plan_activation(plan: Plan, cost_summary: Mapping[str, Any] | None) -> dict[str, Any]:
    data = {"counts": plan.counts(),
            "new_jobs": sum(1 for c in plan.changes if _new_job(c)),
            "replacements": sum(1 for c in plan.changes if c.action is Action.REPLACE),
            "destroy": plan.destroy,
            "cost": dict(cost_summary) if cost_summary else dict(ZERO_PLAN_COST)}
    return dict(known_only(data))


def prior_spec(change: Change) -> dict[str, Any]:
    """What the state recorded an object was made with (its resolved create body, without the id):
    the spec a rule reads for a delete or forget of an object the specs no longer hold."""
    return {k: v for k, v in (change.before or {}).items() if k != "id"}


def object_activation(change: Change, document: Any, cost: Mapping[str, Any] | None) -> dict[str, Any]:
    """`object` for one change. `cost`: the job's estimate (JobCost.to_dict) when the change starts
    training; a change that starts none costs nothing (usd 0)."""
    kind = getattr(document, "kind", change.kind)
    spec = getattr(document, "spec", None) if document is not None else None
    if spec is None and change.action in (Action.DELETE, Action.FORGET):
        spec = prior_spec(change)
    if _new_job(change):
        costed = dict(cost) if cost else {"unknown_reason": NOT_ESTIMATED}
    else:
        costed = dict(NO_TRAINING_COST)
    data = {"kind": kind, "type": change.kind, "address": change.address, "name": change.name,
            "action": change.action.value, "spec": dict(spec or {}), "inputs": dict(change.after or {}),
            "cost": costed}
    return dict(known_only(data))


def evaluate(plan: Plan, documents: Mapping[str, Any], policies: Iterable[Policy], budgets: Budgets,
             cost: Any = None) -> PolicyReport:
    """Every result. `cost` is the plan's PlanCost (reconciler/cost/estimate.py) or None (nothing
    estimated: every job the plan starts is of unknown cost). A rule that fails to evaluate on a
    change is a failed result for that change, with the CEL message as its detail."""
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
            results.append(rule_result(policy, change.address, data))
    unknown = _unknown_costs(plan, by_address)
    unknown += [(h.address, str(h.reason)) for h in getattr(cost, "hosting", ()) if not h.known]
    results.extend(_budget_results(budgets, plan_data, unknown))
    return PolicyReport(tuple(results))


def rule_result(policy: Policy, address: str, data: Mapping[str, Any]) -> PolicyResult:
    where = f"{policy.file}:{policy.rule.where.line}"
    try:
        passed = policy.rule.evaluate(data)
    except SpecError as exc:
        return PolicyResult(policy.address, address, policy.enforcement, False, policy.message, where,
                            evaluation_failure(policy.rule.source, exc.message))
    return PolicyResult(policy.address, address, policy.enforcement, passed, policy.message, where)


def evaluation_failure(source: str, message: str) -> str:
    """The detail of a rule that could not be evaluated on an object: the CEL message, and what to
    do when it read a value that is absent."""
    text = message.removeprefix(f"{source!r} ").strip()
    if "no such member" in text or "does not support field selection" in text:
        text += " (a value that is not known, or not written, is absent: test it with has())"
    return f"rule {text}"


def _unknown_costs(plan: Plan, by_address: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(address, why) of every job the plan starts whose cost is not known."""
    found = []
    for change in plan.changes:
        if not _new_job(change):
            continue
        job = by_address.get(change.address)
        if job is None:
            found.append((change.address, NOT_ESTIMATED))
        elif getattr(job, "usd", None) is None:
            found.append((change.address, str(getattr(job, "reason", None) or NOT_ESTIMATED)))
    return found


def _budget_results(budgets: Budgets, plan_data: Mapping[str, Any],
                    unknown_costs: list[tuple[str, str]]) -> list[PolicyResult]:
    where = f"{budgets.file}:{budgets.line}" if budgets.file else "Settings"
    out = []
    cost = plan_data["cost"]
    for key, limit in budgets.limits().items():
        if key == "max_cost_per_apply":
            usd = float(cost.get("usd") or 0.0)
            passed = usd <= limit
            # with jobs of unknown cost the known figures are a lower bound, never the whole figure
            detail = f"estimated {'≥ ' if unknown_costs else ''}${usd:,.2f}, the budget is ${limit:,.2f}"
            if cost.get("hosting_usd_per_month"):
                detail += f" (a month of hosting counted: ${float(cost['hosting_usd_per_month']):,.2f})"
            if unknown_costs:
                n = len(unknown_costs)
                detail += f" ({n} job{'s' if n != 1 else ''} of unknown cost not counted" + \
                    (", allowed by unknown_cost: allow)" if budgets.unknown_cost == "allow" else ")")
            message = "the plan's estimated training cost is over the budget"
            out.append(PolicyResult(f"budgets.{key}", "plan", "deny", passed, message, where, detail))
            if budgets.unknown_cost != "allow":
                out.extend(PolicyResult(f"budgets.{key}", address, "deny", False, UNKNOWN_COST_MESSAGE, where,
                                        f"{why}; the budget is ${limit:,.2f}, and unknown_cost: allow in the "
                                        "Settings budgets would let such a job through")
                           for address, why in unknown_costs)
            continue
        if key == "max_new_jobs":
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


def refusal(report: PolicyReport) -> str:
    """The one line apply refuses with: the first deny (rule, object, message, where, how to pass)."""
    denied = report.denied
    first = denied[0]
    more = f" (and {len(denied) - 1} more denied; see the plan's Policies)" if len(denied) > 1 else ""
    return (f"refusing to apply: {first.rule} denies {first.address}: {first.message}"
            f"{': ' + first.detail if first.detail else ''} ({first.where}){more}. Fix the spec, or pass it "
            f"with --policy-override {first.rule} --reason TEXT")
