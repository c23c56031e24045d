"""The policy engine, table-driven, no server: which results a plan gives for which policies and
budgets, overrides, the refusal line, and the records an override leaves in the state."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reconciler.config.budgets import Budgets
from reconciler.config.policies import check_policy_document
from reconciler.errors import ConfigError
from reconciler.kinds.registry import KINDS
from reconciler.plan.model import Action, Change, Plan, ReplaceMode
from reconciler.policy.engine import PolicyReport, evaluate, refusal
from reconciler.policy.overrides import override_records, resolve_overrides, stamp
from reconciler.render.policy import iter_policy_lines
from reconciler.values import UNKNOWN


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


def costed(usd: float | None, reason: str | None = None):
    """A job's estimate as the engine reads cost/estimate.JobCost: usd, reason and to_dict()."""
    return SimpleNamespace(usd=usd, reason=reason,
                           to_dict=lambda: {"version": 1, "usd": usd, "billed_tokens": None if usd is None else 1000,
                                            "unknown_reason": reason})


class Cost:  # the two things the engine reads of cost/estimate.PlanCost
    def __init__(self, usd: float, unknown: int = 0, per_job: dict[str, float | None] | None = None,
                 reasons: dict[str, str] | None = None):
        self._usd, self._unknown = usd, unknown
        self.by_address = {a: costed(u, (reasons or {}).get(a)) for a, u in (per_job or {}).items()}

    def summary(self):
        return {"usd": self._usd, "unknown": self._unknown, "jobs": len(self.by_address)}


def gone(name: str, kind: str = "FineTuningJob", action: Action = Action.DELETE, **inputs):
    """A change removing an object the specs no longer hold (no document): the state's inputs."""
    change = Change(f"{kind}.{name}", kind, action, before={**inputs, "id": f"id-{name}"})
    return change, None


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
    ("max_cost_per_apply", [job("a")], [], Budgets(max_cost_per_apply=10.0),
     Cost(12.4, per_job={"FineTuningJob.a": 12.4}), {("budgets.max_cost_per_apply", "plan"): "deny"}),
    ("max_cost_per_apply within", [job("a")], [], Budgets(max_cost_per_apply=10.0),
     Cost(2.0, per_job={"FineTuningJob.a": 2.0}), {("budgets.max_cost_per_apply", "plan"): "pass"}),
    # a cost budget fails closed: a job of unknown cost is denied by name
    ("unknown cost denies the job", [job("a"), job("b")], [], Budgets(max_cost_per_apply=10.0),
     Cost(1.0, 1, per_job={"FineTuningJob.a": 1.0, "FineTuningJob.b": None}, reasons={"FineTuningJob.b": "no price"}),
     {("budgets.max_cost_per_apply", "plan"): "pass", ("budgets.max_cost_per_apply", "FineTuningJob.b"): "deny"}),
    ("no estimate is an unknown cost", [job("a")], [], Budgets(max_cost_per_apply=10.0), None,
     {("budgets.max_cost_per_apply", "plan"): "pass", ("budgets.max_cost_per_apply", "FineTuningJob.a"): "deny"}),
    ("unknown_cost: allow", [job("a")], [], Budgets(max_cost_per_apply=10.0, unknown_cost="allow"),
     Cost(0.0, 1, per_job={"FineTuningJob.a": None}), {("budgets.max_cost_per_apply", "plan"): "pass"}),
    ("an unknown cost without a cost budget", [job("a")], [], Budgets(max_new_jobs=3),
     Cost(0.0, 1, per_job={"FineTuningJob.a": None}), {("budgets.max_new_jobs", "plan"): "pass"}),
    ("a replaced job of unknown cost", [job("a", Action.REPLACE)], [], Budgets(max_cost_per_apply=1.0),
     Cost(0.0, 1, per_job={"FineTuningJob.a": None}),
     {("budgets.max_cost_per_apply", "plan"): "pass", ("budgets.max_cost_per_apply", "FineTuningJob.a"): "deny"}),
    ("deletes and forgets cost nothing", [gone("a", model="gpt-4o-mini-2024-07-18"),
                                          gone("b", action=Action.FORGET, model="gpt-4o-mini-2024-07-18")], [],
     Budgets(max_cost_per_apply=0.0), None, {("budgets.max_cost_per_apply", "plan"): "pass"}),
    # rules evaluate per change: a delete or forget reads the prior spec
    ("delete reads the prior spec", [gone("a", model="gpt-4o-mini-2024-07-18"),
                                     gone("b", action=Action.FORGET, model="gpt-4o-2024-08-06")],
     [policy("mini", MINI)], Budgets(), None,
     {("Policy.mini", "FineTuningJob.a"): "pass", ("Policy.mini", "FineTuningJob.b"): "deny"}),
    ("a grant's delete reads its prior projects",
     [gone("g", "CheckpointPermission", fine_tuned_model_checkpoint="ft:x", project_ids=["proj_a"])],
     [policy("org", 'object.spec.project_ids.all(p, p.startsWith("proj_"))', match=("CheckpointPermission",))],
     Budgets(), None, {("Policy.org", "CheckpointPermission.g"): "pass"}),
    # an evaluation error fails that change only, under the rule's enforcement
    ("an error denies its change only", [job("a", suffix="x"), job("b")],
     [policy("short", "object.spec.suffix.size() < 5")], Budgets(), None,
     {("Policy.short", "FineTuningJob.a"): "pass", ("Policy.short", "FineTuningJob.b"): "deny"}),
    ("an error on a warn rule warns", [job("a")], [policy("short", "object.spec.suffix.size() < 5", "warn")],
     Budgets(), None, {("Policy.short", "FineTuningJob.a"): "warn"}),
    # cost: usd absent when unknown (has() tests it), 0 for changes that start no training
    ("unknown usd is absent", [job("a"), job("b"), gone("c", model="m")],
     [policy("cheap", "has(object.cost.usd) && object.cost.usd < 1.0")], Budgets(),
     Cost(0.5, 1, per_job={"FineTuningJob.a": 0.5, "FineTuningJob.b": None}),
     {("Policy.cheap", "FineTuningJob.a"): "pass", ("Policy.cheap", "FineTuningJob.b"): "deny",
      ("Policy.cheap", "FineTuningJob.c"): "pass"}),
    ("the README's cost rule fails closed", [job("a"), gone("c", model="m")], [policy("cheap", "object.cost.usd < 20.0")],
     Budgets(), Cost(0.0, 1, per_job={"FineTuningJob.a": None}),
     {("Policy.cheap", "FineTuningJob.a"): "deny", ("Policy.cheap", "FineTuningJob.c"): "pass"}),
    ("inputs known after apply are absent", [(Change("FineTuningJob.a", "FineTuningJob", Action.CREATE,
                                                     after={"model": "m", "training_file": UNKNOWN}),
                                              SimpleNamespace(kind="FineTuningJob", spec={"model": "m"}))],
     [policy("t", "!has(object.inputs.training_file)")], Budgets(), Cost(1.0, per_job={"FineTuningJob.a": 1.0}),
     {("Policy.t", "FineTuningJob.a"): "pass"}),
]


