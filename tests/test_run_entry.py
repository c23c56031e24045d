"""tests/run.py, the README's test entry point: what is missing is named in one line, exit 1, before
pytest starts, when it cannot be installed here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.run import missing_packages

ROOT = Path(__file__).resolve().parent.parent


def test_nothing_missing_on_a_machine_that_ran_it() -> None:
    # .ci/run goes through tests.run, which installs what is missing before this test runs
    assert missing_packages() == []


def test_missing_and_not_installable_is_one_line_and_exit_1(tmp_path: Path) -> None:
    # A PATH with only this Python: no chromium, no apt-get (and no initdb/pg_config on PATH).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k != "PATH"} | {"PATH": str(bin_dir)}
    done = subprocess.run([str(bin_dir / "python"), "-m", "tests.run", "--co", "-q"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("tests: the suite needs chromium")
    assert "this machine has no apt-get" in lines[0] and "apt-get install -y chromium" in lines[0]
    assert "collected" not in done.stdout  # pytest never started
