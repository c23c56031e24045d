"""Issue 20: the first Ctrl-C during `apply --wait=jobs` is answered at once — exit 130, the state
written (the jobs are recorded), the lock released, no job made twice by the next run."""

from __future__ import annotations

import os
import signal

from .helpers import Cli, jobs_by_address, report
from .test_signals import NO_TRACEBACK, Watched, assert_released, duplicates, job_spec, plan_adds, setup


def test_first_ctrl_c_during_wait_jobs_stops_waiting_and_keeps_the_jobs(tmp_path):
    from reconciler_sandbox.testing import run_sandbox

    setup(tmp_path, job_spec(3))
    with run_sandbox() as sb:   # speed 1: the jobs run for minutes; nobody advances the clock
        cli = Cli(tmp_path, sb.base_url)
        # an hour between polls: only a wait that the first Ctrl-C ends lets this process exit
        run = Watched(cli.popen("apply", "--auto-approve", "--wait=jobs", "--poll-interval", "3600"))
        run.wait_for(r"FineTuningJob\.job\d: Still waiting\.\.\.")
        os.kill(run.proc.pid, signal.SIGINT)
        assert run.finish() == 130, run.text()
        assert run.err.strip().splitlines()[-1].startswith("Interrupted (SIGINT)"), run.err
        stopped = [line for line in run.out.splitlines() if "the wait was interrupted" in line]
        assert len(stopped) == 3 and all("keeps running" in line for line in stopped), run.out
        assert NO_TRACEBACK not in run.out + run.err
        assert_released(cli)
        adds, text = plan_adds(cli)
        assert adds == 0, text           # the jobs and the file are in the state: nothing is made again
        assert duplicates(sb) == 0 and len(jobs_by_address(sb)) == 3
        report("ctrl_c_during_wait_jobs", {"exit": 130, "duplicates": 0, "jobs": 3})
