"""A File over Settings `uploads.threshold_bytes` goes through the Uploads API: the real CLI (a
subprocess) against the real sandbox over HTTP. The default run uses a small threshold and small
Parts; `pytest -m slow` sends a 1.5 GB file under the 512 MiB default and measures the CLI's
peak memory (its own VmHWM).

A SIGKILL half way is a real signal, sent by the sandbox the moment it has stored Part k (no
sleeps): the next apply sends only the Parts the state journal does not have, completes the same
Upload, and one File ends in the organisation, which a job trains on."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.state import StateStore
from reconciler_sandbox.testing import run_sandbox
from tests.reliability.helpers import PEAK_WRAPPER, Cli, chat_jsonl, files, plain_name, report, sdk

PARTS_PATH = "POST /v1/uploads/{upload_id}/parts"

SPECS = """\
kind: Settings
name: default
spec:
  uploads: {threshold_bytes: %(threshold)d, part_bytes: %(part)d, parallel_parts: %(parallel)d}
---
kind: File
name: train
spec:
  path: data/train.jsonl
---
kind: FineTuningJob
name: bot
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  suffix: big
"""


def _workspace(root: Path, base_url: str, *, threshold: int, part: int, parallel: int = 3) -> Cli:
    cli = Cli(root, base_url)
    cli.write("main.yaml", SPECS % {"threshold": threshold, "part": part, "parallel": parallel})
    (root / "state").mkdir(parents=True, exist_ok=True)
    return cli


def _parts_received(sandbox: Any) -> int:
    return int(sandbox.stats().get(PARTS_PATH, 0))


def _kill_when_part_stored(sandbox: Any, k: int, proc: subprocess.Popen[str]) -> list[int]:
    """SIGKILL `proc` from the sandbox's own thread as it stores its k-th Part."""
    blobs = sandbox.world.blobs
    put = blobs.put
    stored: list[int] = []

    def counting_put(blob_id: str, content: Any) -> None:
        put(blob_id, content)
        if blob_id.startswith("part_"):
            stored.append(1)
            if len(stored) == k:
                os.kill(proc.pid, signal.SIGKILL)

    blobs.put = counting_put
    return stored


