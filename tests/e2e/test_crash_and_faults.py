"""Apply never loses track of a paid job: SIGKILL at random points, then re-run; and under
injected 429/5xx/dropped connections it converges without duplicates.

The default run does a short version; `pytest -m slow` runs the full matrices
(RECONCILER_CRASH_TRIALS, default 50)."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from reconciler.state import StateStore

from .conftest import ADMIN_KEY, PROJECT_KEY, chat_jsonl

MIXED_SPEC = """\
kind: File
name: train
spec: {path: data/train.jsonl}
---
kind: File
name: other
spec: {path: data/other.jsonl}
""" + "".join(f"""---
kind: FineTuningJob
name: job{i}
spec:
  model: gpt-4o-mini
  training_file: ${{File.{'train' if i % 2 else 'other'}.id}}
  suffix: crash-{i}
""" for i in range(6)) + """---
kind: CheckpointPermission
name: share
spec:
  fine_tuned_model_checkpoint: ${FineTuningJob.job0.fine_tuned_model}
  project_ids: [proj_a, proj_b]
"""


def _cli(root: Path, base_url: str, *args: str) -> subprocess.Popen:
    """The CLI as a real subprocess (the reliability suite's runner), stdout and stderr merged."""
    from tests.reliability.helpers import Cli

    cli = Cli(root, base_url, api_key=PROJECT_KEY, admin_key=ADMIN_KEY)
    return subprocess.Popen(cli.argv(*args), env=cli.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _setup(root: Path) -> None:
    (root / "specs" / "data").mkdir(parents=True)
    (root / "specs" / "main.yaml").write_text(MIXED_SPEC)
    (root / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    (root / "specs" / "data" / "other.jsonl").write_text(chat_jsonl(topic="shipping"))


def _jobs_by_address(sandbox) -> dict[str, list[str]]:
    import openai

    sandbox.clear_faults()
    client = openai.OpenAI(base_url=sandbox.base_url, api_key=ADMIN_KEY, max_retries=5)
    found = collections.defaultdict(list)
    for job in client.fine_tuning.jobs.list(limit=100):
        found[(job.metadata or {}).get("reconciler_address")].append(job.id)
    return found


def _file_count(sandbox) -> int:
    import openai

    client = openai.OpenAI(base_url=sandbox.base_url, api_key=ADMIN_KEY, max_retries=5)
    return len(list(client.files.list()))


def _converge(root: Path, base_url: str, tries: int = 4) -> str:
    transcript = []
    for _ in range(tries):
        proc = _cli(root, base_url, "apply", "--auto-approve")
        output, _ = proc.communicate(timeout=120)
        transcript.append(f"$ apply (exit {proc.returncode})\n{output}")
        if proc.returncode == 0:
            check = _cli(root, base_url, "plan", "--detailed-exitcode")
            plan_out, _ = check.communicate(timeout=120)
            transcript.append(f"$ plan (exit {check.returncode})\n{plan_out}")
            if check.returncode == 0:
                return plan_out
    raise AssertionError("did not converge:\n" + "\n".join(transcript))


LATENCY = {"latency_ms": 80}


def _calibrate(tmp: Path) -> float:
    """Seconds an uninterrupted apply takes here (process start included), so kills can be spread
    over the whole run on a fast or a slow machine."""
    from reconciler_sandbox.testing import run_sandbox

    root = tmp / "calibration"
    _setup(root)
    with run_sandbox(faults=LATENCY) as sandbox:
        start = time.monotonic()
        proc = _cli(root, sandbox.base_url, "apply", "--auto-approve", "--parallelism", "3")
        output, _ = proc.communicate(timeout=120)
        elapsed = time.monotonic() - start
    # a run that failed early would calibrate the kills to land after every run had ended
    assert proc.returncode == 0, output
    return elapsed


def _crash_trial(tmp: Path, seed: int, stats: collections.Counter, duration: float) -> None:
    from reconciler_sandbox.testing import run_sandbox

    rng = random.Random(seed)
    root = tmp / f"trial{seed}"
    _setup(root)
    # 80 ms per request stretches the apply, so kills land between (and inside) uploads, creates,
    # grants and journal writes; the kill time is spread over the calibrated length of a run.
    with run_sandbox(faults={**LATENCY, "seed": seed}) as sandbox:
        proc = _cli(root, sandbox.base_url, "apply", "--auto-approve", "--parallelism", "3")
        time.sleep(rng.uniform(0.15, 0.95) * duration)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        stats["killed" if killed else "finished_before_kill"] += 1
        store = StateStore(root / "state" / "default.json")
        holder = store.lock_info()
        if holder is not None:  # a SIGKILLed apply leaves its lock: reported, cleared by force-unlock
            stats["stale_locks"] += 1
            unlock = _cli(root, sandbox.base_url, "force-unlock", holder.id, "--force")
            assert unlock.wait(timeout=60) == 0, unlock.stdout.read() if unlock.stdout else ""
        if store.exists() or store.journal_path.exists():
            state = store.load()  # the state (with its journal) always loads
            stats["journal_entries_replayed"] += state.recovered_from_journal
        _converge(root, sandbox.base_url)
        by_address = _jobs_by_address(sandbox)
        for i in range(6):
            assert len(by_address[f"FineTuningJob.job{i}"]) == 1, (seed, by_address)
        assert set(by_address) == {f"FineTuningJob.job{i}" for i in range(6)}, "orphaned job"
        assert _file_count(sandbox) == 2, "duplicate upload"
        state = StateStore(root / "state" / "default.json").load()
        assert {r.id for a, r in state.resources.items() if a.startswith("FineTuningJob.")} == \
            {ids[0] for a, ids in by_address.items()}


def _trials(default: int) -> int:
    return int(os.environ.get("RECONCILER_CRASH_TRIALS", default))


def test_sigkill_during_apply_short(tmp_path):
    stats: collections.Counter = collections.Counter()
    duration = _calibrate(tmp_path)
    for seed in range(4):
        _crash_trial(tmp_path, seed, stats, duration)
    assert stats["killed"] >= 1, stats


@pytest.mark.slow
def test_sigkill_during_apply_matrix(tmp_path):
    stats: collections.Counter = collections.Counter()
    duration = _calibrate(tmp_path)
    for seed in range(100, 100 + _trials(50)):
        _crash_trial(tmp_path, seed, stats, duration)
    print(f"crash matrix: {dict(stats)} (uninterrupted apply: {duration:.2f}s)")
    assert stats["killed"] >= _trials(50) * 0.6, stats


def test_apply_converges_under_faults_without_duplicates(tmp_path):
    from reconciler_sandbox.testing import run_sandbox

    _setup(tmp_path)
    faults = {"rate_429": 0.08, "rate_500": 0.04, "rate_503": 0.04, "drop_rate": 0.04, "retry_after": 0.05,
              "seed": 7}
    with run_sandbox(faults=faults) as sandbox:
        _converge(tmp_path, sandbox.base_url, tries=6)
        by_address = _jobs_by_address(sandbox)
        assert all(len(v) == 1 for v in by_address.values()), by_address
        assert len(by_address) == 6
