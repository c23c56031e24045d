"""`compare` with a score_model grader, through the real CLI against the real sandbox over HTTP:
each pair graded through graders/run, the grader's tokens estimated, budgeted and billed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from reconciler.cost.pricing import model_inference_price
from tests.e2e.conftest import World
from tests.e2e.test_record_e2e import trained

CHAT = "POST /v1/chat/completions"
RUN = "POST /v1/fine_tuning/alpha/graders/run"
JUDGE = "gpt-4o-2024-08-06"

GRADER = f"""\
type: score_model
name: judge
model: {JUDGE}
input:
  - role: system
    content: Rate from 0 to 10 how closely the answer says what the reference answer says.
  - role: user
    content: "Question: {{{{item.prompt}}}}\\nReference: {{{{item.reference}}}}\\nAnswer: {{{{sample.output_text}}}}"
range: [0, 10]
sampling_params: {{temperature: 0, max_completions_tokens: 8}}
"""


def _grader_file(tmp_path: Path, text: str = GRADER) -> Path:
    path = tmp_path / "grader.yaml"
    path.write_text(text)
    return path


def test_a_score_model_grader_passes_the_model_itself_scores_a_base_model_lower_and_bills_as_estimated(
        world: World, tmp_path: Path) -> None:
    model = trained(world)
    rec = tmp_path / "rec"
    world.ok("record", str(rec), "--auto-approve")
    grader = _grader_file(tmp_path)

    world.sandbox.reset_stats()
    same = world.run("compare", str(rec), "--model", model, "--grader-file", str(grader), "--auto-approve", "--json",
                     "--parallelism", "3")
    assert same.exit_code == 0, same.output
    [report] = json.loads(same.output)["comparisons"]
    assert report["summary"]["passed"] and report["summary"]["min"] == 1.0 and report["summary"]["count"] == 12
    assert report["grader"]["type"] == "score_model" and report["grader_errors"] == []
    assert world.sandbox.stats()[RUN] == 12

    # what the sandbox billed for the grader's model is what the report says was billed, and what
    # the prompts rendered and counted beforehand come to; the cost is those tokens at its price
    sandbox_billed = world.sandbox.world.usage[JUDGE]
    grading = report["grading"]
    billed = grading["billed"]
    assert (billed["prompt_tokens"], billed["completion_tokens"], billed["requests"]) == (
        sandbox_billed["prompt_tokens"], sandbox_billed["completion_tokens"], sandbox_billed["requests"])
    assert grading["estimated_prompt_tokens"] == sandbox_billed["prompt_tokens"]
    price = model_inference_price(JUDGE)
    assert price is not None
    assert billed["cost"]["usd"] == round((sandbox_billed["prompt_tokens"] * price.input
                                           + sandbox_billed["completion_tokens"] * price.output) / 1e6, 6)
    assert billed["cost"]["price"]["source"] == price.source
    # the estimate shown before the run (answers not yet asked: bounded) covers what was billed
    estimate = grading["estimate"]
    assert estimate["prompts"] == 12 and estimate["completion_tokens_max"] == 12 * 8
    assert estimate["prompt_tokens"] >= sandbox_billed["prompt_tokens"]
    assert estimate["cost"]["usd_max"] >= billed["cost"]["usd"]

    # run again: every pair is graded already, nothing is sent or paid again
    world.sandbox.reset_stats()
    again = world.run("compare", str(rec), "--model", model, "--grader-file", str(grader), "--auto-approve")
    assert again.exit_code == 0, again.output
    assert "nothing to grade" in again.output and "grader tokens billed:" in again.output
    assert world.sandbox.stats().get(RUN, 0) == 0 and world.sandbox.stats().get(CHAT, 0) == 0

    # another base model, the same grader given inline: lower, and it fails the threshold
    inline = json.dumps({"type": "score_model", "name": "judge", "model": JUDGE, "range": [0, 10],
                         "input": [{"role": "user", "content": "Reference: {{item.reference}}\n"
                                                               "Answer: {{sample.output_text}}"}],
                         "sampling_params": {"max_completions_tokens": 8}})
    base = world.run("compare", str(rec), "--model", "gpt-4.1-mini", "--grader", inline, "--auto-approve",
                     "--threshold", "0.9")
    assert base.exit_code == 1, base.output
    assert "FAIL" in base.output and "lowest scores:" in base.output
    assert "to grade with gpt-4o-2024-08-06 (graders/run)" in base.output
    saved = json.loads((rec / "FineTuningJob.bot" / "compare" / "gpt-4.1-mini" / "report.json").read_text())
    assert saved["summary"]["mean"] < 0.9 and len(saved["scores"]) == 12

    # the report page's section names the grader's model and what its tokens were billed
    page = tmp_path / "report.html"
    world.ok("report", "--html", str(page), "--recordings", str(rec))
    html = page.read_text()
    assert f"score_model:{JUDGE}" in html and html.count("grader tokens billed") == 2


def test_grading_goes_on_through_rate_limits(world: World, tmp_path: Path) -> None:
    model = trained(world)
    rec = tmp_path / "rec"
    world.ok("record", str(rec), "--auto-approve", "--max-prompts", "6")
    world.sandbox.set_faults(rate_429=0.5, retry_after=0, seed=3, paths=["/v1/fine_tuning/alpha/graders/run"])
    result = world.run("compare", str(rec), "--model", model, "--grader-file", str(_grader_file(tmp_path)),
                       "--auto-approve", "--json", "--max-prompts", "6")
    world.sandbox.clear_faults()
    assert result.exit_code == 0, result.output
    assert "429 rate limited: retrying POST /fine_tuning/alpha/graders/run" in result.stderr
    [report] = json.loads(result.stdout)["comparisons"]
    assert report["summary"]["count"] == 6 and report["grader_errors"] == []
    assert report["grading"]["billed"]["requests"] == 6


def test_the_budget_counts_the_grader_and_an_unbounded_grader_is_unknown_cost(world: World, tmp_path: Path) -> None:
    model = trained(world)
    rec = tmp_path / "rec"
    world.ok("record", str(rec), "--auto-approve", "--max-prompts", "4")
    world.write("settings.yaml", """\
        kind: Settings
        name: default
        spec:
          budgets: {max_cost_per_apply: 5}
        """)
    unbounded = _grader_file(tmp_path, GRADER.replace("temperature: 0, max_completions_tokens: 8", "temperature: 0"))
    world.sandbox.reset_stats()
    refused = world.run("compare", str(rec), "--model", model, "--grader-file", str(unbounded), "--auto-approve",
                        "--max-prompts", "4")
    assert refused.exit_code == 1
    assert "the cost of FineTuningJob.bot (grader) is unknown (the grader's answers are not bounded" in refused.output
    assert world.sandbox.stats().get(RUN, 0) == 0 and world.sandbox.stats().get(CHAT, 0) == 0

    unpriced = _grader_file(tmp_path, GRADER.replace(JUDGE, "o3-2025-04-16"))
    refused = world.run("compare", str(rec), "--model", model, "--grader-file", str(unpriced), "--auto-approve",
                        "--max-prompts", "4")
    assert refused.exit_code == 1
    assert "no inference price for the grader's model o3-2025-04-16" in refused.output
    assert world.sandbox.stats().get(RUN, 0) == 0


def test_a_malformed_grader_is_one_line_naming_file_line_and_field(world: World, tmp_path: Path) -> None:
    trained(world)
    rec = tmp_path / "rec"
    world.ok("record", str(rec), "--auto-approve", "--max-prompts", "2")
    world.sandbox.reset_stats()
    typo = _grader_file(tmp_path, GRADER.replace("range:", "rnage:"))
    result = world.run("compare", str(rec), "--model", "gpt-4.1-mini", "--grader-file", str(typo), "--auto-approve")
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if "grader.yaml" in line]
    assert len(errors) == 1 and f"{typo}:9: rnage: unknown field 'rnage'" in errors[0], result.output
    assert errors[0].startswith("Error: ")

    # the same through the installed CLI in a process of its own: one line on stderr, exit 1
    env = {**os.environ, **world.env(), "RECONCILER_CACHE_DIR": "off"}
    child = subprocess.run([sys.executable, "-m", "reconciler", "-C", str(world.specs), "--state",
                            str(world.state_file), "compare", str(rec), "--model", "gpt-4.1-mini", "--grader-file",
                            str(typo), "--auto-approve"], env=env, capture_output=True, text=True, timeout=120)
    assert child.returncode == 1 and child.stdout == ""
    assert [line for line in child.stderr.splitlines() if line.strip()] == [errors[0]]

    unknown_item = _grader_file(tmp_path, GRADER.replace("{{item.prompt}}", "{{item.question}}"))
    result = world.run("compare", str(rec), "--model", "gpt-4.1-mini", "--grader-file", str(unknown_item))
    assert result.exit_code == 1
    assert f"{unknown_item}:8: input[1].content: {{{{item.question}}}}: a comparison gives a grader" in result.output

    result = world.run("compare", str(rec), "--model", "gpt-4.1-mini", "--grader",
                       '{"type": "score_model", "model": "gpt-4o", "input": [{"role": "user", "content": "hi"}]}')
    assert result.exit_code == 1
    assert "--grader: input: no message shows the new answer" in result.output
    assert world.sandbox.stats().get(RUN, 0) == 0 and world.sandbox.stats().get(CHAT, 0) == 0


EVALUATION = f"""\
kind: Evaluation
name: judged
spec:
  recording: ../recordings/FineTuningJob.bot
  target: ${{FineTuningJob.bot.fine_tuned_model}}
  threshold: 0.9
  grader:
    type: score_model
    model: {JUDGE}
    input:
      - role: user
        content: "Reference: {{{{item.reference}}}}\\nAnswer: {{{{sample.output_text}}}}"
    sampling_params: {{max_completions_tokens: 8}}
"""


def test_an_evaluation_with_a_score_model_grader_is_planned_priced_and_gated(world: World) -> None:
    model = trained(world)
    world.ok("record", str(world.root / "recordings"), "--auto-approve", "--max-prompts", "5")
    world.write("evaluations.yaml", EVALUATION)
    planned = json.loads(world.ok("plan", "--json").output)
    [before] = planned["evaluations"]
    assert before["status"] == "missing" and before["grader"] == f"score_model {JUDGE}"
    assert before["cost"]["usd_max"] is not None and before["cost"]["usd_max"] > 0   # asking it + grading, priced

    world.sandbox.reset_stats()
    gate = world.run("compare", "--evaluation", "Evaluation.judged", "--auto-approve", "--json")
    assert gate.exit_code == 0, gate.output
    [report] = json.loads(gate.stdout)["comparisons"]
    assert report["candidate"] == model and report["summary"]["min"] == 1.0
    assert world.sandbox.stats()[RUN] == 5
    assert report["grading"]["billed"]["prompt_tokens"] == world.sandbox.world.usage[JUDGE]["prompt_tokens"]
    [after] = json.loads(world.ok("plan", "--json").output)["evaluations"]
    assert after["status"] == "pass" and after["score"] == 1.0
