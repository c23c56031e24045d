"""A/B, interleaved: a plan of the shipped specs/ with an empty token cache (every training file
counted) on two source trees, e.g. before and after token counting moved to a child process.

    git worktree add /tmp/ab-old bed707b~1; git worktree add /tmp/ab-new HEAD
    python bench/count_child_ab.py --old /tmp/ab-old --new /tmp/ab-new [--pairs 6]

Wall and peak RSS from bench/_measure.py (RUSAGE_CHILDREN: the largest process of the command,
the counting child included). The order is swapped every pair; the median of new/old is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _run(tree: Path) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="count-ab-"))
    env = {**os.environ, "PYTHONPATH": str(tree), "RECONCILER_CACHE_DIR": "off", "NO_COLOR": "1"}
    measured = scratch / "m.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "_measure.py"), str(measured), "--", sys.executable, "-m",
                    "reconciler", "-C", str(ROOT / "specs"), "plan", "--sandbox", "--state",
                    str(scratch / "s.json")], env=env, check=True)
    result: dict[str, Any] = json.loads(measured.read_text())
    stdout = Path(str(measured) + ".stdout").read_text()
    if result["rc"] != 0 or "estimated cost" not in stdout:
        raise RuntimeError(f"{tree}: exit {result['rc']}\n{Path(str(measured) + '.stderr').read_text()[-1500:]}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/count_child_ab.py")
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, required=True)
    parser.add_argument("--pairs", type=int, default=6)
    args = parser.parse_args()
    rows = []
    for i in range(args.pairs):
        order = ("old", "new") if i % 2 == 0 else ("new", "old")
        row = {side: _run(args.old if side == "old" else args.new) for side in order}
        rows.append(row)
        print(f"pair {i + 1}: old {row['old']['wall']:.2f}s {row['old']['rss_kib'] / 1024:.0f} MiB, "
              f"new {row['new']['wall']:.2f}s {row['new']['rss_kib'] / 1024:.0f} MiB, "
              f"new/old {row['new']['wall'] / row['old']['wall']:.2f}", flush=True)
    ratios = [r["new"]["wall"] / r["old"]["wall"] for r in rows]
    print(f"new/old wall: median {statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}); peak RSS "
          f"old {statistics.median(r['old']['rss_kib'] for r in rows) / 1024:.0f} MiB, "
          f"new {statistics.median(r['new']['rss_kib'] for r in rows) / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
