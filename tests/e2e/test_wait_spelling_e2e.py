"""`--wait` takes an optional value, and a word after a bare `--wait` that is not one is the plan
file: `apply --wait plan.json` applies plan.json waiting for grants, as before `--wait=jobs` existed.
Every spelling through the real CLI against the real sandbox; the parse step table-driven."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli.wait_option import spell_wait
from tests.e2e.conftest import JOB_SPEC, PERMISSION_SPEC, World, chat_jsonl


@pytest.fixture
def fast_world(tmp_path: Path):
    """A sandbox whose clock runs 300 times real time: a small job trains in a few real seconds."""
    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox(speed=300.0) as sandbox:
        w = World(sandbox, tmp_path)
        (w.specs / "data").mkdir(parents=True)
        (w.specs / "data" / "train.jsonl").write_text(chat_jsonl())
        w.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % "false")
        yield w


@pytest.mark.parametrize(("args", "waits_for"), [
    (["--wait", "{plan}"], "grants"),
    (["{plan}", "--wait"], "grants"),
    (["--wait=grants", "{plan}"], "grants"),
    (["--wait", "grants", "{plan}"], "grants"),
    (["--wait=jobs", "{plan}"], "jobs"),
    (["--wait", "jobs", "{plan}"], "jobs"),
    (["{plan}", "--wait", "jobs"], "jobs"),
])
def test_every_wait_spelling_applies_the_saved_plan(fast_world: World, args: list[str], waits_for: str) -> None:
    """A job alone: --wait (grants) has nothing to wait for and returns with the job queued;
    --wait=jobs returns once it has succeeded."""
    fast_world.write("main.yaml", JOB_SPEC)
    plan = fast_world.root / "plan.json"
    fast_world.ok("plan", "--out", str(plan))
    argv = [a.format(plan=plan) for a in args]

    result = fast_world.ok("apply", *argv, "--poll-interval", "0.2", "--timeout", "600s")

    assert "Apply complete!" in result.output, result.output
    assert len(fast_world.jobs()) == 1  # one job, whatever the spelling
    status = fast_world.state()["resources"]["FineTuningJob.bot"]["attributes"]["status"]
    waited = any(line.startswith("FineTuningJob.bot: Still waiting...") for line in result.output.splitlines())
    assert (status == "succeeded", waited) == ((True, True) if waits_for == "jobs" else (False, False)), \
        result.output


def test_wait_before_a_saved_plan_completes_its_grant(fast_world: World) -> None:
    plan = fast_world.root / "plan.json"
    fast_world.ok("plan", "--out", str(plan))

    result = fast_world.ok("apply", "--wait", str(plan), "--poll-interval", "0.2", "--timeout", "600s")

    assert "Apply complete!" in result.output and len(fast_world.jobs()) == 1
    assert fast_world.state()["resources"]["CheckpointPermission.share"]["id"], result.output


def test_wait_alone_without_a_plan_file(fast_world: World) -> None:
    result = fast_world.ok("apply", "--auto-approve", "--wait", "--poll-interval", "0.2", "--timeout", "600s")
    assert "Apply complete!" in result.output and len(fast_world.jobs()) == 1
    assert fast_world.state()["resources"]["CheckpointPermission.share"]["id"]


def test_a_missing_plan_file_after_wait_is_one_line(fast_world: World) -> None:
    result = fast_world.run("apply", "--wait", str(fast_world.root / "nope.json"))
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "nope.json" in result.output and fast_world.jobs() == []


@pytest.mark.parametrize(("args", "waits_for"), [
    (["--wait=jobs"], "jobs"),
    (["--wait", "jobs"], "jobs"),
    (["--wait"], "grants"),
    (["--wait=grants"], "grants"),
])
def test_sync_takes_the_same_wait_spellings(fast_world: World, args: list[str], waits_for: str) -> None:
    fast_world.write("main.yaml", JOB_SPEC)

    result = fast_world.ok("sync", *args, "--timeout", "600s")

    assert "Sync complete!" in result.output, result.output
    assert len(fast_world.jobs()) == 1
    status = fast_world.state()["resources"]["FineTuningJob.bot"]["attributes"]["status"]
    assert (status == "succeeded") == (waits_for == "jobs"), result.output


@pytest.mark.parametrize(("argv", "expected"), [
    (["--wait"], ["--wait=grants"]),
    (["--wait", "plan.json"], ["--wait=grants", "plan.json"]),
    (["--wait", "jobs"], ["--wait", "jobs"]),
    (["--wait", "grants", "p.json"], ["--wait", "grants", "p.json"]),
    (["--wait=jobs", "p.json"], ["--wait=jobs", "p.json"]),
    (["p.json", "--wait"], ["p.json", "--wait=grants"]),
    (["--wait", "--auto-approve"], ["--wait=grants", "--auto-approve"]),
    (["--", "--wait"], ["--", "--wait"]),
    (["--wait", "forever"], ["--wait=grants", "forever"]),  # then refused as an unknown plan file
    ([], []),
])
def test_spell_wait(argv: list[str], expected: list[str]) -> None:
    assert spell_wait(argv) == expected
