"""Budgets and policies fail closed, through the real CLI against the real sandbox over HTTP: a job
whose cost is unknown is denied by the cost budget by name (unless `unknown_cost: allow` or an
override), a deny rule that reads the spec lets a plan remove a job, a rule that fails to evaluate
denies that change only, and `validate` warns on a rule that reads a field that may be absent."""

from __future__ import annotations

import io
import json
from pathlib import Path

import yaml

from tests.e2e.conftest import JOB_SPEC, chat_jsonl

ROOT = Path(__file__).resolve().parents[2]

LITERAL_JOB = """\
kind: FineTuningJob
name: literal
spec:
  model: gpt-4o-mini-2024-07-18
  training_file: %s
"""

BUDGET = """\
kind: Settings
name: default
spec:
  budgets:
    max_cost_per_apply: 0.05
%s"""


def _jobs_created(world) -> int:
    return world.sandbox.stats().get("POST /v1/fine_tuning/jobs", 0)


def _uploaded(world) -> str:
    """A training file uploaded by hand: a job naming its id has no local file to count."""
    return world.sdk().files.create(file=("t.jsonl", io.BytesIO(chat_jsonl().encode())), purpose="fine-tune").id


def _example_policy(name: str) -> str:
    """One Policy document of examples/policy/policy.yaml, as shipped."""
    for doc in yaml.safe_load_all((ROOT / "examples" / "policy" / "policy.yaml").read_text()):
        if doc["name"] == name:
            return yaml.safe_dump(doc, sort_keys=False)
    raise AssertionError(name)


