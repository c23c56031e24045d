"""Plan flags and the read-only commands: --target, --replace, --refresh-only, --no-refresh,
show, output, and two plans racing for the state lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from reconciler.state import StateStore

from .conftest import ADMIN_KEY, JOB_SPEC, PERMISSION_SPEC, PROJECT_KEY

TWO_JOBS = JOB_SPEC + """---
kind: FineTuningJob
name: second
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  suffix: second
"""


def test_target_limits_the_plan_to_an_address_and_its_dependencies(world):
    world.write("main.yaml", TWO_JOBS)
    out = world.ok("plan", "--target", "FineTuningJob.second").output
    assert "# FineTuningJob.second will be created" in out and "# File.train will be created" in out
    assert "FineTuningJob.bot" not in out
    world.ok("apply", "--auto-approve", "--target", "FineTuningJob.second")
    assert sorted(world.state()["resources"]) == ["File.train", "FineTuningJob.second"]
    bad = world.run("plan", "--target", "FineTuningJob.nope")
    assert bad.exit_code == 1 and "FineTuningJob.nope is neither declared" in bad.output


def test_replace_forces_a_new_job(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    old = world.state()["resources"]["FineTuningJob.bot"]["id"]
    out = world.ok("plan", "--replace", "FineTuningJob.bot", "--detailed-exitcode", code=2).output
    assert "replacement requested with --replace" in out
    world.ok("apply", "--auto-approve", "--replace", "FineTuningJob.bot")
    assert world.state()["resources"]["FineTuningJob.bot"]["id"] != old


def test_refresh_only_shows_drift_and_no_changes(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.write("main.yaml", JOB_SPEC.replace("support-v1", "support-v2"))  # a spec change: not shown
    job_id = world.state()["resources"]["FineTuningJob.bot"]["id"]
    world.sdk().fine_tuning.jobs.cancel(job_id)
    out = world.ok("plan", "--refresh-only", "--detailed-exitcode", code=2).output
    assert "cancelled outside reconciler" in out and "refresh-only plan" in out
    assert "must be replaced" not in out


def test_no_refresh_trusts_the_state_and_makes_no_request(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.sandbox.reset_stats()
    out = world.ok("plan", "--no-refresh", "--detailed-exitcode").output
    assert "No changes." in out
    assert sum(world.sandbox.stats().values()) == 0, world.sandbox.stats()


def test_show_and_output(world, tmp_path):
    world.write("main.yaml", JOB_SPEC)
    plan_file = tmp_path / "p.plan"
    world.ok("plan", "--out", str(plan_file))
    shown = world.ok("show", str(plan_file)).output
    assert "# FineTuningJob.bot will be created" in shown
    assert json.loads(world.ok("show", "--json", str(plan_file)).output)["summary"]["add"] == 2
    world.ok("apply", str(plan_file))
    state_view = world.ok("show").output
    assert "# FineTuningJob.bot:" in state_view and "ftjob-" in state_view
    job_id = world.state()["resources"]["FineTuningJob.bot"]["id"]
    assert world.ok("output", "FineTuningJob.bot.id", "--raw").output.strip() == job_id
    summary = json.loads(world.ok("output", "--json").output)
    assert summary["FineTuningJob.bot"]["id"] == job_id
    missing = world.run("output", "FineTuningJob.nope")
    assert missing.exit_code == 1 and "not in the state" in missing.output


def test_two_plans_racing_for_the_lock(world):
    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % "true")
    world.ok("apply", "--auto-approve")
    before = world.state_file.read_bytes()
    store = StateStore(world.state_file)
    env = {**os.environ, "OPENAI_BASE_URL": world.sandbox.base_url, "OPENAI_API_KEY": PROJECT_KEY,
           "OPENAI_ADMIN_KEY": ADMIN_KEY, "NO_COLOR": "1"}
    argv = [sys.executable, "-m", "reconciler", "-C", str(world.specs), "--state", str(world.state_file), "plan"]
    with store.lock("apply"):  # another run holds the state
        fast = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert fast.returncode == 1
        assert "is locked by" in fast.stderr and f"pid {os.getpid()}" in fast.stderr
        assert "operation apply" in fast.stderr and "Traceback" not in fast.stderr
        waiting = subprocess.Popen([*argv, "--lock-timeout", "120s"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        # Release only once the second plan says it waits (no sleep: a loaded machine may take
        # seconds to start it, and then it would never have had to wait).
        import threading

        said: list[str] = []
        told = threading.Event()

        def read_stderr() -> None:
            assert waiting.stderr is not None
            for line in waiting.stderr:
                said.append(line)
                if "Waiting for the state lock" in line:
                    told.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        assert told.wait(timeout=90), "".join(said)
        assert waiting.poll() is None  # still waiting for the holder
    assert waiting.wait(timeout=90) == 0, "".join(said)
    reader.join(timeout=30)
    assert world.state_file.read_bytes() == before