@pytest.mark.parametrize(("items", "policies", "budgets", "cost", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_results(items, policies, budgets, cost, expected):
    plan, documents = make(*items)
    report = evaluate(plan, documents, policies, budgets, cost)
    assert {(r.rule, r.address): r.outcome for r in report.results} == expected


def test_budget_detail_names_unknown_costs():
    plan, documents = make(job("a"), job("b"))
    cost = Cost(2.0, unknown=1, per_job={"FineTuningJob.a": 2.0, "FineTuningJob.b": None},
                reasons={"FineTuningJob.b": "file-abc is not a File in these specs: its tokens cannot be counted"})
    total, unknown = evaluate(plan, documents, [], Budgets(max_cost_per_apply=1.0), cost).results
    assert total.detail == "estimated ≥ $2.00, the budget is $1.00 (1 job of unknown cost not counted)"
    assert (unknown.address, unknown.outcome) == ("FineTuningJob.b", "deny")
    assert unknown.detail.startswith("file-abc is not a File in these specs: its tokens cannot be counted; "
                                     "the budget is $1.00")
    assert refusal(PolicyReport((unknown,))).startswith(
        "refusing to apply: budgets.max_cost_per_apply denies FineTuningJob.b: the job's training cost is unknown")
    [allowed] = evaluate(plan, documents, [], Budgets(max_cost_per_apply=5.0, unknown_cost="allow"), cost).results
    assert allowed.passed and allowed.detail.endswith("not counted, allowed by unknown_cost: allow)")


def test_a_rule_failing_at_evaluation_denies_that_change_with_the_cel_message():
    plan, documents = make(job("a"), gone("b", model="gpt-4o-mini-2024-07-18"))
    report = evaluate(plan, documents, [policy("bad", "object.spec.nope == 1")], Budgets())
    failed, removed = report.results
    assert (failed.address, failed.outcome) == ("FineTuningJob.a", "deny")
    assert failed.detail == ("rule failed to evaluate: no such member in mapping: 'nope' (a value that is not "
                             "known, or not written, is absent: test it with has())")
    assert (removed.address, removed.outcome) == ("FineTuningJob.b", "deny")
    assert "specs/policy.yaml:7" in refusal(report)


def test_a_delete_sees_the_prior_spec_without_its_id():
    from reconciler.policy.engine import object_activation

    change, _ = gone("a", model="gpt-4o-mini-2024-07-18", suffix=None)
    data = object_activation(change, None, None)
    assert data["spec"] == {"model": "gpt-4o-mini-2024-07-18"}
    assert data["action"] == "delete" and data["cost"]["usd"] == 0.0


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
