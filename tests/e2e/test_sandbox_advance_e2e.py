"""`reconciler sandbox advance DURATION` and `sandbox speed X`: the policy example's "apply again
after the job finished" reached with --sandbox and no environment variable, through the real CLI
in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cli(cwd: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", **extra}
    for name in ("RECONCILER_SANDBOX_NOW", "RECONCILER_SANDBOX_SPEED"):
        if name not in extra:
            env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "reconciler", "-C", "policy", "--state", "st/s.json", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _share_findings(cwd: Path) -> list[tuple[str, str]]:
    report = json.loads(_cli(cwd, "drift", "--sandbox", "--format", "json").stdout)
    return [(f["axis"], f["category"]) for f in report["findings"] if f["address"] == "CheckpointPermission.share"]


def test_advance_moves_the_persisted_sandbox_clock_so_the_held_back_grant_is_applied(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "policy", tmp_path / "policy")
    none = _cli(tmp_path, "sandbox", "advance", "2h")
    assert none.returncode == 1 and "no sandbox world here yet" in none.stderr + none.stdout
    assert _cli(tmp_path, "sandbox", "speed").stdout == "The --sandbox clock runs 60× the wall clock (the default).\n"
    # a slow clock: nothing finishes while a command runs, only when the clock is advanced
    slow = _cli(tmp_path, "sandbox", "speed", "0.001")
    assert slow.returncode == 0 and "runs 0.001× the wall clock from the next command" in slow.stdout
    assert "runs 0.001× the wall clock (st/sandbox-clock.json)" in _cli(tmp_path, "sandbox", "speed").stdout
    assert "(RECONCILER_SANDBOX_SPEED)" in _cli(tmp_path, "sandbox", "speed", RECONCILER_SANDBOX_SPEED="5").stdout
    assert _cli(tmp_path, "sandbox", "speed", "0").returncode == 1
    bad = _cli(tmp_path, "plan", "--sandbox", RECONCILER_SANDBOX_SPEED="fast")
    assert bad.returncode == 1 and "RECONCILER_SANDBOX_SPEED='fast' is not a positive number" in bad.stderr

    first = _cli(tmp_path, "apply", "--sandbox", "--auto-approve")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "CheckpointPermission.share: Creating" not in first.stdout
    assert _share_findings(tmp_path) == [("health", "held")]

    bad = _cli(tmp_path, "sandbox", "advance", "soon")
    assert bad.returncode == 1 and "not a duration" in bad.stderr
    moved = _cli(tmp_path, "sandbox", "advance", "2h")
    assert moved.returncode == 0, moved.stderr
    assert "Sandbox clock moved 2h forward" in moved.stdout

    # the job finished: the grant is no longer held back but due
    assert _share_findings(tmp_path) == [("drift", "out_of_sync")]
    second = _cli(tmp_path, "apply", "--sandbox", "--auto-approve")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "CheckpointPermission.share: Creation complete" in second.stdout
