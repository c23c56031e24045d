"""The policy engine, table-driven, no server: which results a plan gives for which policies and
budgets, overrides, the refusal line, and the records an override leaves in the state."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reconciler.errors import ConfigError, SpecError
from reconciler.kinds.registry import KINDS
from reconciler.plan.model import Action, Change, Plan, ReplaceMode
from reconciler.policy.budgets import Budgets
from reconciler.policy.document import check_policy_document
from reconciler.policy.engine import evaluate
from reconciler.policy.overrides import override_records, resolve_overrides, stamp
from reconciler.policy.render import iter_policy_lines, refusal


def policy(name: str, rule: str, enforcement: str = "deny", match: tuple[str, ...] = ("FineTuningJob",)):
    doc = {"kind": "Policy", "name": name,
           "spec": {"match": list(match), "rule": rule, "message": f"{name} says no", "enforcement": enforcement}}
    found, errors = check_policy_document(doc, "specs/policy.yaml", 3, {"spec.rule": 7}, tuple(KINDS))
    assert not errors, errors
    return found


def job(name: str, action: Action = Action.CREATE, model: str = "gpt-4o-mini-2024-07-18", **spec):
    change = Change(f"FineTuningJob.{name}", "FineTuningJob", action,
                    after={"model": model}, replace=ReplaceMode.FORGET_THEN_CREATE if action is Action.REPLACE else None)
    document = SimpleNamespace(kind="FineTuningJob", spec={"model": model, **spec})
    return change, document


def grant(name: str, projects: list[str]):
    change = Change(f"CheckpointPermission.{name}", "CheckpointPermission", Action.CREATE)
    return change, SimpleNamespace(kind="CheckpointPermission", spec={"project_ids": projects})


def make(*items):
    plan = Plan("lineage", 1, tuple(c for c, _ in items))
    return plan, {c.address: d for c, d in items}


class Cost:  # the two things the engine reads of cost/estimate.PlanCost
    def __init__(self, usd: float, unknown: int = 0, per_job: dict[str, float] | None = None):
        self._usd, self._unknown = usd, unknown
        self.by_address = {a: SimpleNamespace(to_dict=lambda u=u: {"usd": u}) for a, u in (per_job or {}).items()}

    def summary(self):
        return {"usd": self._usd, "unknown": self._unknown, "jobs": len(self.by_address)}


MINI = 'object.spec.model.startsWith("gpt-4o-mini")'

CASES = [
    # (name, items, policies, budgets, cost, expected {(rule, address): outcome})
    ("pass", [job("a")], [policy("mini", MINI)], Budgets(), None,
     {("Policy.mini", "FineTuningJob.a"): "pass"}),
    ("deny", [job("a", model="gpt-4o-2024-08-06")], [policy("mini", MINI)], Budgets(), None,
     {("Policy.mini", "FineTuningJob.a"): "deny"}),
    ("warn", [job("a", model="gpt-4o-2024-08-06")], [policy("mini", MINI, "warn")], Budgets(), None,
     {("Policy.mini", "FineTuningJob.a"): "warn"}),
    ("match picks kinds", [job("a"), grant("g", ["team-b"])],
     [policy("org", 'object.spec.project_ids.all(p, p.startsWith("proj_"))', match=("CheckpointPermission",))],
     Budgets(), None, {("Policy.org", "CheckpointPermission.g"): "deny"}),
    ("unchanged objects are not checked", [job("a", Action.NOOP, model="gpt-4o")], [policy("mini", MINI)],
     Budgets(), None, {}),
    ("cost per object", [job("a"), job("b")], [policy("cheap", "object.cost.usd < 1.0")], Budgets(),
     Cost(3.0, per_job={"FineTuningJob.a": 0.5, "FineTuningJob.b": 2.5}),
     {("Policy.cheap", "FineTuningJob.a"): "pass", ("Policy.cheap", "FineTuningJob.b"): "deny"}),
    ("plan counts", [job("a"), job("b", Action.REPLACE)], [policy("few", "plan.new_jobs <= 1")], Budgets(), None,
     {("Policy.few", "FineTuningJob.a"): "deny", ("Policy.few", "FineTuningJob.b"): "deny"}),
    ("max_new_jobs", [job("a"), job("b"), job("c", Action.REPLACE)], [], Budgets(max_new_jobs=2), None,
     {("budgets.max_new_jobs", "plan"): "deny"}),
    ("max_new_jobs at the limit", [job("a"), job("b")], [], Budgets(max_new_jobs=2), None,
     {("budgets.max_new_jobs", "plan"): "pass"}),
    ("max_replacements", [job("a", Action.REPLACE)], [], Budgets(max_replacements=0), None,
     {("budgets.max_replacements", "plan"): "deny"}),
    ("max_cost_per_apply", [job("a")], [], Budgets(max_cost_per_apply=10.0), Cost(12.4),
     {("budgets.max_cost_per_apply", "plan"): "deny"}),
    ("no cost counts zero", [job("a")], [], Budgets(max_cost_per_apply=10.0), None,
     {("budgets.max_cost_per_apply", "plan"): "pass"}),
]


@pytest.mark.parametrize(("items", "policies", "budgets", "cost", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_results(items, policies, budgets, cost, expected):
    plan, documents = make(*items)
    report = evaluate(plan, documents, policies, budgets, cost)
    assert {(r.rule, r.address): r.outcome for r in report.results} == expected


def test_budget_detail_names_unknown_costs():
    plan, documents = make(job("a"))
    [result] = evaluate(plan, documents, [], Budgets(max_cost_per_apply=1.0), Cost(2.0, unknown=1)).results
    assert result.detail == "estimated $2.00, the budget is $1.00 (1 job of unknown cost not counted)"


def test_a_rule_failing_at_evaluation_raises_its_line():
    plan, documents = make(job("a"))
    with pytest.raises(SpecError, match=r"^specs/policy.yaml:7: Policy.bad: spec.rule: .*failed to evaluate"):
        evaluate(plan, documents, [policy("bad", "object.spec.nope == 1")], Budgets())


def test_override_refusal_and_records():
    plan, documents = make(job("a", model="gpt-4o"), job("b"))
    report = evaluate(plan, documents, [policy("mini", MINI)], Budgets(max_new_jobs=1))
    assert [r.rule for r in report.denied] == ["Policy.mini", "budgets.max_new_jobs"]
    line = refusal(report)
    assert line.startswith("refusing to apply: Policy.mini denies FineTuningJob.a: mini says no "
                           "(specs/policy.yaml:7) (and 1 more denied")
    assert line.endswith("--policy-override Policy.mini --reason TEXT")
    with pytest.raises(ConfigError, match="needs --reason"):
        resolve_overrides(["mini"], None, "me@host", "t", report)
    with pytest.raises(ConfigError, match="no policy or budget of that name"):
        resolve_overrides(["minis"], "why", "me@host", "t", report)
    overrides = resolve_overrides(["mini", "max_new_jobs"], "approved", "me@host", "2026-01-01T00:00:00Z", report)
    passed = report.with_overrides(overrides)
    assert not passed.denied and len(passed.overridden) == 2
    lines = "\n".join(iter_policy_lines(passed))
    assert "↷ overridden" in lines and "overridden by me@host: approved" in lines
    records = override_records(passed, plan)
    assert sorted(records) == ["FineTuningJob.a", "FineTuningJob.b"]
    assert [r["rule"] for r in records["FineTuningJob.a"]] == ["Policy.mini", "budgets.max_new_jobs"]
    resources = {"FineTuningJob.a": SimpleNamespace(meta={"settings": {}})}
    stamp(resources, records, 7)
    kept = resources["FineTuningJob.a"].meta["policy_overrides"]
    assert kept[0] == {"rule": "Policy.mini", "reason": "approved", "by": "me@host", "at": "2026-01-01T00:00:00Z",
                       "detail": "mini says no", "serial": 7}
    assert resources["FineTuningJob.a"].meta["settings"] == {}


POLICY_ERRORS = [
    ({"match": ["FineTuningJob"], "rule": "true"}, "spec: missing required field 'message'"),
    ({"match": [], "rule": "true", "message": "m"}, "spec.match: expected a non-empty list of kinds"),
    ({"match": ["Job"], "rule": "true", "message": "m"}, "spec.match[0]: unknown kind 'Job'"),
    ({"match": ["File"], "rule": "true", "message": "m", "enforcement": "block"}, "expected deny or warn"),
    ({"match": ["File"], "rule": "true", "message": "m", "severity": "x"}, "spec.severity: unknown field"),
    ({"match": ["File"], "rule": 3, "message": "m"}, "spec.rule: expected a CEL expression"),
]


@pytest.mark.parametrize(("spec", "message"), POLICY_ERRORS)
def test_policy_document_errors(spec, message):
    found, errors = check_policy_document({"kind": "Policy", "name": "p", "spec": spec}, "p.yaml", 1, {},
                                          tuple(KINDS))
    assert found is None
    assert any(message in str(e) for e in errors), [str(e) for e in errors]
    assert all(str(e).startswith("p.yaml:1: Policy.p: ") for e in errors)
