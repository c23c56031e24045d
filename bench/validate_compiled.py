"""`reconciler validate` with the committed compiled validators (config/compiled/k_*.py, A) against
the same tree without them (B: jsonschema alone), interleaved: each pair runs A and B back to back
(the order alternating from pair to pair) under the same load, and what is reported per case is
the median of the per-pair ratios B/A with their spread, wall and CPU (user + sys of the child).

    python -m bench.validate_compiled --pairs 9 --json bench/results/validate-compiled.json

Cases: the shipped `specs/` and `examples/supervised`, and 2,001 documents (1 File, 1,000 jobs,
1,000 permission sets), each cold (RECONCILER_CACHE_DIR=off: every run parses and validates) and
warm (the spec cache filled by two unmeasured runs, as a second run on a laptop).
Both trees are copies of this checkout's reconciler/ run with PYTHONPATH pointing at them, so only
the compiled modules differ; their .pyc files are written by one unmeasured run first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.run import write_specs

ROOT = Path(__file__).resolve().parent.parent
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RECONCILER_", "PYTHON"))},
       "NO_COLOR": "1"}


def tree(scratch: Path, name: str, compiled: bool) -> Path:
    root = scratch / name
    shutil.copytree(ROOT / "reconciler", root / "reconciler",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if not compiled:
        for path in (root / "reconciler" / "config" / "compiled").glob("k_*.py"):
            path.unlink()
    return root


def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    fd, out = tempfile.mkstemp(prefix="m-", suffix=".json", dir=cwd)
    os.close(fd)
    subprocess.run([sys.executable, str(ROOT / "bench" / "_measure.py"), out, "--", *cmd], cwd=cwd, env=env,
                   check=True)
    data = json.loads(Path(out).read_text())
    if data["rc"] != 0:
        raise SystemExit(f"{cmd} exited {data['rc']}: {Path(out + '.stderr').read_text()[-800:]}")
    return {"wall": data["wall"], "cpu": data["user"] + data["sys"], "load": os.getloadavg()[0]}


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.validate_compiled")
    parser.add_argument("--pairs", type=int, default=9)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="validate-compiled-"))
    try:
        trees = {"A": tree(scratch, "a", True), "B": tree(scratch, "b", False)}
        big = scratch / "big"
        documents = write_specs(big, 1000)
        folders = {"specs": ROOT / "specs", "examples/supervised": ROOT / "examples" / "supervised", "2001": big}
        results: dict[str, Any] = {"documents_2001": documents, "python": sys.version.split()[0],
                                   "cpus": os.cpu_count(), "pairs": args.pairs}
        for label, folder in folders.items():
            for mode in ("cold", "warm"):
                runs: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
                envs = {}
                for side, root in trees.items():
                    cache = scratch / f"cache-{side}-{label.replace('/', '_')}"
                    envs[side] = {**ENV, "PYTHONPATH": str(root),
                                  "RECONCILER_CACHE_DIR": "off" if mode == "cold" else str(cache)}
                    cmd = [sys.executable, "-m", "reconciler", "validate", "-C", str(folder)]
                    measure(cmd, scratch, envs[side])  # .pyc written; warm: the folder noted
                    measure(cmd, scratch, envs[side])  # warm: the spec set stored
                cmd = [sys.executable, "-m", "reconciler", "validate", "-C", str(folder)]
                for i in range(args.pairs):
                    order = ("A", "B") if i % 2 == 0 else ("B", "A")
                    for side in order:
                        runs[side].append(measure(cmd, scratch, envs[side]))
                case: dict[str, Any] = {}
                for metric in ("wall", "cpu"):
                    case[f"A_{metric}"] = spread([r[metric] for r in runs["A"]])
                    case[f"B_{metric}"] = spread([r[metric] for r in runs["B"]])
                    case[f"ratio_{metric}"] = spread([b[metric] / a[metric] for a, b in zip(runs["A"], runs["B"])])
                case["load"] = spread([r["load"] for r in runs["A"] + runs["B"]])
                results[f"{label} {mode}"] = case
                print(f"{label:>20} {mode}: A {case['A_wall']['median']:.3f} s, B {case['B_wall']['median']:.3f} s, "
                      f"B/A wall {case['ratio_wall']['median']:.3f} ({case['ratio_wall']['min']:.3f}-"
                      f"{case['ratio_wall']['max']:.3f}), cpu {case['ratio_cpu']['median']:.3f}, "
                      f"load {case['load']['median']:.1f}", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
