"""`apply --policy-override RULE --reason TEXT`: a deny passed on purpose, and the record of it.

Each override is written into the state, in the `meta.policy_overrides` of every object the
overridden rule denied (a budget's: every job the apply creates or replaces, else every object it
changes), as {rule, reason, by (user@host), at (UTC), serial}; the pg backend keeps every version of
the state, so its history keeps every override (`reconciler state history`, `state show --serial N`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.config.budgets import BUDGET_KEYS
from reconciler.errors import ConfigError
from reconciler.kinds.registry import JOB_KINDS
from reconciler.plan.model import Action, Plan
from reconciler.policy.engine import PolicyReport

__all__ = ["KEPT", "canonical_rule", "override_records", "resolve_overrides", "stamp"]

KEPT = 20  # overrides kept per object (the newest)


def canonical_rule(name: str) -> str:
    """"allowed_models" -> "Policy.allowed_models"; "max_new_jobs" -> "budgets.max_new_jobs"."""
    if name.startswith(("Policy.", "budgets.")):
        return name
    return f"budgets.{name}" if name in BUDGET_KEYS else f"Policy.{name}"


def resolve_overrides(names: Iterable[str], reason: str | None, by: str, at: str,
                      report: PolicyReport) -> dict[str, dict[str, str]]:
    """rule -> {reason, by, at}; ConfigError for a rule no policy or budget of this plan names, or
    an override without a reason."""
    names = [canonical_rule(n) for n in names]
    if not names:
        if reason:
            raise ConfigError("--reason is given without --policy-override RULE: name the rule to pass")
        return {}
    if not reason or not reason.strip():
        raise ConfigError(f"--policy-override {names[0]} needs --reason TEXT: say why it is passed (it is "
                          "recorded in the state)")
    known = report.rules()
    for name in names:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise ConfigError(f"--policy-override {name}: no policy or budget of that name was checked "
                              f"in this plan (checked: {listed})")
    return {name: {"reason": reason.strip(), "by": by, "at": at} for name in names}


def override_records(report: PolicyReport, plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """address -> the override records to keep with it."""
    jobs = [c.address for c in plan.changes
            if c.kind in JOB_KINDS and c.action in (Action.CREATE, Action.REPLACE)]
    changed = [c.address for c in plan.changes if c.action.is_change() or c.action is Action.PENDING]
    out: dict[str, list[dict[str, Any]]] = {}
    for result in report.overridden:
        assert result.override is not None
        record = {"rule": result.rule, **result.override, "detail": result.detail or result.message}
        for address in ([result.address] if result.address != "plan" else (jobs or changed)):
            out.setdefault(address, []).append(record)
    return out


def stamp(resources: Mapping[str, Any], records: Mapping[str, list[dict[str, Any]]], serial: int) -> None:
    """Add the records to the objects' meta (objects not in the state, e.g. a create that failed,
    get none: nothing of theirs was made)."""
    for address, items in records.items():
        resource = resources.get(address)
        if resource is None:
            continue
        kept = list(resource.meta.get("policy_overrides") or [])
        kept.extend({**item, "serial": serial} for item in items)
        resource.meta = {**resource.meta, "policy_overrides": kept[-KEPT:]}
