"""No-op plan on the pg state backend against the local one, interleaved.

    python -m bench.pg_backend                  # N = 1,000 jobs + 1,000 permission sets, 6 pairs
    python -m bench.pg_backend --n 100 --pairs 3

Builds one world (the sandbox in its own process, N jobs created, every job succeeded, N permission
sets granted) with the local backend, copies the state into a throw-away PostgreSQL cluster with
`reconciler state migrate --to pg` (a second spec folder whose Settings select pg), then runs
`plan --detailed-exitcode` (must exit 0: nothing to do) alternately on the local copy and the pg
copy, A B A B ..., and reports the median of the per-pair ratios pg / local (target <= 1.15).
Figures go to stdout and bench/results/pg_backend.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench.run import ADVANCE_SECONDS, SandboxProcess, measure, reconciler_cmd, write_specs

RESULTS = Path(__file__).with_name("results") / "pg_backend.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=6)
    args = parser.parse_args(argv)

    from tests.pgcluster import start_cluster

    scratch = Path(tempfile.mkdtemp(prefix="reconciler-bench-pg-"))
    cluster = start_cluster()
    sandbox = SandboxProcess(scratch)
    try:
        local_specs, pg_specs = scratch / "specs", scratch / "specs_pg"
        write_specs(local_specs, args.n)
        shutil.copytree(local_specs, pg_specs)
        (pg_specs / "settings.yaml").write_text(
            "kind: Settings\nname: default\nspec:\n  backend: {type: pg, schema: bench}\n")
        state = scratch / "state" / "bench.json"
        rc = reconciler_cmd()
        env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_ADMIN_KEY": "sk-admin-bench", "NO_COLOR": "1",
               "RECONCILER_PG_CONN_STR": cluster.conninfo}
        for key in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "RECONCILER_STATE", "RECONCILER_WORKSPACE"):
            env.pop(key, None)
        sandbox.start()
        env["OPENAI_BASE_URL"] = sandbox.base_url

        def local(*cmd: str, ok: tuple[int, ...] = (0,)) -> float:
            return measure([*rc, *cmd, "-C", str(local_specs), "--state", str(state)], cwd=scratch, env=env,
                           scratch=scratch, ok=ok, label=" ".join(cmd)).wall

        def pg(*cmd: str, ok: tuple[int, ...] = (0,)) -> float:
            return measure([*rc, *cmd, "-C", str(pg_specs), "-w", "bench"], cwd=pg_cwd, env=env,
                           scratch=scratch, ok=ok, label="pg " + " ".join(cmd)).wall

        print(f"N={args.n}: building the world (apply, advance, apply grants)", file=sys.stderr)
        local("apply", "--auto-approve", "--no-color")
        sandbox.control("POST", "/_sandbox/advance", {"seconds": ADVANCE_SECONDS})
        local("apply", "--auto-approve", "--no-color")
        # the pg copy works in a folder of its own: its state/ remembers the migration
        pg_cwd = scratch / "pg"
        (pg_cwd / "state").mkdir(parents=True)
        shutil.copy2(state, pg_cwd / "state" / "bench.json")
        measure([*rc, "state", "migrate", "--to", "pg", "-C", str(pg_specs)], cwd=pg_cwd,
                env=env, scratch=scratch, label="state migrate")
        local("plan", "--detailed-exitcode", "--no-color")  # warm-up (page cache, sandbox)
        pg("plan", "--detailed-exitcode", "--no-color")
        pairs = []
        for i in range(args.pairs):
            if i % 2 == 0:
                a = local("plan", "--detailed-exitcode", "--no-color")
                b = pg("plan", "--detailed-exitcode", "--no-color")
            else:
                b = pg("plan", "--detailed-exitcode", "--no-color")
                a = local("plan", "--detailed-exitcode", "--no-color")
            pairs.append((a, b))
            print(f"  pair {i + 1}: local {a:.2f}s  pg {b:.2f}s  ratio {b / a:.3f}", file=sys.stderr)
        ratios = [b / a for a, b in pairs]
        result = {
            "n": args.n, "pairs": [{"local": round(a, 3), "pg": round(b, 3)} for a, b in pairs],
            "median_ratio": round(statistics.median(ratios), 3), "min_ratio": round(min(ratios), 3),
            "max_ratio": round(max(ratios), 3), "local_median_s": round(statistics.median(a for a, _ in pairs), 3),
            "pg_median_s": round(statistics.median(b for _, b in pairs), 3), "load": os.getloadavg()[0],
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result))
        return 0
    finally:
        sandbox.stop()
        cluster.stop("immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
