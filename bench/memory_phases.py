"""Where a no-op plan's memory goes, phase by phase, in one process.

    python -m bench.memory_phases SPEC_DIR STATE_FILE BASE_URL [--tracemalloc N]

Loads the specs, then the state, then refreshes and plans against BASE_URL (OPENAI_API_KEY and
OPENAI_ADMIN_KEY from the environment), printing the resident set size after each phase and the
process's peak so far. With --tracemalloc N it also prints the N allocation sites holding the most
memory that each phase added (slower; sizes are Python objects only, without allocator overhead).

This is how the memory figures in BENCHMARKS.md were found; `python -m bench` measures the peak
of whole commands.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

from reconciler.kinds import registry


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory_phases", description=__doc__.split("\n")[0])
    parser.add_argument("spec_dir", type=Path)
    parser.add_argument("state_file", type=Path)
    parser.add_argument("base_url")
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    if args.tracemalloc:
        tracemalloc.start(8)
    started = time.perf_counter()
    snapshots: list[tracemalloc.Snapshot] = []

    def phase(name: str) -> None:
        gc.collect()
        print(f"{name:<14} RSS {_rss_mib():6.0f} MiB   peak {_peak_mib():6.0f} MiB   "
              f"{time.perf_counter() - started:6.1f} s", flush=True)
        if not args.tracemalloc:
            return
        snapshots.append(tracemalloc.take_snapshot())
        if len(snapshots) < 2:
            return
        for stat in snapshots[-1].compare_to(snapshots[-2], "traceback")[:args.tracemalloc]:
            print(f"    {stat.size_diff / 2**20:+7.1f} MiB in {stat.count_diff:+8d} blocks")
            for frame in stat.traceback.format()[-6:]:
                if frame.lstrip().startswith("File"):
                    print("        " + frame.strip())

    from reconciler.api import ApiClient
    from reconciler.loading import load_specs
    from reconciler.planner.build import PlanOptions
    from reconciler.planner.refresh import refresh_and_plan
    from reconciler.state import StateStore

    phase("imports")
    specs = load_specs(args.spec_dir, {})
    phase("specs")
    state = StateStore(args.state_file).load()
    phase("state")
    client = ApiClient(args.base_url, os.environ.get("OPENAI_API_KEY", ""), os.environ.get("OPENAI_ADMIN_KEY"))
    plan, observed = refresh_and_plan(specs, state, client, PlanOptions(kinds=registry))
    phase("refresh+plan")
    print(f"{len(plan.changes)} changes, has_changes={plan.has_changes}, "
          f"{len(observed.jobs or {}) if observed else 0} jobs listed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
