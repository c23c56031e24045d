"""Policies and budgets through the real CLI against the real sandbox over HTTP: a deny blocks
apply before any job is created, an override proceeds and is recorded in the state, a warning is
shown and applies, a budget refuses, bad input is one line with zero requests."""

from __future__ import annotations

import json

from tests.e2e.conftest import JOB_SPEC

DENY_EPOCHS = """\
kind: Policy
name: fixed_epochs
spec:
  match: [FineTuningJob]
  rule: 'has(object.spec.method.supervised.hyperparameters.n_epochs) &&
         object.spec.method.supervised.hyperparameters.n_epochs != "auto"'
  message: set n_epochs explicitly so the cost is predictable
  enforcement: %s
"""

OWNER = """\
---
kind: Policy
name: owner
spec:
  match: [FineTuningJob]
  rule: 'has(object.spec.metadata) && "team" in object.spec.metadata'
  message: every job names its team in metadata
"""


def _jobs_created(world) -> int:
    return world.sandbox.stats().get("POST /v1/fine_tuning/jobs", 0)


def test_a_deny_blocks_apply_before_any_job_is_created(world):
    world.write("specs.yaml", JOB_SPEC)
    world.write("policy.yaml", DENY_EPOCHS % "deny" + OWNER)
    plan = world.ok("plan")
    assert "Policies: 1 passed, 1 denied" in plan.output
    assert "✗ deny  Policy.fixed_epochs  FineTuningJob.bot" in plan.output
    result = world.run("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: refusing to apply: Policy.fixed_epochs denies FineTuningJob.bot: set n_epochs")
    assert "--policy-override Policy.fixed_epochs --reason TEXT" in last
    assert "Traceback" not in result.output
    assert _jobs_created(world) == 0
    assert world.sandbox.stats().get("POST /v1/files", 0) == 0
    assert world.jobs() == []


def test_plan_json_and_markdown_list_every_result(world):
    world.write("specs.yaml", JOB_SPEC)
    world.write("policy.yaml", DENY_EPOCHS % "deny" + OWNER)
    data = json.loads(world.ok("plan", "--json").output)
    outcomes = {(p["rule"], p["address"]): p["outcome"] for p in data["policies"]}
    assert outcomes == {("Policy.fixed_epochs", "FineTuningJob.bot"): "deny",
                        ("Policy.owner", "FineTuningJob.bot"): "pass"}
    md = world.ok("plan", "--format", "markdown").output
    assert "| ✗ deny | `Policy.fixed_epochs` | `FineTuningJob.bot` |" in md


def test_override_proceeds_and_is_recorded_in_the_state(world):
    world.write("specs.yaml", JOB_SPEC)
    world.write("policy.yaml", DENY_EPOCHS % "deny")
    refused = world.run("apply", "--auto-approve", "--policy-override", "fixed_epochs")
    assert refused.exit_code == 1 and "needs --reason TEXT" in refused.output
    typo = world.run("apply", "--auto-approve", "--policy-override", "fixed_epoch", "--reason", "x")
    assert typo.exit_code == 1 and "no policy or budget of that name" in typo.output
    assert _jobs_created(world) == 0
    result = world.ok("apply", "--auto-approve", "--policy-override", "Policy.fixed_epochs",
                      "--reason", "auto epochs reviewed by finance")
    assert "↷ overridden" in result.output
    assert _jobs_created(world) == 1
    meta = world.state()["resources"]["FineTuningJob.bot"]["meta"]
    [record] = meta["policy_overrides"]
    assert record["rule"] == "Policy.fixed_epochs"
    assert record["reason"] == "auto epochs reviewed by finance"
    assert "@" in record["by"] and record["at"].endswith("Z")


def test_a_warning_is_shown_and_apply_proceeds(world):
    world.write("specs.yaml", JOB_SPEC)
    world.write("policy.yaml", DENY_EPOCHS % "warn")
    result = world.ok("apply", "--auto-approve")
    assert "! warn  Policy.fixed_epochs  FineTuningJob.bot" in result.output
    assert "Apply complete!" in result.output
    assert _jobs_created(world) == 1


SWEEP = """\
kind: File
name: train
spec:
  path: data/train.jsonl
""" + "".join(f"""\
---
kind: FineTuningJob
name: job{i}
spec:
  model: gpt-4o-mini
  training_file: ${{File.train.id}}
  suffix: s{i}
""" for i in range(3))


