"""Lifecycle conditions through the real CLI against the real sandbox over HTTP, on a copy of
examples/policy: a postcondition holds a grant back until the job's final valid_loss is below the
threshold (the sandbox's loss curve is deterministic: a learning-rate multiplier of 0.1 ends near
1.0, "auto" below 0.2), reported under health, never as drift; a failing precondition creates
nothing. Counts the sandbox's POSTs, never times."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import World

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy"
GRANTS = "POST /v1/fine_tuning/checkpoints/{ckpt}/permissions"
JOBS = "POST /v1/fine_tuning/jobs"


@pytest.fixture
def example(world: World) -> World:
    shutil.copytree(EXAMPLE, world.specs, dirs_exist_ok=True)
    return world


def _count(world: World, what: str) -> int:
    return int(world.sandbox.stats().get(what, 0))


def _set_lr(world: World, value: str) -> None:
    path = world.specs / "specs.yaml"
    text = path.read_text()
    path.write_text(text.replace("learning_rate_multiplier: auto", f"learning_rate_multiplier: {value}")
                    if value != "auto" else text.replace("learning_rate_multiplier: 0.1",
                                                         "learning_rate_multiplier: auto"))


def test_the_example_applies_and_grants_once_the_job_passes(example: World):
    first = example.ok("apply", "--auto-approve")
    assert "Policies: 6 passed" in first.output, first.output  # the held grant is not planned
    assert _count(example, JOBS) == 1 and _count(example, GRANTS) == 0
    assert "CheckpointPermission.share: held back: FineTuningJob.sql_bot is not complete yet" in first.output
    example.finish_jobs()
    second = example.ok("apply", "--auto-approve")
    assert _count(example, GRANTS) == 1, second.output
    assert _count(example, JOBS) == 1
    example.ok("plan", "--detailed-exitcode")  # nothing left to do


def test_a_postcondition_holds_the_grant_until_the_metric_is_good_enough(example: World):
    _set_lr(example, "0.1")
    example.ok("apply", "--auto-approve")
    example.finish_jobs()
    plan = example.ok("plan")
    assert "FineTuningJob.sql_bot: postcondition failed: the final validation loss must be below 0.5 before " \
           "the model is shared (" in plan.output
    assert "CheckpointPermission.share: held back: FineTuningJob.sql_bot failed its postcondition" in plan.output
    example.ok("apply", "--auto-approve")
    assert _count(example, GRANTS) == 0
    report = json.loads(example.run("drift", "--format", "json").output)
    findings = report["findings"] if isinstance(report, dict) and "findings" in report else report
    text = json.dumps(findings)
    assert "postcondition_failed" in text
    assert not [f for f in findings if f.get("axis") == "drift"], findings
    # a better run: the learning rate back to auto replaces the job (the budget allows one replacement)
    _set_lr(example, "auto")
    replaced = example.ok("apply", "--auto-approve")
    assert _count(example, JOBS) == 2 and _count(example, GRANTS) == 0, replaced.output
    example.finish_jobs()
    example.ok("apply", "--auto-approve")
    assert _count(example, GRANTS) == 1
    assert "postcondition" not in example.ok("plan").output


def test_a_failing_precondition_creates_nothing_that_depends_on_it(example: World):
    path = example.specs / "specs.yaml"
    path.write_text(path.read_text().replace("suffix: sql-bot", "suffix: sql-bot-with-a-long-name"))
    result = example.ok("apply", "--auto-approve")
    assert "FineTuningJob.sql_bot: precondition failed: the suffix must fit in 18 characters" in result.output
    assert "CheckpointPermission.share: held back: FineTuningJob.sql_bot failed its precondition" in result.output
    assert _count(example, JOBS) == 0 and _count(example, GRANTS) == 0
    assert "FineTuningJob.sql_bot" not in example.state().get("resources", {})


def test_policy_test_runs_the_example_fixtures(example: World, tmp_path: Path):
    ok = example.ok("policy", "test", str(example.specs / "policy.yaml"), "--fixtures",
                    str(example.specs / "fixtures"))
    assert "4 passed, 0 failed" in ok.output
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "f.yaml").write_text("name: expects a pass\nobject: {kind: FineTuningJob, spec: {model: gpt-4o, "
                                  "metadata: {team: a}}}\nexpect: pass\n")
    failed = example.run("policy", "test", str(example.specs / "policy.yaml"), "--fixtures", str(wrong))
    assert failed.exit_code == 1
    assert "FAIL  expects a pass  got deny, expected pass (" in failed.output
    assert sum(example.sandbox.stats().values()) == 0
