"""A/B, interleaved: what `apply PLANFILE` costs on two source trees, e.g. before and after the
saved plan was made again at apply (docs/adr/0201-saved-plan-promise.md).

    git archive aba3610 | tar -x -C /tmp/saved-old      # the tree before
    python bench/saved_plan_apply.py --old /tmp/saved-old --new . [--jobs 230] [--pairs 3]

Each run: a sandbox (this tree's, in this process) holding N managed jobs, one more job added to
the specs, `plan --out` by the tree under test, then `apply plan.json` measured: wall and peak RSS
(bench/_measure.py) and the requests the sandbox counted, by method.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler_sandbox.testing import run_sandbox  # noqa: E402

LINE = {"messages": [{"role": "user", "content": "Question?"}, {"role": "assistant", "content": "Answer."}]}
FILE_DOC = "kind: File\nname: train\nspec:\n  path: data/train.jsonl\n"
JOB_DOC = ("kind: FineTuningJob\nname: job{i}\nspec:\n  model: gpt-4o-mini\n  training_file: ${{File.train.id}}\n"
           "  suffix: s{i}\n")


def _specs(folder: Path, jobs: int) -> None:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "train.jsonl").write_text("\n".join(json.dumps(LINE) for _ in range(12)) + "\n")
    (folder / "main.yaml").write_text("---\n".join([FILE_DOC, *(JOB_DOC.format(i=i) for i in range(jobs))]))


def _run(tree: Path, jobs: int) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="saved-ab-"))
    specs = scratch / "specs"
    _specs(specs, jobs)
    with run_sandbox() as sb:
        env = {**os.environ, "PYTHONPATH": str(tree), "RECONCILER_CACHE_DIR": "off", "NO_COLOR": "1",
               "OPENAI_BASE_URL": sb.base_url, "OPENAI_API_KEY": "sk-proj-bench-0123456789",
               "OPENAI_ADMIN_KEY": "sk-admin-bench-0123456789"}
        cli = [sys.executable, "-m", "reconciler", "-C", str(specs), "--state", str(scratch / "state.json")]

        def run(*args: str) -> None:
            proc = subprocess.run([*cli, *args], env=env, capture_output=True, text=True)
            if proc.returncode not in (0, 2):
                raise RuntimeError(f"{tree}: {args}: exit {proc.returncode}\n{proc.stderr[-1500:]}")

        run("apply", "--auto-approve", "--parallelism", "16")
        _specs(specs, jobs + 1)
        run("plan", "--out", str(scratch / "plan.json"))
        sb.reset_stats()
        measured = scratch / "m.json"
        subprocess.run([sys.executable, str(ROOT / "bench" / "_measure.py"), str(measured), "--", *cli, "apply",
                        str(scratch / "plan.json")], env=env, check=True)
        result: dict[str, Any] = json.loads(measured.read_text())
        if result["rc"] != 0:
            raise RuntimeError(f"{tree}: exit {result['rc']}\n{Path(str(measured) + '.stderr').read_text()[-1500:]}")
        by_method: collections.Counter[str] = collections.Counter()
        for key, n in sb.stats().items():
            by_method[key.split(" ", 1)[0]] += n
        result["requests"] = dict(by_method)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/saved_plan_apply.py")
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=230)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for i in range(args.pairs):
        order = ("old", "new") if i % 2 == 0 else ("new", "old")
        row = {side: _run(args.old if side == "old" else args.new, args.jobs) for side in order}
        rows.append(row)
        print(f"pair {i + 1}: " + ", ".join(
            f"{side} {row[side]['wall']:.2f}s {row[side]['rss_kib'] / 1024:.0f} MiB {row[side]['requests']}"
            for side in ("old", "new")), flush=True)
    ratios = [r["new"]["wall"] / r["old"]["wall"] for r in rows]
    print(f"{args.jobs} managed jobs + 1 to create: new/old wall median {statistics.median(ratios):.2f} "
          f"({min(ratios):.2f}-{max(ratios):.2f}); old {statistics.median(r['old']['wall'] for r in rows):.2f}s, "
          f"new {statistics.median(r['new']['wall'] for r in rows):.2f}s; peak RSS old "
          f"{statistics.median(r['old']['rss_kib'] for r in rows) / 1024:.0f} MiB, new "
          f"{statistics.median(r['new']['rss_kib'] for r in rows) / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
