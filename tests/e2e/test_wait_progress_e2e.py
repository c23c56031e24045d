"""Issue 20: `apply --wait=jobs` waits until the jobs it created finish, with one progress line per
job (status, step / total, train loss, time left); plain rate-limited lines when not a terminal;
a job that fails fails the apply; `--wait` alone keeps its meaning (pending grants)."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import pytest

from reconciler.cli.progress import Row, WaitProgress, plain_line
from reconciler.kinds.job.progress import progress_from
from tests.e2e.conftest import JOB_SPEC, PERMISSION_SPEC, World, chat_jsonl

TWO_JOBS = JOB_SPEC + "---" + JOB_SPEC.split("---")[1].replace("name: bot", "name: bot2").replace("support-v1", "v2")


@pytest.fixture
def fast_world(tmp_path: Path):
    """A sandbox whose clock runs 300 times real time: a small job trains in a few real seconds."""
    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox(speed=300.0) as sandbox:
        w = World(sandbox, tmp_path)
        (w.specs / "data").mkdir(parents=True)
        (w.specs / "data" / "train.jsonl").write_text(chat_jsonl())
        yield w


def _lines(output: str, address: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{address}: ")]


def test_wait_jobs_waits_until_each_created_job_finishes_with_progress_lines(fast_world):
    fast_world.write("main.yaml", TWO_JOBS)
    result = fast_world.ok("apply", "--auto-approve", "--wait=jobs", "--poll-interval", "0.2", "--timeout", "600s")
    for address in ("FineTuningJob.bot", "FineTuningJob.bot2"):
        lines = _lines(result.output, address)
        assert lines[-1].startswith(f"{address}: Training succeeded after "), lines
        # 12 examples, batch 1, "auto" epochs = 8 (the cookbook's rule, docs/SANDBOX.md F54)
        assert re.search(r"step 96/96, train loss \d\.\d{4}$", lines[-1]), lines
        waiting = [line for line in lines if "Still waiting..." in line]
        assert waiting, lines
        # one line per change of status or step: never two identical facts in a row
        facts = [line.split("] ", 1)[1] for line in waiting]
        assert all(a != b for a, b in itertools.pairwise(facts)), facts
    resources = fast_world.state()["resources"]
    assert {resources[a]["attributes"]["status"] for a in ("FineTuningJob.bot", "FineTuningJob.bot2")} == {"succeeded"}
    jobs = fast_world.jobs()
    assert len(jobs) == 2 and {j["status"] for j in jobs} == {"succeeded"}   # no duplicate job
    assert "Apply complete!" in result.output
    assert fast_world.run("plan", "--detailed-exitcode").exit_code == 0


def test_wait_jobs_fails_the_apply_when_a_job_fails(fast_world):
    import io as _io

    bad = fast_world.sdk().files.create(file=("bad.jsonl", _io.BytesIO(b'{"prompt": "no messages"}\n' * 12)),
                                        purpose="fine-tune")
    fast_world.write("main.yaml", JOB_SPEC.replace("${File.train.id}", bad.id))
    result = fast_world.run("apply", "--auto-approve", "--wait=jobs", "--poll-interval", "0.2", "--timeout", "600s")
    assert result.exit_code == 1, result.output
    assert "FineTuningJob.bot: Training failed:" in result.output and "ended failed" in result.output
    assert "Apply complete!" not in result.output and "Traceback" not in result.output
    assert len(fast_world.jobs()) == 1


def test_wait_alone_still_waits_for_pending_grants_only(fast_world):
    fast_world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % "false")
    result = fast_world.ok("apply", "--auto-approve", "--wait", "--poll-interval", "0.2", "--timeout", "600s")
    waits = _lines(result.output, "CheckpointPermission.share")
    assert any("Still waiting..." in line and "waiting for FineTuningJob.bot (ftjob-" in line for line in waits), \
        result.output
    assert "Training succeeded" not in result.output        # the job itself is not what --wait waits on
    assert "Apply complete! Resources: 3 added" in result.output


def test_wait_rejects_an_unknown_value(world):
    world.write("main.yaml", JOB_SPEC)
    result = world.run("apply", "--auto-approve", "--wait=forever")
    assert result.exit_code == 1 and "'forever' is not one of 'grants', 'jobs'" in result.output


# -- pure: the progress read and the line rendering -------------------------------------------

def _metrics(step: int, total: int, loss: float, at: int) -> dict:
    return {"type": "metrics", "created_at": at,
            "data": {"step": step, "total_steps": total, "train_loss": loss}}


@pytest.mark.parametrize("job, events, now, expected", [
    ({"status": "validating_files"}, [], 100, {"status": "validating_files"}),
    # the newest metrics event wins (events come newest first); pace 2 s/step → 80 steps × 2 s
    ({"status": "running", "started_at": 0},
     [{"type": "message", "created_at": 41}, _metrics(20, 100, 0.5, 40), _metrics(10, 100, 0.9, 20)], 40,
     {"status": "running", "step": 20, "total_steps": 100, "train_loss": 0.5, "eta_seconds": 160.0}),
    # the API's estimated_finish beats our estimate
    ({"status": "running", "started_at": 0, "estimated_finish": 300}, [_metrics(20, 100, 0.5, 40)], 100,
     {"status": "running", "step": 20, "total_steps": 100, "train_loss": 0.5, "eta_seconds": 200.0}),
    # time since the last step counts against the estimate, never below zero
    ({"status": "running", "started_at": 0}, [_metrics(50, 100, 0.4, 100)], 500,
     {"status": "running", "step": 50, "total_steps": 100, "train_loss": 0.4, "eta_seconds": 0.0}),
    # junk data is ignored, not a crash
    ({"status": "running"}, [{"type": "metrics", "data": {"step": "x"}}, {"type": "metrics", "data": None}], 0,
     {"status": "running"}),
])
def test_progress_from(job, events, now, expected):
    assert progress_from(job, events, now) == expected


def _row(status="running", step=None, total=None, loss=None, eta=None, job=None, elapsed=70.0):
    return Row("FineTuningJob.a", job, status, step, total, loss, elapsed, eta, "waiting for x: running")


@pytest.mark.parametrize("row, line", [
    (_row(step=40, total=120, loss=0.81234, eta=120),
     "FineTuningJob.a: Still waiting... [1m10s elapsed] running, step 40/120, train loss 0.8123, about 2m0s left"),
    (_row(status="queued"), "FineTuningJob.a: Still waiting... [1m10s elapsed] queued"),
    (_row(status=""), "FineTuningJob.a: Still waiting... [1m10s elapsed] waiting for x: running"),
    (_row(step=40, total=120, job="FineTuningJob.b"),
     "FineTuningJob.a: Still waiting... [1m10s elapsed] waiting for x: running, step 40/120"),
    (_row(status="succeeded", step=120, total=120, loss=0.1, eta=0),
     "FineTuningJob.a: Training succeeded after 1m10s of waiting: step 120/120, train loss 0.1000"),
    (_row(status="failed"), "FineTuningJob.a: Training failed after 1m10s of waiting: no steps reported"),
])
def test_plain_line(row, line):
    assert plain_line(row) == line


class _Event:
    def __init__(self, address, progress, elapsed=0.0):
        self.address, self.progress, self.elapsed, self.message = address, progress, elapsed, "waiting"


def test_plain_lines_are_rate_limited_per_job_and_never_skip_a_status_change():
    clock = [0.0]
    printed: list[str] = []
    progress = WaitProgress(printed.append, live=False, color=False, min_interval=30, clock=lambda: clock[0])
    feed = [  # (time, address, status, step)
        (0, "J.a", "running", 1), (0, "J.b", "queued", None),   # first line of each job
        (5, "J.a", "running", 2),                               # a new step within 30 s: held back
        (5, "J.a", "running", 2),                               # nothing new
        (31, "J.a", "running", 3),                              # a new step after 30 s: shown
        (32, "J.b", "running", 1),                              # a status change: shown at once
        (33, "J.a", "succeeded", 10),                           # finished: shown at once
    ]
    for at, address, status, step in feed:
        clock[0] = at
        progress(_Event(address, {"status": status, "step": step, "total_steps": 10, "job": address}, at))
    assert [line.split(":")[0] for line in printed] == ["J.a", "J.b", "J.a", "J.b", "J.a"]
    assert "step 3/10" in printed[2] and printed[-1].startswith("J.a: Training succeeded")


def test_live_table_on_a_terminal_shows_one_row_per_job_and_no_colour_when_asked():
    stream = io.StringIO()
    progress = WaitProgress(lambda line: None, live=True, color=False, stream=stream, width=120)
    try:
        progress(_Event("FineTuningJob.a", {"status": "running", "step": 40, "total_steps": 120,
                                            "train_loss": 0.8, "eta_seconds": 90, "job": "FineTuningJob.a"}, 70))
        progress(_Event("FineTuningJob.b", {"status": "queued", "job": "FineTuningJob.b"}, 70))
    finally:
        progress.close()
    text = stream.getvalue()
    for needle in ("FineTuningJob.a", "FineTuningJob.b", "40/120", "0.8000", "1m10s", "~1m30s", "queued"):
        assert needle in text, (needle, text)
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", text)   # no foreground colour codes with --no-color


def test_live_table_never_cuts_an_address_on_an_80_column_terminal():
    stream = io.StringIO()
    progress = WaitProgress(lambda line: None, live=True, color=False, stream=stream, width=80)
    grant = "CheckpointPermission.share_with_the_analytics_team"
    try:
        progress(_Event(grant, {"status": "running", "step": 12, "total_steps": 24, "train_loss": 0.5,
                                "job": "FineTuningJob.a_rather_long_job_name"}, 70))
    finally:
        progress.close()
    text = stream.getvalue()
    assert "…" not in text, text
    assert grant in text and "FineTuningJob.a_rather_long_job_name" in text, text  # the job's on a line of its own
    assert "12/24" in text and "running" in text and "1m10s" in text


def test_a_grant_row_says_complete_once_its_grants_are_done():
    from reconciler.apply.events import Event, EventKind

    stream = io.StringIO()
    progress = WaitProgress(lambda line: None, live=True, color=False, stream=stream, width=120)
    try:
        progress(_Event("CheckpointPermission.share", {"status": "running", "step": 12, "total_steps": 24,
                                                       "job": "FineTuningJob.a"}, 70))
        progress.settle(Event(EventKind.DONE, "CheckpointPermission.share", verb="Modifying", elapsed=80))
        progress.settle(Event(EventKind.DONE, "File.unrelated", verb="Creating"))  # no row: nothing
        last = progress._table()
    finally:
        progress.close()
    from rich.console import Console

    console = Console(file=io.StringIO(), width=120, no_color=True)
    console.print(last)
    final = console.file.getvalue()  # type: ignore[attr-defined]
    assert "complete" in final and "12/24" not in final, final
    assert "File.unrelated" not in final
