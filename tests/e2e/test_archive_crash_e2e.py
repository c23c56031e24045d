"""`reconciler archive` as a real process (`python -m reconciler`) against the real sandbox: killed
with SIGKILL halfway, the next run completes the archive and it equals one made in one go; a
training file of 16 MiB (64 MiB under -m slow) is streamed to disk, so the process's peak RSS stays far below it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler_sandbox.testing import run_sandbox
from tests.e2e.conftest import JOB_SPEC, World, chat_jsonl
from tests.reliability.test_hostile_input import PEAK_RSS_CLI

MB = 1024 * 1024


@pytest.fixture
def trained(tmp_path: Path):
    with run_sandbox() as sandbox:
        w = World(sandbox, tmp_path)
        (w.specs / "data").mkdir(parents=True)
        (w.specs / "data" / "train.jsonl").write_text(chat_jsonl())
        w.write("main.yaml", JOB_SPEC)
        w.ok("apply", "--auto-approve")
        w.finish_jobs()
        yield w


def _argv(w: World, out: Path) -> list[str]:
    return ["-C", str(w.specs), "--state", str(w.state_file), "archive", str(out), "--json"]


def _env(w: World, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(w.env(**extra))
    return env


def _manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return data


def _recorded(out: Path, suffix: str) -> bool:
    try:
        return any(name.endswith(suffix) for name in _manifest(out)["files"])
    except (FileNotFoundError, ValueError):
        return False  # not written yet, or being replaced this instant


def test_sigkill_halfway_then_a_second_run_completes_the_archive(trained: World, tmp_path: Path) -> None:
    w = trained
    (job,) = w.jobs()
    (result_id,) = job["result_files"]
    out = tmp_path / "archive"
    # The result file's content answers only after two minutes: the run stops there, after the
    # training data, and is killed while it waits.
    w.sandbox.set_faults(latency_ms=120_000, paths=[f"/v1/files/{result_id}/content"])
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", *_argv(w, out)], env=_env(w),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _recorded(out, "/training.jsonl"):
            assert proc.poll() is None, "the archive ended before it was killed"
            assert time.monotonic() < deadline, "the archive never wrote its training data"
            time.sleep(0.05)  # polling for a file, not ordering: the run is held by the fault
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not _recorded(out, ".csv")
    w.sandbox.set_faults()

    again = subprocess.run([sys.executable, "-m", "reconciler", *_argv(w, out)], env=_env(w),
                           capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["kept"] >= 3 and summary["written"] >= 3  # spec, job, training kept; the rest written

    whole = tmp_path / "whole"
    w.ok("archive", str(whole))
    ours, reference = _manifest(out), _manifest(whole)
    assert {k: v["sha256"] for k, v in ours["files"].items()} == \
        {k: v["sha256"] for k, v in reference["files"].items()}
    assert not [p for p in out.rglob("*.part")]  # the partial file was made again, never kept


def _peak_mb(w: World, out: Path) -> float:
    peak_file = Path(tempfile.mkstemp(prefix="peak-rss-")[1])
    proc = subprocess.run([sys.executable, "-c", PEAK_RSS_CLI, *_argv(w, out)],
                          env=_env(w, PEAK_RSS_FILE=str(peak_file)), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    text = peak_file.read_text().strip()
    peak_file.unlink()
    return int(text) / 1024


@pytest.mark.parametrize("size_mb", [16, pytest.param(64, marks=pytest.mark.slow)])
def test_a_large_training_file_is_streamed_in_bounded_memory(trained: World, tmp_path: Path, size_mb: int) -> None:
    w = trained
    _peak_mb(w, tmp_path / "warm")  # the first run of a folder also stores its spec cache
    baseline = _peak_mb(w, tmp_path / "small")
    line = json.dumps({"messages": [{"role": "user", "content": "q " * 200},
                                    {"role": "assistant", "content": "a " * 200}]}) + "\n"
    big = (line * (size_mb * MB // len(line) + 1)).encode()
    file_id = w.sdk().files.create(file=("big.jsonl", big), purpose="fine-tune").id
    w.write("big.yaml", f"""\
        kind: FineTuningJob
        name: big
        spec:
          model: gpt-4o-mini
          training_file: {file_id}
          method: {{type: supervised, supervised: {{hyperparameters: {{n_epochs: 1}}}}}}
        """)
    w.ok("apply", "--auto-approve")
    w.sandbox.advance(10 * 24 * 3600)  # a large file trains for longer than an hour
    out = tmp_path / "big"
    peak = _peak_mb(w, out)
    folder = out / _manifest(out)["jobs"]["FineTuningJob.big"]["folder"]
    assert (folder / "training.jsonl").stat().st_size == len(big)
    # the whole file went through the process: its peak stays within a few MiB of a small archive
    print(f"archive peak RSS: {peak:.1f} MiB with a {size_mb} MiB training file, {baseline:.1f} MiB without")
    assert peak - baseline < 12, f"peak RSS {peak:.0f} MiB against {baseline:.0f} MiB for a small archive"
