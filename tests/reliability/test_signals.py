"""SIGTERM (how CI cancels a job) and SIGINT (Ctrl-C) against the real CLI, mid-flight.

The CLI runs as a subprocess against a sandbox whose job creations are slowed down (fault
injection), so an apply is half-way when the signal is sent with os.kill. Checked each time: the
exit code (143 SIGTERM, 130 SIGINT), the one line saying what happened and what was left, the
state lock released (the next plan runs without force-unlock), the state consistent (the next
plan re-creates nothing already done) and, after converging, 0 duplicate jobs in the sandbox.
Also: a second signal exits at once; the first Ctrl-C during `apply --wait` stops the wait; a
SIGKILLed holder does not lock out the next run.
"""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.state import StateStore

from .helpers import Cli, chat_jsonl, jobs_by_address, report

JOBS = 10


def job_spec(n: int = JOBS) -> str:
    return """\
kind: File
name: train
spec: {path: data/train.jsonl}
""" + "".join(f"""---
kind: FineTuningJob
name: job{i}
spec: {{model: gpt-4o-mini, training_file: "${{File.train.id}}", suffix: sig-{i}}}
""" for i in range(n))


WAIT_SPEC = """\
kind: File
name: train
spec: {path: data/train.jsonl}
---
kind: FineTuningJob
name: bot
spec: {model: gpt-4o-mini, training_file: "${File.train.id}", suffix: waited}
---
kind: CheckpointPermission
name: share
spec:
  fine_tuned_model_checkpoint: ${FineTuningJob.bot.fine_tuned_model}
  project_ids: [proj_alpha]
"""

# Job creations are slow (the request waits before the sandbox handles it): an apply of JOBS jobs
# at --parallelism 2 is mid-flight for several seconds.
SLOW_CREATES = {"latency_ms": 700, "paths": ["/v1/fine_tuning/jobs"]}
NO_TRACEBACK = "Traceback"


