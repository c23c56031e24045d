"""Smoke test of the scale benchmark runner: it runs end to end on N=20 and prints a table.

No timing is asserted here (timings belong to BENCHMARKS.md, not to the test suite)."""

from __future__ import annotations

import json
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
    rows = json.loads((tmp_path / "out.json").read_text())["rows"]
    assert {r["what"] for r in rows if r["n"] == 20} >= {"validate", "plan (empty)", "no-op plan", "drift"}, rows


def test_memory_phases_reports_each_phase(tmp_path: Path) -> None:
    """The profiling tool BENCHMARKS.md quotes runs against a real world (sandbox over HTTP)."""
    import os

    from bench.run import write_specs
    from reconciler_sandbox.testing import run_sandbox

    specs = tmp_path / "specs"
    write_specs(specs, 5)
    state = tmp_path / "state.json"
    with run_sandbox() as sandbox:
        env = {**os.environ, "OPENAI_BASE_URL": sandbox.base_url, "OPENAI_API_KEY": "sk-proj-bench",
               "OPENAI_ADMIN_KEY": "sk-admin-bench", "NO_COLOR": "1"}
        applied = subprocess.run([sys.executable, "-m", "reconciler", "-C", str(specs), "--state", str(state),
                                  "apply", "--auto-approve"], cwd=ROOT, env=env, capture_output=True, text=True,
                                 timeout=120)
        assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr[-2000:]
        result = subprocess.run([sys.executable, "-m", "bench.memory_phases", str(specs), str(state),
                                 sandbox.base_url, "--tracemalloc", "2"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines if " RSS " in line] == ["imports", "specs", "state", "refresh+plan"]
    assert "11 changes, has_changes=False, 5 jobs listed" in result.stdout  # 5 jobs, 5 grants pending, 1 file
    assert "MiB in" in result.stdout  # the tracemalloc sites
