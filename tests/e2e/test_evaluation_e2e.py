"""`kind: Evaluation` through the real CLI against the real sandbox over HTTP: the quick-start job
recorded; an Evaluation of itself passes, one against another base model fails; plan shows both,
drift reports the failure (and `--fail-on health` exits 2), `compare --evaluation` is the gate."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.e2e.conftest import JOB_SPEC, World

CHAT = "POST /v1/chat/completions"

EVALUATIONS = """\
kind: Evaluation
name: itself
spec:
  recording: ../recordings/FineTuningJob.bot
  target: ${FineTuningJob.bot.fine_tuned_model}
  threshold: 0.9
---
kind: Evaluation
name: base
spec:
  recording: ../recordings/FineTuningJob.bot
  target: %s
  grader: {type: text_similarity, evaluation_metric: fuzzy_match}
  threshold: 0.8
"""


def _schema(name: str) -> dict[str, object]:
    return dict(json.loads((importlib.resources.files("reconciler") / "render" / "schema" / name).read_text()))


def _statuses(world: World) -> dict[str, dict[str, Any]]:
    planned = json.loads(world.ok("plan", "--json").output)
    jsonschema.validate(planned, _schema("plan.schema.json"))
    return {e["address"]: e for e in planned["evaluations"]}


def test_evaluations_shown_by_plan_and_drift_and_gated_by_compare(world: World) -> None:
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.sandbox.advance(3600)
    [job] = world.jobs()
    model = str(job["fine_tuned_model"])
    world.ok("record", str(world.root / "recordings"), "--auto-approve", "--max-prompts", "6")
    world.write("evaluations.yaml", EVALUATIONS % "gpt-4.1-mini")

    # never compared: missing, with what running it would cost (a base model's price is unknown)
    before = _statuses(world)
    assert before["Evaluation.itself"]["status"] == "missing"
    assert before["Evaluation.itself"]["target"] == model   # read from the API: the state still says running
    assert before["Evaluation.itself"]["cost"]["usd_max"] > 0
    assert before["Evaluation.base"]["cost"] == {"usd_max": None, "reason": before["Evaluation.base"]["cost"]["reason"]}
    assert "base model" in before["Evaluation.base"]["cost"]["reason"]
    text = world.ok("plan").output
    assert "Evaluations: 2 missing" in text
    assert "run `reconciler compare --evaluation Evaluation.base`: cost unknown" in text

    # the gate: compare by address writes the result; exit 0 on pass, 1 on fail
    world.sandbox.reset_stats()
    passed = world.run("compare", "--evaluation", "Evaluation.itself", "--auto-approve")
    assert passed.exit_code == 0, passed.output
    assert world.sandbox.stats()[CHAT] == 6
    failed = world.run("compare", "--evaluation", "Evaluation.base", "--auto-approve", "--json")
    assert failed.exit_code == 1, failed.output
    [report] = json.loads(failed.output)["comparisons"]
    assert report["evaluation"] == "Evaluation.base" and not report["summary"]["passed"]

    after = _statuses(world)
    assert after["Evaluation.itself"]["status"] == "pass" and after["Evaluation.itself"]["score"] == 1.0
    assert after["Evaluation.itself"]["compared_at"]
    assert after["Evaluation.base"]["status"] == "fail" and after["Evaluation.base"]["score"] < 0.8
    text = world.ok("plan").output
    assert "✓ pass  Evaluation.itself" in text and "✗ fail  Evaluation.base" in text
    assert "gpt-4.1-mini scored" in text and "< 0.800" in text
    markdown = world.ok("plan", "--format", "markdown").output   # the pull-request comment
    assert "#### Evaluations" in markdown and "| ✗ fail | `Evaluation.base` | gpt-4.1-mini scored " in markdown

    # drift: the failing evaluation is a health finding; --fail-on health makes it the CI's exit 2
    drift = world.run("drift", "--format", "json", "--fail-on", "health")
    assert drift.exit_code == 2, drift.output
    jsonschema.validate(json.loads(drift.output), _schema("drift.schema.json"))
    findings = [(f["address"], f["category"]) for f in json.loads(drift.output)["findings"] if f["kind"] == "Evaluation"]
    assert findings == [("Evaluation.base", "evaluation_failed")]
    assert "evaluation failed" in world.run("drift").output

    # asked again: nothing is sent, the comparison is kept
    world.sandbox.reset_stats()
    assert world.run("compare", "--evaluation", "Evaluation.itself", "--auto-approve").exit_code == 0
    assert world.sandbox.stats().get(CHAT, 0) == 0

    # another target since the comparison: stale, and drift says so
    world.write("evaluations.yaml", EVALUATIONS % "gpt-4.1-nano")
    stale = _statuses(world)["Evaluation.base"]
    assert stale["status"] == "stale" and stale["compared"] == "gpt-4.1-mini" and stale["target"] == "gpt-4.1-nano"
    drift = world.run("drift", "--format", "json")
    assert ("Evaluation.base", "evaluation_stale") in [(f["address"], f["category"])
                                                       for f in json.loads(drift.output)["findings"]]


RECORDED = {"format_version": 1, "model": "ft:gpt-4o-mini-2024-07-18:org::abc", "complete": True}
BAD = [
    # (spec lines, line of the error, field, message part)
    ("  recording: nowhere\n  target: gpt-4.1-mini\n", 5, "spec.recording", "recording folder nowhere does not exist"),
    ("  recording: empty\n  target: gpt-4.1-mini\n", 5, "spec.recording", "holds no recording"),
    ("  recording: rec\n  target: gpt-4.1-mini\n  threshold: 1.5\n", 7, "spec.threshold", "a number from 0 to 1"),
    ("  recording: rec\n  target: gpt-4.1-mini\n  threshold: -0.1\n", 7, "spec.threshold", "a number from 0 to 1"),
    ("  recording: rec\n  target: gpt-4.1-mini\n  grader: {type: label_model}\n", 7, "spec.grader.type",
     "unknown grader type 'label_model'"),
    ("  recording: rec\n  target: gpt-4.1-mini\n  grader: {type: score_model, input: [{role: user, content: hi}]}\n",
     7, "spec.grader.model", "expected the grader's model"),
    ("  recording: rec\n  target: gpt-4.1-mini\n  grader:\n    type: score_model\n    model: gpt-4o\n"
     "    input:\n      - {role: user, content: '{{item.answer}} {{sample.output_text}}'}\n", 11,
     "spec.grader.input[0].content", "{{item.answer}}: a comparison gives a grader"),
    ("  recording: rec\n  target: gpt-4.1-mini\n  grader: {type: text_similarity, evaluation_metric: cosine}\n", 7,
     "spec.grader.evaluation_metric", "is computed only by the platform"),
    ("  recording: rec\n  target: gpt-4.1-mini\n  grader: {type: string_check, operation: equals}\n", 7,
     "spec.grader.operation", "expected one of eq, ne, like, ilike"),
    ("  recording: rec\n  target: ${FineTuningJob.nobody.fine_tuned_model}\n", 6, "spec.target",
     "refers to FineTuningJob.nobody, which no document declares"),
    ("  recording: rec\n  targte: gpt-4.1-mini\n", 6, "spec.targte", "did you mean 'target'"),
    ("  recording: rec\n  target: ${Deployment.bot.deployment_name}\n", 6, "spec.target",
     "an Evaluation asks a Deployment's model through it: write ${Deployment.bot.model}"),
]


@pytest.mark.parametrize(("spec", "line", "field", "message"), BAD)
def test_an_invalid_evaluation_is_one_line_naming_file_line_and_field(tmp_path: Path, spec: str, line: int,
                                                                     field: str, message: str) -> None:
    (tmp_path / "rec" / "recording").mkdir(parents=True)
    (tmp_path / "rec" / "recording" / "manifest.json").write_text(json.dumps(RECORDED))
    (tmp_path / "empty").mkdir()
    (tmp_path / "e.yaml").write_text("---\nkind: Evaluation\nname: switch\nspec:\n" + spec)
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "--state", str(tmp_path / "s.json"), "validate"],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 1, result.output
    errors = [ln for ln in result.output.splitlines() if "e.yaml:" in ln]
    assert [ln for ln in errors if f"e.yaml:{line}: Evaluation.switch: {field}: " in ln and message in ln], errors


def test_a_recording_folder_removed_after_a_cached_load_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "rec" / "recording").mkdir(parents=True)
    (tmp_path / "rec" / "recording" / "manifest.json").write_text(json.dumps(RECORDED))
    (tmp_path / "e.yaml").write_text("kind: Evaluation\nname: switch\nspec:\n  recording: rec\n  target: gpt-4.1-mini\n")
    argv = ["-C", str(tmp_path), "--state", str(tmp_path / "state" / "s.json"), "validate"]
    for _ in range(3):   # the spec cache stores the load on the second and answers the third
        assert CliRunner().invoke(cli, argv, env={"NO_COLOR": "1"}).exit_code == 0
    (tmp_path / "rec" / "recording" / "manifest.json").unlink()
    refused = CliRunner().invoke(cli, argv, env={"NO_COLOR": "1"})
    assert refused.exit_code == 1 and "e.yaml:4: Evaluation.switch: spec.recording: rec holds no recording" in refused.output