class Watched:
    """A CLI subprocess whose stdout and stderr are read line by line as they come."""

    def __init__(self, proc: subprocess.Popen[str]):
        self.proc = proc
        self.lines: dict[str, list[str]] = {"out": [], "err": []}
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(name, stream), daemon=True)
                         for name, stream in (("out", proc.stdout), ("err", proc.stderr))]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str, stream: Any) -> None:
        for line in stream:
            with self._changed:
                self.lines[name].append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, stream: str = "out", timeout: float = 120) -> str:
        """The first line matching `pattern`; fails if the process ends or the bound passes."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[stream]:
                    if regex.search(line):
                        return line
                if self.proc.poll() is not None and not any(r.is_alive() for r in self._readers):
                    raise AssertionError(f"exited {self.proc.returncode} before {pattern!r}:\n{self.text()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {pattern!r} within {timeout}s:\n{self.text()}")
                self._changed.wait(min(left, 0.5))

    def finish(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=30)
        return code

    @property
    def out(self) -> str:
        return "".join(self.lines["out"])

    @property
    def err(self) -> str:
        return "".join(self.lines["err"])

    def text(self) -> str:
        return f"--- stdout\n{self.out}--- stderr\n{self.err}"


def setup(root: Path, spec: str) -> None:
    (root / "specs" / "data").mkdir(parents=True)
    (root / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    (root / "specs" / "main.yaml").write_text(spec)


def duplicates(sandbox: Any) -> int:
    return sum(len(jobs) - 1 for jobs in jobs_by_address(sandbox).values())


def plan_adds(cli: Cli) -> tuple[int, str]:
    """(jobs and files the next plan would add, its output); the plan must not be refused."""
    proc = cli.run("plan", "--detailed-exitcode")
    text = proc.stdout + proc.stderr
    assert proc.returncode in (0, 2) and NO_TRACEBACK not in text, text
    found = re.search(r"Plan: (\d+) to add", proc.stdout)
    return (int(found.group(1)) if found else 0), text


def assert_released(cli: Cli) -> None:
    store = StateStore(cli.state_file)
    assert not store.lock_path.exists(), store.lock_path.read_text()
    assert not store.journal_path.exists() or store.load() is not None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_apply_finishes_in_flight_writes_state_and_releases_the_lock(tmp_path, signum):
    from reconciler_sandbox.testing import run_sandbox

    name = signal.Signals(signum).name
    code = 128 + signum
    setup(tmp_path, job_spec())
    with run_sandbox(faults=SLOW_CREATES) as sb:
        cli = Cli(tmp_path, sb.base_url)
        run = Watched(cli.popen("apply", "--auto-approve", "--parallelism", "2"))
        run.wait_for(r"FineTuningJob\.job\d+: Creation complete")
        os.kill(run.proc.pid, signum)
        assert run.finish() == code, run.text()
        assert NO_TRACEBACK not in run.out + run.err
        line = run.wait_for(rf"^Interrupted \({name}\): ", "err")
        found = re.search(r"(\d+) changes? done, (\d+) not started", line)
        assert found and line.rstrip().endswith("the state records what completed. Run apply again to continue."), line
        done, not_started = int(found.group(1)), int(found.group(2))
        assert "Apply complete!" not in run.out, run.out
        # the state was written (no journal left to replay) and the lock released
        store = StateStore(cli.state_file)
        assert not store.journal_path.exists() and not store.lock_path.exists()
        state = json.loads(cli.state_file.read_text())
        recorded = sorted(a for a in state["resources"] if a.startswith("FineTuningJob."))
        sb.clear_faults()
        in_sandbox = sorted(a for a in jobs_by_address(sb) if a)
        assert recorded == in_sandbox, (recorded, in_sandbox)   # nothing created was lost
        assert done == len(recorded) + 1 and done + not_started == JOBS + 1, (line, recorded)
        assert not_started > 0, line  # the signal came mid-flight
        # the next plan is not refused, and adds only what was not done
        adds, text = plan_adds(cli)
        assert adds == not_started, text
        assert "took over" not in text, text
        cli.converge()
        assert duplicates(sb) == 0 and len(jobs_by_address(sb)) == JOBS
        report(f"signal_during_apply_{name}", {"exit": code, "done": done, "not_started": not_started,
                                               "jobs_in_state_at_stop": len(recorded), "next_plan_adds": adds,
                                               "duplicates": 0})


@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve")], ids=["plan", "apply"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_while_planning_releases_the_lock(tmp_path, signum, command):
    """Nothing to stop cooperatively yet (reads only): the run unwinds, the lock goes."""
    from reconciler_sandbox.testing import run_sandbox

    name = signal.Signals(signum).name
    setup(tmp_path, job_spec(2))
    with run_sandbox(faults={"latency_ms": 1500}) as sb:   # every read is slow: the plan is mid-refresh
        cli = Cli(tmp_path, sb.base_url)
        store = StateStore(cli.state_file)
        run = Watched(cli.popen(*command))
        deadline = time.monotonic() + 120
        while (store.lock_info() is None or store.lock_info().pid != run.proc.pid) and time.monotonic() < deadline:
            assert run.proc.poll() is None, run.text()
            time.sleep(0.02)
        os.kill(run.proc.pid, signum)
        assert run.finish() == 128 + signum, run.text()
        assert run.err.strip().splitlines()[-1] == \
            f"Interrupted ({name}): no changes were made; the state lock is released.", run.err
        assert NO_TRACEBACK not in run.out + run.err
        assert not store.lock_path.exists()
        sb.clear_faults()
        adds, text = plan_adds(cli)   # not refused, no force-unlock
        assert adds == 3 and "took over" not in text, text
        assert jobs_by_address(sb) == {}
        report(f"signal_while_planning_{command[0]}_{name}", {"exit": 128 + signum, "jobs_created": 0})


def test_second_signal_exits_at_once_and_the_next_run_converges(tmp_path):
    from reconciler_sandbox.testing import run_sandbox

    setup(tmp_path, job_spec(4))
    # the creations take effect at once, but their answers take 25 s: a cooperative stop would
    # wait for them; the second signal must not. Only the POSTs: applying a saved plan reads the
    # jobs again (it is made again to be compared) before it creates any
    slow_answers = {"slow_rate": 1.0, "slow_ms": 25000, "paths": ["/v1/fine_tuning/jobs"], "methods": ["POST"]}
    with run_sandbox() as sb:
        cli = Cli(tmp_path, sb.base_url)
        cli.ok("apply", "--auto-approve", "--target", "File.train")
        saved = tmp_path / "creates.plan.json"
        cli.ok("plan", "--out", str(saved))
        sb.set_faults(**slow_answers)
        store = StateStore(cli.state_file)
        run = Watched(cli.popen("apply", "--auto-approve", "--parallelism", "2", str(saved)))
        run.wait_for(r"FineTuningJob\.job\d+: Creating\.\.\.")
        os.kill(run.proc.pid, signal.SIGTERM)
        run.wait_for(r"SIGTERM received: starting no new changes", "err")
        os.kill(run.proc.pid, signal.SIGTERM)
        assert run.finish(timeout=20) == 143, run.text()   # well before the 25 s answers
        assert "Interrupted again (SIGTERM): exiting at once" in run.err, run.err
        assert NO_TRACEBACK not in run.out + run.err
        assert not store.lock_path.exists()               # removed on the way out
        state = store.load()                              # whole, with the journal replayed
        sb.clear_faults()
        created_unrecorded = sum(len(v) for v in jobs_by_address(sb).values()) - sum(
            1 for a in state.resources if a.startswith("FineTuningJob."))
        adds, text = plan_adds(cli)
        assert "took over" not in text and adds <= 4, text
        applies = cli.converge()
        by_address = jobs_by_address(sb)
        assert len(by_address) == 4 and duplicates(sb) == 0, by_address
        report("second_signal", {"exit": 143, "journal_entries": state.recovered_from_journal,
                                 "jobs_created_but_not_recorded_at_exit": created_unrecorded,
                                 "applies_to_converge": applies, "duplicates": 0})


def test_first_ctrl_c_during_wait_stops_waiting(tmp_path):
    from reconciler_sandbox.testing import run_sandbox

    setup(tmp_path, WAIT_SPEC)
    with run_sandbox() as sb:   # speed 1: the job runs for minutes; nobody advances the clock
        cli = Cli(tmp_path, sb.base_url)
        # an hour between polls: only a wait that the first Ctrl-C ends lets this process exit
        run = Watched(cli.popen("apply", "--auto-approve", "--wait", "--poll-interval", "3600"))
        run.wait_for(r"CheckpointPermission\.share: Still waiting\.\.\.")
        os.kill(run.proc.pid, signal.SIGINT)
        assert run.finish() == 130, run.text()
        line = run.err.strip().splitlines()[-1]
        assert line.startswith("Interrupted (SIGINT): 2 changes done, 0 not started, 1 pending;"), run.err
        assert "interrupted while waiting for FineTuningJob.bot" in run.out, run.out
        assert NO_TRACEBACK not in run.out + run.err
        assert_released(cli)
        adds, text = plan_adds(cli)
        assert adds == 0, text    # the job and the file are not made again
        sb.advance(36000)
        cli.ok("apply", "--auto-approve", "--wait", "--poll-interval", "0.05", "--timeout", "120s")
        assert plan_adds(cli)[0] == 0
        assert duplicates(sb) == 0 and len(jobs_by_address(sb)) == 1
        report("ctrl_c_during_wait", {"exit": 130, "duplicates": 0})


def test_a_sigkilled_holder_does_not_lock_out_the_next_run(tmp_path):
    from reconciler_sandbox.testing import run_sandbox

    setup(tmp_path, job_spec(4))
    stats: collections.Counter[str] = collections.Counter()
    with run_sandbox(faults=SLOW_CREATES) as sb:
        cli = Cli(tmp_path, sb.base_url)
        store = StateStore(cli.state_file)
        run = Watched(cli.popen("apply", "--auto-approve", "--parallelism", "2"))
        run.wait_for(r"FineTuningJob\.job\d+: Creating\.\.\.")
        holder = store.lock_info()
        assert holder is not None and holder.pid == run.proc.pid and holder.flock
        os.kill(run.proc.pid, signal.SIGKILL)
        assert run.finish() == -signal.SIGKILL
        assert store.lock_path.exists()      # the file stays; its flock died with the process
        sb.clear_faults()
        proc = cli.run("plan")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "took over a stale state lock" in proc.stderr and f"pid {run.proc.pid}" in proc.stderr, proc.stderr
        assert holder.id in proc.stderr and not store.lock_path.exists()
        stats["applies_to_converge"] = cli.converge()
        assert duplicates(sb) == 0 and len(jobs_by_address(sb)) == 4
        report("sigkilled_holder", {**stats, "force_unlock_needed": 0, "duplicates": 0})
