"""A/B of two source trees at a real API's latency: refresh, plan and apply against the sandbox with
a fixed delay on every request. Written to decide whether the client's own HTTP transport earned
its keep over httpx's (docs/adr/0906-httpx-transport.md):

    git archive OLD | tar -x -C /tmp/ab-old; git archive NEW | tar -x -C /tmp/ab-new
    python -m bench.transport_ab --old /tmp/ab-old --new /tmp/ab-new --n 1000 --latency-ms 150 --pairs 6

One world built with the old tree, at no latency: N jobs + N permission sets applied to a sandbox in
its own process, every job succeeded. Then the sandbox adds `--latency-ms` to every request and,
per pair, in alternating order (A B, B A, ...), wall and CPU (user + sys) of each CLI run:
    refresh   `plan --refresh-only --detailed-exitcode` (every job and permission list read)
    plan      `plan --detailed-exitcode` (refresh + the plan of N + N unchanged objects)
    apply     `apply --auto-approve` of `--changes` permission sets that gained (odd pairs: lost) a
              project: the same number of grants or revokes each run, refresh included
Reported: per step, both sides' medians and the median of the per-pair ratios new/old with their
spread. Both trees run with this interpreter's packages, the tree first on PYTHONPATH.
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
import time
from pathlib import Path

from bench.deepdiff_compare import spread
from bench.run import ADVANCE_SECONDS, SandboxProcess, reconciler_cmd, write_specs

EXTRA = "proj_bench_extra"


def _toggle(specs: Path, changes: int, add: bool) -> None:
    """The first `changes` permission sets gain (or lose) one project."""
    text = (specs / "bench.yaml").read_text()
    for i in range(changes):
        plain = f"  project_ids: [proj_bench_a{i}, proj_bench_b{i}, proj_bench_c{i}]\n"
        extra = f"  project_ids: [proj_bench_a{i}, proj_bench_b{i}, proj_bench_c{i}, {EXTRA}]\n"
        text = text.replace(plain, extra) if add else text.replace(extra, plain)
    (specs / "bench.yaml").write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.transport_ab", description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", type=Path, required=True, help="baseline source tree (holds reconciler/)")
    ap.add_argument("--new", type=Path, required=True, help="changed source tree")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--latency-ms", type=float, default=150.0)
    ap.add_argument("--changes", type=int, default=50, help="permission sets changed by each apply")
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the CLI at this niceness (negative, as root: ahead of other work on a shared "
                         "machine, as on a user's own)")
    args = ap.parse_args(argv)
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    for tree in trees.values():
        if not (tree / "reconciler" / "__init__.py").exists():
            ap.error(f"{tree} holds no reconciler/ package")
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs", flush=True)
    base = Path(tempfile.mkdtemp(prefix="transport-ab-"))
    specs, state = base / "specs", base / "state" / "bench.json"
    write_specs(specs, args.n)
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_ADMIN_KEY": "sk-admin-bench", "NO_COLOR": "1"}
    for name in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_BASE_URL"):
        env.pop(name, None)
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(trees["old"])  # the sandbox runs the old tree
    sandbox = SandboxProcess(base)
    try:
        sandbox.start()
        tenv = {label: {**env, "PYTHONPATH": str(tree), "OPENAI_BASE_URL": sandbox.base_url}
                for label, tree in trees.items()}

        nice = ["nice", "-n", str(args.nice)] if args.nice else []

        def run(label: str, cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
            """(wall, CPU) seconds of one CLI run; CPU is the child's user + sys."""
            fd, out = tempfile.mkstemp(prefix="m-", suffix=".json", dir=base)
            os.close(fd)
            subprocess.run([sys.executable, str(Path(__file__).with_name("_measure.py")), out, "--",
                            *nice, *reconciler_cmd(), *cmd, "-C", str(specs), "--state", str(state)],
                           cwd=base, env=tenv[label], check=True)
            data = json.loads(Path(out).read_text())
            if data["rc"] not in ok:
                raise RuntimeError(f"{label}: {' '.join(cmd)} exited {data['rc']}: "
                                   + Path(out + ".stderr").read_text(errors="replace")[-2000:])
            return data["wall"], data["user"] + data["sys"]

        t0 = time.monotonic()
        run("old", ["apply", "--auto-approve", "--no-color"])
        sandbox.control("POST", "/_sandbox/advance", {"seconds": ADVANCE_SECONDS})
        run("old", ["apply", "--auto-approve", "--no-color"])
        print(f"world: {args.n} jobs + {args.n} permission sets applied in {time.monotonic() - t0:.0f} s", flush=True)
        sandbox.control("POST", "/_sandbox/faults", {"latency_ms": args.latency_ms})
        steps = {
            "refresh": (["plan", "--refresh-only", "--detailed-exitcode", "--no-color"], (0,)),
            "plan": (["plan", "--detailed-exitcode", "--no-color"], (0,)),
            "apply": (["apply", "--auto-approve", "--max-deletes", "1000000", "--no-color"], (0,)),
        }
        for label in ("old", "new"):  # warm the page cache and the spec cache
            run(label, steps["plan"][0])
        walls: dict[str, dict[str, list[float]]] = {step: {"old": [], "new": []} for step in steps}
        cpus: dict[str, dict[str, list[float]]] = {step: {"old": [], "new": []} for step in steps}
        toggled = False
        for p in range(args.pairs):
            order = ("old", "new") if p % 2 == 0 else ("new", "old")
            for label in order:
                for step, (cmd, ok) in steps.items():
                    if step == "apply":
                        toggled = not toggled
                        _toggle(specs, args.changes, add=toggled)
                    wall, cpu = run(label, cmd, ok)
                    walls[step][label].append(wall)
                    cpus[step][label].append(cpu)
            print(f"pair {p + 1}: " + "; ".join(
                f"{step} old {w['old'][-1]:.2f} s new {w['new'][-1]:.2f} s" for step, w in walls.items())
                + f"; CPU refresh old {cpus['refresh']['old'][-1]:.2f} s new {cpus['refresh']['new'][-1]:.2f} s"
                + f"; load {os.getloadavg()[0]:.2f}", flush=True)
        result: dict[str, dict[str, float | str]] = {}
        for step, w in walls.items():
            c = cpus[step]
            ratios = [b / a for a, b in zip(w["old"], w["new"], strict=True)]
            cpu_ratios = [b / a for a, b in zip(c["old"], c["new"], strict=True)]
            result[step] = {"old_median_s": statistics.median(w["old"]), "new_median_s": statistics.median(w["new"]),
                            "ratio_median": statistics.median(ratios), "spread": spread(ratios),
                            "old_cpu_median_s": statistics.median(c["old"]),
                            "new_cpu_median_s": statistics.median(c["new"]),
                            "cpu_ratio_median": statistics.median(cpu_ratios), "cpu_spread": spread(cpu_ratios)}
            print(f"{step}: wall old median {statistics.median(w['old']):.2f} s, new median "
                  f"{statistics.median(w['new']):.2f} s; new/old per pair: {spread(ratios)}", flush=True)
            print(f"{step}: CPU old median {statistics.median(c['old']):.2f} s, new median "
                  f"{statistics.median(c['new']):.2f} s; new/old per pair: {spread(cpu_ratios)}", flush=True)
        print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.json:
            args.json.write_text(json.dumps({"n": args.n, "latency_ms": args.latency_ms, "changes": args.changes,
                                             "nice": args.nice, "load_after": os.getloadavg(),
                                             "pairs": args.pairs, "steps": result, "walls": walls, "cpus": cpus}, indent=1))
        return 0
    finally:
        sandbox.stop()
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
