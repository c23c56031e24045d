"""`reconciler record` and `compare` through the real CLI against the real sandbox over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.cost.pricing import inference_price
from tests.e2e.conftest import JOB_SPEC, PROJECT_KEY, World

CHAT = "POST /v1/chat/completions"


def trained(world: World) -> str:
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    [job] = world.jobs()   # the state still says running: record reads the live listing
    assert job["fine_tuned_model"]
    return str(job["fine_tuned_model"])


def test_record_then_compare_with_itself_passes_and_with_a_base_model_fails(world: World, tmp_path: Path) -> None:
    model = trained(world)
    rec = tmp_path / "rec"
    world.sandbox.reset_stats()
    out = json.loads(world.ok("record", str(rec), "--auto-approve", "--json").output)
    [recording] = out["recordings"]
    manifest = recording["manifest"]
    assert (manifest["model"], manifest["complete"], manifest["prompts"]) == (model, True, 12)
    assert manifest["sampling"] == {"temperature": 0, "seed": manifest["sampling"]["seed"], "max_completion_tokens": 512}
    assert world.sandbox.stats()[CHAT] == 12
    # the estimate's prompt tokens are what the API billed
    billed = world.sandbox.world.usage[model]
    assert recording["estimate"]["prompt_tokens"] == billed["prompt_tokens"] == manifest["usage"]["prompt_tokens"]
    assert manifest["usage"]["completion_tokens"] == billed["completion_tokens"]
    # the cost is the billed tokens at the sourced inference price of the model's base
    price = inference_price(model)
    assert price is not None and manifest["cost"]["price"]["source"] == price.source
    assert manifest["cost"]["usd"] == round((billed["prompt_tokens"] * price.input
                                             + billed["completion_tokens"] * price.output) / 1e6, 6)
    assert recording["estimate"]["cost"]["usd_prompts"] == round(billed["prompt_tokens"] * price.input / 1e6, 6)
    assert recording["estimate"]["cost"]["usd_max"] >= manifest["cost"]["usd"]
    folder = rec / "FineTuningJob.bot" / "recording"
    import hashlib
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest

    # a second record sends nothing
    world.sandbox.reset_stats()
    world.ok("record", str(rec), "--auto-approve")
    assert world.sandbox.stats().get(CHAT, 0) == 0

    same = world.run("compare", str(rec), "--model", model, "--auto-approve", "--json")
    assert same.exit_code == 0, same.output
    [report] = json.loads(same.output)["comparisons"]
    assert report["summary"]["passed"] and report["summary"]["min"] == 1.0 and report["summary"]["count"] == 12

    base = world.run("compare", str(rec), "--model", "gpt-4.1-mini", "--auto-approve", "--threshold", "0.8")
    assert base.exit_code == 1, base.output
    assert "FAIL" in base.output and "lowest scores:" in base.output
    assert "recorded: Answer" in base.output  # the recorded answer shown beside the candidate's
    report_file = rec / "FineTuningJob.bot" / "compare" / "gpt-4.1-mini" / "report.json"
    saved = json.loads(report_file.read_text())
    assert saved["summary"]["mean"] < 0.8 and len(saved["scores"]) == 12


def test_record_refuses_a_folder_of_another_model_and_needs_approval_without_a_terminal(world: World,
                                                                                        tmp_path: Path) -> None:
    trained(world)
    rec = tmp_path / "rec"
    refused = world.run("record", str(rec))
    assert refused.exit_code == 1
    assert "no terminal to confirm" in refused.output and "--auto-approve" in refused.output
    assert world.sandbox.stats().get(CHAT, 0) == 0
    manifest = rec / "FineTuningJob.bot" / "recording" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["model"] = "ft:gpt-4o-mini-2024-07-18:other::x"
    manifest.write_text(json.dumps(data))
    again = world.run("record", str(rec), "--auto-approve")
    assert again.exit_code == 1
    lines = [line for line in again.output.splitlines() if line.strip()]
    assert lines[-1].startswith("Error: ") or "holds the answers of ft:gpt-4o-mini-2024-07-18:other::x" in again.output
    assert "nothing was overwritten" in again.output
    assert world.sandbox.stats().get(CHAT, 0) == 0


def test_compare_without_a_recording_says_so(world: World, tmp_path: Path) -> None:
    trained(world)
    (tmp_path / "empty").mkdir()
    result = world.run("compare", str(tmp_path / "empty"), "--model", "gpt-4o", "--auto-approve")
    assert result.exit_code == 1
    assert "no complete recording of FineTuningJob.bot" in result.output


def test_sigkill_half_way_then_only_the_missing_prompts_are_sent(world: World, tmp_path: Path) -> None:
    model = trained(world)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"Question {i}?"}]}) + "\n"
                               for i in range(40)))
    rec = tmp_path / "rec"
    answers = rec / "FineTuningJob.bot" / "recording" / "answers.jsonl"
    world.sandbox.set_faults(latency_ms=150)
    env = {**os.environ, **world.env(), "RECONCILER_CACHE_DIR": "off"}
    argv = [sys.executable, "-m", "reconciler", "-C", str(world.specs), "--state", str(world.state_file), "record",
            str(rec), "--prompts", str(prompts), "--parallelism", "1", "--auto-approve"]
    child = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (answers.exists() and answers.read_bytes().count(b"\n") >= 10):
            assert child.poll() is None, "record ended before it was killed"
            assert time.monotonic() < deadline, "no answers written"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    world.sandbox.clear_faults()
    kept = answers.read_bytes().count(b"\n")
    assert 10 <= kept < 40
    done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # Everything the API was ever asked: the 40 prompts, plus at most the one in flight when the
    # first run was killed (its answer never reached the file); nothing answered was asked again.
    assert 40 <= world.sandbox.world.usage[model]["requests"] <= 41
    lines = answers.read_text().splitlines()
    assert len(lines) == 40 and len({json.loads(line)["prompt_id"] for line in lines}) == 40
    assert PROJECT_KEY not in done.stdout + done.stderr


def test_the_budget_counts_a_recording(world: World, tmp_path: Path) -> None:
    trained(world)
    world.write("settings.yaml", """\
        kind: Settings
        name: default
        spec:
          budgets: {max_cost_per_apply: 0.0001}
        """)
    over = world.run("record", str(tmp_path / "rec"), "--auto-approve")
    assert over.exit_code == 1
    assert "record refused by budgets.max_cost_per_apply: at most $" in over.output
    world.write("settings.yaml", """\
        kind: Settings
        name: default
        spec:
          budgets: {max_cost_per_apply: 5}
        """)
    unknown = world.run("compare", str(tmp_path / "rec"), "--model", "gpt-4o", "--auto-approve")
    assert unknown.exit_code == 1  # no recording yet
    world.ok("record", str(tmp_path / "rec"), "--auto-approve")
    sent = world.sandbox.stats()[CHAT]
    base = world.run("compare", str(tmp_path / "rec"), "--model", "gpt-4o", "--auto-approve")
    assert base.exit_code == 1
    assert "cost of FineTuningJob.bot is unknown (gpt-4o is a base model" in base.output
    assert world.sandbox.stats()[CHAT] == sent   # refused before anything was sent


@pytest.mark.sandbox_now("2027-01-05T09:00:00Z")
def test_record_refuses_a_model_that_has_stopped_answering(world: World, tmp_path: Path) -> None:
    model = trained(world)     # trained the day before OpenAI's last day of job creation
    world.sandbox.advance(10 * 86400)   # 2027-01-15: gpt-4o-mini's fine-tunes answer no more
    world.sandbox.reset_stats()
    result = world.run("record", str(tmp_path / "rec"), "--auto-approve")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert f"FineTuningJob.bot: {model} stopped answering on 2027-01-14" in lines[0]
    assert "nothing was sent" in lines[0]
    assert world.sandbox.stats().get(CHAT, 0) == 0
    # and the sandbox itself no longer serves it
    import openai
    with pytest.raises(openai.NotFoundError):
        world.sdk(admin=False).chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
