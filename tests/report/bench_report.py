"""Measure `reconciler report --html` on a large workspace (BENCHMARKS.md, "report --html").

    python -m tests.report.bench_report [--jobs 1000] [--runs 3] [--workdir DIR]

Builds the workspace the scale benchmark builds (bench/run.py: one shared File, N jobs, N
permission sets), applies it on a sandbox in its own process, finishes every job, grants, then
times the real command (a fresh process per run, wall time and peak RSS by bench/_measure.py) and,
in this process, each phase of one run: refresh + drift, the per-job reads, rendering, writing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.run import ADVANCE_SECONDS, SandboxProcess, measure, reconciler_cmd, write_specs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    base = args.workdir or Path(tempfile.mkdtemp(prefix="report-bench-"))
    specs, state, page = base / "specs", base / "state" / "default.json", base / "report.html"
    write_specs(specs, args.jobs)
    sandbox = SandboxProcess(base)
    sandbox.start()
    try:
        env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_ADMIN_KEY": "sk-admin-bench", "NO_COLOR": "1",
               "OPENAI_BASE_URL": sandbox.base_url}
        common = ["-C", str(specs), "--state", str(state)]
        measure([*reconciler_cmd(), "apply", "--auto-approve", *common], cwd=base, env=env, scratch=base)
        sandbox.control("POST", "/_sandbox/advance", {"seconds": ADVANCE_SECONDS})
        measure([*reconciler_cmd(), "apply", "--auto-approve", *common], cwd=base, env=env, scratch=base)
        samples = []
        for _ in range(args.runs):
            sandbox.reset_stats()
            samples.append(measure([*reconciler_cmd(), "report", "--html", str(page), *common], cwd=base, env=env,
                                   scratch=base))
        requests = sandbox.stats()
        wall = statistics.median(s.wall for s in samples)
        rss = max(s.rss_kib for s in samples) / 1024
        print(f"report --html, {args.jobs} jobs: {wall:.2f} s wall (median of {args.runs}), peak RSS {rss:.0f} MiB, "
              f"page {page.stat().st_size / 1e6:.2f} MB; requests per run: {requests}")
        phases(base, specs, state, env)
    finally:
        sandbox.stop()
    print(f"workdir: {base}")


def phases(base: Path, specs: Path, state: Path, env: dict[str, str]) -> None:
    from reconciler.cli import runtime
    from reconciler.cli.context import AppContext, Out
    from reconciler.cli.drift import _build
    from reconciler.report.gather import gather
    from reconciler.report.html import render_html

    ctx = AppContext(spec_dir=str(specs), state_path=str(state), env=env)
    o = Out(color=False)
    t0 = time.perf_counter()
    with runtime.session(ctx, o, "report", lock_timeout="0s", insecure_http=False) as s:
        plan, snapshot, drift = _build(ctx, o, s.client, s.specs, s.state, parallelism=10, selectors=(),
                                       include_finished=False, ignore_file=None)
        t1 = time.perf_counter()
        data = gather(plan, snapshot, drift, s.state, s.client, parallelism=10)
        t2 = time.perf_counter()
    text = render_html(data)
    t3 = time.perf_counter()
    runtime.write_private(base / "phases.html", text)
    t4 = time.perf_counter()
    print(f"phases: load + refresh + drift {t1 - t0:.2f} s, per-job reads {t2 - t1:.2f} s, "
          f"render {t3 - t2:.3f} s, write {t4 - t3:.3f} s ({len(text) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