def test_max_new_jobs_budget_refuses(world):
    world.write("specs.yaml", SWEEP)
    world.write("settings.yaml", "kind: Settings\nname: default\nspec:\n  budgets:\n    max_new_jobs: 2\n")
    result = world.run("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert "budgets.max_new_jobs denies plan: the plan creates more fine-tuning jobs than the budget allows: " \
           "3 new jobs, the budget is 2 (" in result.output
    assert _jobs_created(world) == 0
    world.write("settings.yaml", "kind: Settings\nname: default\nspec:\n  budgets:\n    max_new_jobs: 3\n")
    world.ok("apply", "--auto-approve")
    assert _jobs_created(world) == 3


BAD_INPUT = [
    ("policy.yaml", "kind: Policy\nname: p\nspec:\n  match: [FineTuningJob]\n  rule: object.spec.\n"
                    "  message: m\n", "policy.yaml:5: Policy.p: spec.rule: CEL syntax error"),
    ("policy.yaml", "kind: Policy\nname: p\nspec:\n  match: [FineTuningJob]\n  rule: object.spec.x == 1\n"
                    "  message: m\n  enforcment: warn\n", "policy.yaml:7: Policy.p: spec.enforcment: unknown field"),
    ("policy.yaml", "kind: Policy\nname: p\nspec:\n  match: [FineTuningJob]\n  rule: object.a + 1\n"
                    "  message: m\n", "policy.yaml:5: Policy.p: spec.rule: 'object.a + 1' gives a sum, not true"),
    ("policy.yaml", "kind: Policy\nname: p\nspec:\n  match: [FineTuningJob]\n  rule: specs.a == 1\n"
                    "  message: m\n", "policy.yaml:5: Policy.p: spec.rule: unknown name 'specs'"),
    ("settings.yaml", "kind: Settings\nname: default\nspec:\n  budgets:\n    max_new_jobs: three\n",
     "settings.yaml:5: Settings.default: spec.budgets.max_new_jobs: expected an integer, got 'three'"),
]


def test_bad_input_is_one_line_before_any_request(world):
    world.write("specs.yaml", JOB_SPEC)
    for name, text, expected in BAD_INPUT:
        world.write(name, text)
        world.sandbox.reset_stats()
        for command in (["validate"], ["plan"], ["apply", "--auto-approve"]):
            result = world.run(*command)
            assert result.exit_code == 1, (command, result.output)
            assert expected in result.output, (command, result.output)
            assert "Traceback" not in result.output
        assert sum(world.sandbox.stats().values()) == 0, world.sandbox.stats()
        (world.specs / name).unlink()


def test_a_rule_failing_at_evaluation_denies_its_change_before_any_change(world):
    world.write("specs.yaml", JOB_SPEC)
    world.write("policy.yaml", "kind: Policy\nname: p\nspec:\n  match: [FineTuningJob]\n"
                               "  rule: object.spec.hyperparameters.n_epochs <= 3\n  message: m\n")
    result = world.run("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "policy.yaml:5: Policy.p: spec.rule: reads object.spec.hyperparameters without has()" in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: refusing to apply: Policy.p denies FineTuningJob.bot: m: rule failed to "
                           "evaluate: no such member in mapping: 'hyperparameters'"), last
    assert "policy.yaml:5)" in last
    assert "Traceback" not in result.output
    assert _jobs_created(world) == 0 and world.sandbox.stats().get("POST /v1/files", 0) == 0


def test_a_saved_plan_keeps_its_denies(world, tmp_path):
    world.write("specs.yaml", JOB_SPEC)
    world.write("policy.yaml", DENY_EPOCHS % "deny")
    saved = tmp_path / "plan.json"
    world.ok("plan", "--out", str(saved))
    assert json.loads(saved.read_text())["policies"][0]["outcome"] == "deny"
    refused = world.run("apply", str(saved))
    assert refused.exit_code == 1
    assert "refusing to apply: Policy.fixed_epochs denies FineTuningJob.bot" in refused.output
    assert _jobs_created(world) == 0
    world.ok("apply", str(saved), "--policy-override", "fixed_epochs", "--reason", "one-off")
    assert _jobs_created(world) == 1
    assert world.state()["resources"]["FineTuningJob.bot"]["meta"]["policy_overrides"][0]["reason"] == "one-off"


def test_sync_obeys_a_deny(world):
    world.write("specs.yaml", JOB_SPEC)
    world.write("policy.yaml", DENY_EPOCHS % "deny")
    result = world.run("sync")
    assert result.exit_code == 1, result.output
    assert "refusing to apply: Policy.fixed_epochs denies FineTuningJob.bot" in result.output
    assert _jobs_created(world) == 0
