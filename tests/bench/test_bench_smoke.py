"""Smoke test of the scale benchmark runner: it runs end to end on N=20 and prints a table.

No timing is asserted here (timings belong to BENCHMARKS.md, not to the test suite)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_runner_produces_a_table(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", "20", "--runs", "1", "--no-terraform", "--no-startup",
         "--latency-ms", "5", "--workdir", str(tmp_path / "work"), "--json", str(tmp_path / "out.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "| N | measurement | reconciler |" in out
    for what in ("validate", "plan (empty)", "apply (empty)", "apply grants", "no-op plan", "drift"):
        assert f"| 20 | {what} |" in out, what
    assert "job list 1" in out  # request counts come from the sandbox
    assert "--no-terraform: the Terraform column is skipped" in out
    assert (tmp_path / "out.json").exists()
