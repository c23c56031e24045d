"""Pure `render_html` of the synthetic 1,000-job page (bench/report_cost.py's, with a cost per
job) in two checkouts, interleaved A B A B, each in a fresh process (its own imports): CPU time of
one render after a warm-up render, and the page size. Prints the median of the per-pair ratios.

    python -m bench.report_render OLD_TREE NEW_TREE [--jobs 1000] [--pairs 5]

A tree is a checkout of the repository whose own `reconciler` is importable by the Python
running it (an installed copy of the same version would be imported instead: use a virtualenv
per tree, or `git archive` into a folder and install it there without -e)."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
import reconciler
assert reconciler.__file__.startswith(sys.argv[1]), reconciler.__file__
from bench.report_cost import _report
from reconciler.report.html import render_html
report = _report(int(sys.argv[2]), True)
render_html(report)
start = time.process_time()
page = render_html(report)
print(time.process_time() - start, len(page.encode()))
"""


def _one(python: str, tree: str, jobs: int) -> tuple[float, int]:
    out = subprocess.run([python, "-c", CHILD, tree, str(jobs)], capture_output=True, text=True, check=True)
    cpu, size = out.stdout.split()
    return float(cpu), int(size)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--old-python", default=sys.executable)
    parser.add_argument("--new-python", default=sys.executable)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    ratios, olds, news = [], [], []
    sizes = (0, 0)
    for _ in range(args.pairs):
        a, size_a = _one(args.old_python, args.old, args.jobs)
        b, size_b = _one(args.new_python, args.new, args.jobs)
        olds.append(a)
        news.append(b)
        ratios.append(b / a)
        sizes = (size_a, size_b)
    print(f"{args.jobs} jobs, {args.pairs} pairs: render CPU median {statistics.median(olds):.3f} s old, "
          f"{statistics.median(news):.3f} s new; median per-pair ratio {statistics.median(ratios):.2f}; "
          f"page {sizes[0] / 1e6:.2f} MB old, {sizes[1] / 1e6:.2f} MB new")


if __name__ == "__main__":
    main()