def test_small_threshold_uploads_in_parts_and_trains(tmp_path: Path) -> None:
    data = chat_jsonl(300).encode()
    with run_sandbox() as sandbox:
        cli = _workspace(tmp_path, sandbox.base_url, threshold=1000, part=4096)
        (cli.specs / "data").mkdir()
        (cli.specs / "data" / "train.jsonl").write_bytes(data)
        plan = cli.ok("plan", codes=(2, 0))
        count = -(-len(data) // 4096)
        assert f"through the Uploads API in {count} parts of at most 4096 bytes, 3 at a time\n" in plan.stdout
        cli.ok("apply", "--auto-approve")
        assert _parts_received(sandbox) == count
        listed = files(sandbox)
        assert len(listed) == 1 and plain_name(listed[0]) == "train.jsonl"
        assert sdk(sandbox.base_url).files.content(listed[0]["id"]).read() == data
        sandbox.advance(100000)
        job = sdk(sandbox.base_url).fine_tuning.jobs.list().data[0]
        assert job.training_file == listed[0]["id"] and job.status == "succeeded"
        assert cli.run("plan", "--detailed-exitcode").returncode == 0


def test_a_file_under_the_threshold_goes_in_one_request(tmp_path: Path) -> None:
    with run_sandbox() as sandbox:
        cli = _workspace(tmp_path, sandbox.base_url, threshold=10 ** 6, part=4096)
        (cli.specs / "data").mkdir()
        (cli.specs / "data" / "train.jsonl").write_text(chat_jsonl(20))
        plan = cli.ok("plan", codes=(2, 0))
        assert "Uploads API" not in plan.stdout
        cli.ok("apply", "--auto-approve")
        assert _parts_received(sandbox) == 0 and len(files(sandbox)) == 1


def _killed_then_resumed(tmp_path: Path, data_path_bytes: int | None, *, part: int, threshold: int,
                         write: Any, peak: bool = False) -> dict[str, Any]:
    with run_sandbox() as sandbox:
        cli = _workspace(tmp_path, sandbox.base_url, threshold=threshold, part=part)
        (cli.specs / "data").mkdir()
        target = cli.specs / "data" / "train.jsonl"
        write(target)
        size = target.stat().st_size
        count = -(-size // part)
        first = cli.popen("apply", "--auto-approve")
        stored = _kill_when_part_stored(sandbox, count // 2, first)
        first.communicate(timeout=3600)
        assert first.returncode == -signal.SIGKILL and len(stored) >= count // 2
        sent_before = _parts_received(sandbox)
        store = StateStore(cli.state_file)
        holder = store.lock_info()
        if holder is not None:
            cli.ok("force-unlock", holder.id, "--force")
        # the interrupted Upload (an address without a File id yet) reads everywhere
        for command in (("state", "list"), ("state", "show", "File.train"), ("show",), ("drift",), ("inventory",)):
            cli.ok(*command, codes=(0, 1, 2))
        plan = cli.ok("plan")
        match = re.search(r"in (\d+) parts of .*\(continuing Upload (upload_\w+): (\d+) parts left\)", plan.stdout)
        assert match, plan.stdout
        left = int(match.group(3))
        assert int(match.group(1)) == count and 0 < left < count
        env = cli.env()
        peak_file = tmp_path / "peak"
        argv = cli.argv("apply", "--auto-approve")
        if peak:   # the same CLI, started by the wrapper that writes its own VmHWM
            argv = [sys.executable, "-c", PEAK_WRAPPER, *argv[len(cli.command):]]
        second = subprocess.run(argv, env={**env, "PEAK_FILE": str(peak_file)}, capture_output=True, text=True,
                                timeout=3600, cwd=tmp_path)
        assert second.returncode == 0, second.stdout + second.stderr
        sent_after = _parts_received(sandbox) - sent_before
        assert sent_after == left            # only the Parts the journal did not have
        listed = files(sandbox)
        assert len(listed) == 1 and listed[0]["bytes"] == size
        sandbox.advance(100000)
        job = sdk(sandbox.base_url).fine_tuning.jobs.list().data[0]
        assert job.training_file == listed[0]["id"] and job.status == "succeeded", job
        figures = {"bytes": size, "parts": count, "parts_left_after_kill": left, "parts_sent_on_resume": sent_after}
        if peak:
            figures["peak_rss_mib"] = int(peak_file.read_text()) / 1024
            # this process (pytest and the in-process sandbox that stored every Part): its own VmHWM
            with open("/proc/self/status") as status:
                kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
            figures["test_process_with_sandbox_peak_rss_mib"] = int(kib) / 1024
        return figures


def test_sigkill_half_way_then_apply_sends_only_missing_parts(tmp_path: Path) -> None:
    data = chat_jsonl(600).encode()
    figures = _killed_then_resumed(tmp_path, None, part=2048, threshold=1000,
                                   write=lambda p: p.write_bytes(data))
    report("upload_resume_small", figures)


def _write_large(path: Path, size: int) -> None:
    """A valid chat training file of about `size` bytes, written a line at a time."""
    filler = "x" * 60_000
    line = (json.dumps({"messages": [{"role": "user", "content": "q " + filler},
                                     {"role": "assistant", "content": "a"}]}) + "\n").encode()
    with open(path, "wb") as fh:
        for _ in range(size // len(line) + 1):
            fh.write(line)


@pytest.mark.slow
def test_one_and_a_half_gb_through_uploads_bounded_memory_and_resume(tmp_path: Path) -> None:
    size = 1536 * 1024 * 1024
    figures = _killed_then_resumed(tmp_path, size, part=64 * 1024 * 1024, threshold=512 * 1024 * 1024,
                                   write=lambda p: _write_large(p, size), peak=True)
    report("upload_1_5_gb", figures)
    assert figures["peak_rss_mib"] < 150, figures


def test_an_api_refusal_cancels_the_upload_and_a_new_apply_starts_over(tmp_path: Path) -> None:
    from reconciler_sandbox.errors import ApiError as SandboxError

    data = chat_jsonl(200).encode()
    with run_sandbox() as sandbox:
        cli = _workspace(tmp_path, sandbox.base_url, threshold=1000, part=4096, parallel=1)
        (cli.specs / "data").mkdir()
        (cli.specs / "data" / "train.jsonl").write_bytes(data)
        blobs = sandbox.world.blobs
        put = blobs.put
        seen: list[str] = []

        def refuse_third_part(blob_id: str, content: Any) -> None:
            if blob_id.startswith("part_"):
                seen.append(blob_id)
                if len(seen) == 3:
                    raise SandboxError(400, "This Part was refused (test).", param="data", code="invalid_value")
            put(blob_id, content)

        blobs.put = refuse_third_part
        failed = cli.run("apply", "--auto-approve")
        assert failed.returncode == 1 and "This Part was refused (test)" in failed.stdout + failed.stderr
        assert "Traceback" not in failed.stdout + failed.stderr
        [upload] = sandbox.world.uploads.values()
        assert upload["status"] == "cancelled" and files(sandbox) == []
        state = json.loads(cli.state_file.read_text()) if cli.state_file.exists() else {"resources": {}}
        assert "File.train" not in state.get("resources", {})
        blobs.put = put
        plan = cli.ok("plan")
        assert "continuing" not in plan.stdout and "through the Uploads API" in plan.stdout
        cli.ok("apply", "--auto-approve")
        assert len(files(sandbox)) == 1 and len(sandbox.world.uploads) == 2
