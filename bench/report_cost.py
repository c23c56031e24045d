"""What the report's cost column costs (BENCHMARKS.md, "report --html"): the pure `render_html` of a
synthetic page of N succeeded jobs without and with a cost per job, interleaved A B A B in one
process (CPU time), the median of the per-pair ratios and both page sizes.

    python -m bench.report_cost [--jobs 1000] [--pairs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from reconciler.report.costs import total
from reconciler.report.html import render_html
from reconciler.report.model import Checkpoint, Cost, JobReport, Report, Series


def _report(n: int, with_cost: bool) -> Report:
    jobs = []
    for i in range(n):
        series = (Series("train_loss", tuple((float(k), 1.0 / (k + 1)) for k in range(120))),
                  Series("train_mean_token_accuracy", tuple((float(k), 0.5 + k / 300) for k in range(120))))
        checkpoints = tuple(Checkpoint(f"ft:gpt-4o-mini-2024-07-18:org::abc{i}:ckpt-step-{k}", f"ftckpt_{i}_{k}", k,
                                       (("train_loss", 0.5),)) for k in (40, 80, 120))
        cost = Cost("spent", 0.009144, "3,048 trained tokens at $3.00 / 1M tokens") if with_cost else None
        jobs.append(JobReport(f"FineTuningJob.j{i}", f"ftjob-{i:024d}", "succeeded", "gpt-4o-mini-2024-07-18",
                              "supervised", 1.7e9, 1.7e9 + 140, 3048, cost, series=series, checkpoints=checkpoints))
    return Report(1.7e9, 1.7e9 + 3600, "specs", "state/default.json", "IN SYNC", True, True, tuple(jobs),
                  cost_total=total(j.cost for j in jobs) if with_cost else None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    without, with_cost = _report(args.jobs, False), _report(args.jobs, True)
    ratios, a_times, b_times = [], [], []
    page_a = page_b = ""
    for _ in range(args.pairs):
        start = time.process_time()
        page_a = render_html(without)
        a = time.process_time() - start
        start = time.process_time()
        page_b = render_html(with_cost)
        b = time.process_time() - start
        a_times.append(a)
        b_times.append(b)
        ratios.append(b / a)
    print(f"{args.jobs} jobs, {args.pairs} pairs, load average {os.getloadavg()[0]:.1f}")
    print(f"page: {len(page_a.encode()) / 1e6:.2f} MB without cost, {len(page_b.encode()) / 1e6:.2f} MB with")
    print(f"render CPU: median {statistics.median(a_times):.3f} s without, {statistics.median(b_times):.3f} s with; "
          f"median per-pair ratio {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
