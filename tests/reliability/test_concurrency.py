"""Concurrency: two applies started together on one state -> exactly one proceeds, the other
fails fast naming the lock holder (its pid); a lock left by a SIGKILLed process on another machine
is reported with its pid and its age; `force-unlock` clears it and the next apply converges.
Default: 3 races; `-m slow`: RECONCILER_LOCK_RACES (default 20)."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import re
import signal
import time

import pytest

from reconciler.state import StateStore

from .helpers import Cli, chat_jsonl, jobs_by_address, report

SPEC = """\
kind: File
name: train
spec: {path: data/train.jsonl}
""" + "".join(f"""---
kind: FineTuningJob
name: job{i}
spec: {{model: gpt-4o-mini, training_file: "${{File.train.id}}", suffix: race-{i}}}
""" for i in range(4))


def _race(tmp, index: int, stats: collections.Counter) -> None:
    from reconciler_sandbox.testing import run_sandbox

    root = tmp / f"race{index}"
    (root / "specs" / "data").mkdir(parents=True)
    (root / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    # 150 ms per request: the winner holds the lock for a few seconds
    with run_sandbox(faults={"latency_ms": 150}) as sb:
        cli = Cli(root, sb.base_url)
        cli.write("main.yaml", SPEC)
        started = time.monotonic()
        procs = [cli.popen("apply", "--auto-approve", "--parallelism", "2") for _ in range(2)]
        ends, outputs = {}, {}
        pending = set(range(2))
        while pending:
            for i in list(pending):
                if procs[i].poll() is not None:
                    ends[i] = time.monotonic() - started
                    outputs[i] = procs[i].communicate()
                    pending.discard(i)
            time.sleep(0.01)
        codes = sorted(p.returncode for p in procs)
        assert codes == [0, 1], (codes, outputs)
        winner = next(i for i in range(2) if procs[i].returncode == 0)
        loser = 1 - winner
        err = outputs[loser][1]
        assert "is locked by" in err and f"pid {procs[winner].pid}" in err and "operation apply" in err, err
        assert "force-unlock" in err and len(err.strip().splitlines()) == 1, err
        assert ends[loser] < ends[winner], (ends, err)
        stats["loser_seconds_max"] = max(stats["loser_seconds_max"], round(ends[loser], 2))
        stats["winner_seconds_min"] = min(stats.get("winner_seconds_min", 1e9), round(ends[winner], 2))
        sb.clear_faults()
        by_address = jobs_by_address(sb)
        assert sorted(by_address) == [f"FineTuningJob.job{i}" for i in range(4)], by_address
        stats["duplicates"] += sum(len(v) - 1 for v in by_address.values())
        stats["races"] += 1
        assert cli.run("plan", "--detailed-exitcode").returncode == 0


def test_two_applies_together_one_proceeds_the_other_fails_fast(tmp_path):
    stats: collections.Counter = collections.Counter()
    for i in range(3):
        _race(tmp_path, i, stats)
    report("lock_races_short", dict(stats))
    assert stats["duplicates"] == 0


@pytest.mark.slow
def test_lock_races_many(tmp_path):
    stats: collections.Counter = collections.Counter()
    for i in range(int(os.environ.get("RECONCILER_LOCK_RACES", "20"))):
        _race(tmp_path, i, stats)
    report("lock_races", dict(stats))
    assert stats["duplicates"] == 0


def test_lock_of_a_killed_process_is_reported_and_force_unlock_clears_it(tmp_path):
    from reconciler_sandbox.testing import run_sandbox

    (tmp_path / "specs" / "data").mkdir(parents=True)
    (tmp_path / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    with run_sandbox(faults={"latency_ms": 300}) as sb:
        cli = Cli(tmp_path, sb.base_url)
        cli.write("main.yaml", SPEC)
        store = StateStore(cli.state_file)
        proc = cli.popen("apply", "--auto-approve")
        deadline = time.monotonic() + 30
        while store.lock_info() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        holder = store.lock_info()
        assert holder is not None and holder.pid == proc.pid and holder.operation == "apply"
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        sb.clear_faults()

        # Its flock died with it: on this host the next run takes the lock over by itself
        # (tests/reliability/test_signals.py). Seen from a machine sharing the filesystem the lock
        # still stands, and is reported until force-unlock.
        data = json.loads(store.lock_path.read_text())
        store.lock_path.write_text(json.dumps({**data, "host": "ci-runner-2.example"}))
        refused = cli.run("apply", "--auto-approve")
        assert refused.returncode == 1
        assert f"pid {proc.pid}" in refused.stderr and "another machine" in refused.stderr, refused.stderr
        assert re.search(r"\d+s ago", refused.stderr) and holder.id in refused.stderr, refused.stderr
        assert f"reconciler force-unlock {holder.id}" in refused.stderr

        # an old lock: its age is told in hours
        data = json.loads(store.lock_path.read_text())
        data["created"] = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2, minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        store.lock_path.write_text(json.dumps(data))
        locked = cli.run("plan")
        assert locked.returncode == 1 and "2h05m ago" in locked.stderr, locked.stderr

        wrong = cli.run("force-unlock", "00000000-0000-0000-0000-000000000000", "--force")
        assert wrong.returncode == 1 and "does not match" in wrong.stderr and store.lock_info() is not None
        unconfirmed = cli.run("force-unlock", holder.id)   # no terminal, no --force: refused
        assert unconfirmed.returncode == 1 and store.lock_info() is not None
        cleared = cli.ok("force-unlock", holder.id, "--force")
        assert holder.id in cleared.stdout and store.lock_info() is None
        cli.converge()
        by_address = jobs_by_address(sb)
        assert all(len(v) == 1 for v in by_address.values()) and len(by_address) == 4, by_address
        report("stale_lock", {"dead_pid_reported": proc.pid, "duplicates": 0})


def test_a_symlinked_state_file_shares_its_lock_and_stays_a_link(tmp_path):
    """`--state current.json` where current.json -> state/default.json (a common way to switch
    workspaces). Found by this suite: the lock, journal and write used the link's own path, so an
    apply through the link and one through the real file ran together, and the first write
    replaced the link by a regular file (two diverging states from then on)."""
    from reconciler_sandbox.testing import run_sandbox

    (tmp_path / "specs" / "data").mkdir(parents=True)
    (tmp_path / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    with run_sandbox(faults={"latency_ms": 150}) as sb:
        cli = Cli(tmp_path, sb.base_url)
        cli.write("main.yaml", SPEC)
        cli.ok("apply", "--auto-approve", "--target", "File.train")   # the real state file exists
        link = tmp_path / "current.json"
        link.symlink_to(cli.state_file)
        via_link = cli.argv("apply", "--auto-approve")
        via_link[via_link.index("--state") + 1] = str(link)
        import subprocess

        procs = [cli.popen("apply", "--auto-approve"),
                 subprocess.Popen(via_link, env=cli.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, cwd=tmp_path)]
        outputs = [p.communicate() for p in procs]
        codes = sorted(p.returncode for p in procs)
        assert codes == [0, 1], (codes, outputs)
        loser = outputs[[p.returncode for p in procs].index(1)][1]
        assert "is locked by" in loser, loser
        assert link.is_symlink(), "the write replaced the link"
        sb.clear_faults()
        # through the link, the next run sees what the other one wrote
        link_cli = subprocess.run(via_link[:-2] + ["plan", "--detailed-exitcode"], env=cli.env(),
                                  check=False, capture_output=True, text=True, cwd=tmp_path)
        assert link_cli.returncode == 0, link_cli.stdout + link_cli.stderr
        assert not list(tmp_path.glob("current.json.*")), list(tmp_path.glob("current.json.*"))
        by_address = jobs_by_address(sb)
        assert len(by_address) == 4 and all(len(v) == 1 for v in by_address.values()), by_address