def test_a_job_of_unknown_cost_is_denied_by_the_cost_budget(world):
    file_id = _uploaded(world)
    world.write("specs.yaml", LITERAL_JOB % file_id)
    world.write("settings.yaml", BUDGET % "")
    plan = world.ok("plan")
    assert "✗ deny  budgets.max_cost_per_apply  FineTuningJob.literal" in plan.output
    refused = world.run("apply", "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert "Traceback" not in refused.output
    last = refused.output.strip().splitlines()[-1]
    assert last == (f"Error: refusing to apply: budgets.max_cost_per_apply denies FineTuningJob.literal: the job's "
                    f"training cost is unknown, so it cannot be held to the cost budget: {file_id} is not a File "
                    "in these specs: its tokens cannot be counted; the budget is $0.05, and unknown_cost: allow in "
                    f"the Settings budgets would let such a job through ({world.specs / 'settings.yaml'}:4). Fix "
                    "the spec, or pass it with --policy-override budgets.max_cost_per_apply --reason TEXT")
    assert _jobs_created(world) == 0 and world.jobs() == []

    overridden = world.ok("apply", "--auto-approve", "--policy-override", "budgets.max_cost_per_apply",
                          "--reason", "priced by hand")
    assert "↷ overridden" in overridden.output and _jobs_created(world) == 1
    [record] = world.state()["resources"]["FineTuningJob.literal"]["meta"]["policy_overrides"]
    assert record["rule"] == "budgets.max_cost_per_apply" and record["reason"] == "priced by hand"


def test_unknown_cost_allow_lets_the_job_through(world):
    world.write("specs.yaml", LITERAL_JOB % _uploaded(world))
    world.write("settings.yaml", BUDGET % "    unknown_cost: allow\n")
    applied = world.ok("apply", "--auto-approve")
    assert "budgets.max_cost_per_apply" in applied.output and "allowed by unknown_cost: allow" in applied.output
    assert _jobs_created(world) == 1


def test_unknown_cost_takes_only_deny_or_allow(world):
    world.write("specs.yaml", JOB_SPEC)
    world.write("settings.yaml", BUDGET % "    unknown_cost: maybe\n")
    result = world.run("validate")
    assert result.exit_code == 1 and "spec.budgets.unknown_cost" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 2  # the error line and the count


def test_a_deny_rule_reading_the_spec_lets_a_plan_remove_a_job(world):
    world.write("specs.yaml", JOB_SPEC.replace("gpt-4o-mini", "gpt-4o-mini-2024-07-18"))
    world.write("policy.yaml", _example_policy("allowed_models"))
    world.ok("apply", "--auto-approve")
    [job] = world.jobs()
    world.write("specs.yaml", JOB_SPEC.split("---")[0])  # the job leaves the specs, the file stays
    plan = world.ok("plan", "--detailed-exitcode", code=2)
    assert "✓ pass  Policy.allowed_models  FineTuningJob.bot" in plan.output
    assert "failed to evaluate" not in plan.output
    world.ok("apply", "--auto-approve")
    assert world.sdk().fine_tuning.jobs.retrieve(job["id"]).status == "cancelled"
    assert "FineTuningJob.bot" not in world.state()["resources"]


def test_a_removal_of_a_job_the_rule_forbids_is_denied_by_its_prior_spec(world):
    world.write("specs.yaml", JOB_SPEC.replace("gpt-4o-mini", "gpt-4o-2024-08-06"))
    world.ok("apply", "--auto-approve")
    world.write("policy.yaml", _example_policy("allowed_models"))
    world.write("specs.yaml", JOB_SPEC.split("---")[0])
    refused = world.run("apply", "--auto-approve")
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "refusing to apply: Policy.allowed_models denies FineTuningJob.bot: only the mini models" in refused.output
    assert world.sandbox.stats().get("POST /v1/fine_tuning/jobs/{fine_tuning_job_id}/cancel", 0) == 0
    assert "FineTuningJob.bot" in world.state()["resources"]


def test_the_readme_cost_rule_denies_an_unknown_cost_without_crashing(world):
    world.write("specs.yaml", LITERAL_JOB % _uploaded(world) + "---\n" + JOB_SPEC)
    world.sandbox.reset_stats()
    world.write("policy.yaml", "kind: Policy\nname: cheap\nspec:\n  match: [FineTuningJob]\n"
                               "  rule: object.cost.usd < 20.0\n  message: at most $20 per job\n")
    data = json.loads(world.ok("plan", "--json").stdout)
    outcomes = {(p["rule"], p["address"]): (p["outcome"], p["detail"]) for p in data["policies"]}
    assert outcomes[("Policy.cheap", "FineTuningJob.bot")] == ("pass", None)
    outcome, detail = outcomes[("Policy.cheap", "FineTuningJob.literal")]
    assert outcome == "deny" and detail.startswith("rule failed to evaluate: no such member in mapping: 'usd'")
    refused = world.run("apply", "--auto-approve")
    assert refused.exit_code == 1
    assert "Policy.cheap denies FineTuningJob.literal" in refused.output.strip().splitlines()[-1]
    assert _jobs_created(world) == 0 and world.sandbox.stats().get("POST /v1/files", 0) == 0


def test_validate_warns_on_a_rule_that_reads_a_field_that_may_be_absent(world):
    world.write("specs.yaml", JOB_SPEC)
    world.write("policy.yaml", "kind: Policy\nname: cheap\nspec:\n  match: [FineTuningJob]\n"
                               "  rule: object.cost.usd < 20.0 && object.spec.suffix.size() < 20\n  message: m\n"
                               "---\nkind: Policy\nname: guarded\nspec:\n  match: [FineTuningJob]\n"
                               "  rule: '!has(object.cost.usd) || object.cost.usd < 20.0'\n  message: m\n")
    result = world.ok("validate")
    where = f"{world.specs / 'policy.yaml'}:5: Policy.cheap: spec.rule: "
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning: ")]
    assert warnings == [
        f"Warning: {where}reads object.cost.usd without has(): it is absent when the job's cost is unknown, and "
        "the rule then fails to evaluate, which denies that change; say what absent means with "
        "has(object.cost.usd) && … or !has(object.cost.usd) || …",
        f"Warning: {where}reads object.spec.suffix without has(): it is absent when the spec does not write it, "
        "and the rule then fails to evaluate, which denies that change; say what absent means with "
        "has(object.spec.suffix) && … or !has(object.spec.suffix) || …"]
    assert sum(world.sandbox.stats().values()) == 0


def test_policy_test_reads_fixtures_as_a_plan_is_read(world, tmp_path):
    """`policy test`: a null in a fixture is absent, and a rule that fails to evaluate on it gives
    the rule's enforcement (not an error that stops the run)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("kind: Policy\nname: bare\nspec:\n  match: [FineTuningJob]\n  rule: object.cost.usd < 20.0\n"
                     "  message: m\n---\nkind: Policy\nname: guarded\nspec:\n  match: [FineTuningJob]\n"
                     "  rule: '!has(object.cost.usd) || object.cost.usd < 20.0'\n  message: m\n  enforcement: warn\n")
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    (fixtures / "unknown.json").write_text(json.dumps({
        "name": "unknown cost", "object": {"kind": "FineTuningJob", "cost": {"usd": None, "unknown_reason": "x"}},
        "expect": {"Policy.bare": "deny", "Policy.guarded": "pass"}}))
    (fixtures / "known.json").write_text(json.dumps({
        "name": "known cost", "object": {"kind": "FineTuningJob", "cost": {"usd": 25.0}},
        "expect": {"Policy.bare": "deny", "Policy.guarded": "warn"}}))
    result = world.ok("policy", "test", str(rules), "--fixtures", str(fixtures))
    assert "2 passed, 0 failed" in result.output, result.output
