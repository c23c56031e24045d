"""A/B of two source trees of reconciler: the job-input comparison alone, then the no-op plan.

Written to decide whether to replace the hand-written flatten-and-compare of `resources/job.changed_paths`
with DeepDiff; usable for any two trees that differ in the hot path of a no-op plan:

    git worktree add /tmp/old HEAD; git worktree add /tmp/new HEAD   # then edit /tmp/new
    python -m bench.deepdiff_compare micro --old /tmp/old --new /tmp/new [--rounds 7]
    python -m bench.deepdiff_compare plan  --old /tmp/old --new /tmp/new --n 1000 [--pairs 8]

Both trees run with this interpreter's packages, the tree first on PYTHONPATH (it shadows the
editable install). Sides are interleaved, A B A B ..., so that the load of a shared machine falls
on both alike; the figure to quote is the median of the per-pair ratios new/old, with its spread.

micro   Each round starts one process per tree that times `changed_paths(recorded, inputs)` on
        realistic job inputs (the bench's supervised job, a DPO job with float hyperparameters and
        wandb integrations, a reinforcement job with a nested multi-grader), equal and unequal
        (seed, a grader's nested field, an added metadata key, an alias against its snapshot,
        an UNKNOWN training file), and prints µs per call and the results; the results must be
        equal between the trees (checked), the timings are paired per round.
plan    One world built with the old tree: N jobs + N permission sets applied to a sandbox (run by
        the old tree, in its own process), every job succeeded. Then `plan --detailed-exitcode`
        (must exit 0) alternately with the old and the new tree, `--pairs` times, same specs, same
        state, same sandbox. Afterwards the specs are changed (every 10th job: seed, n_epochs, an
        added metadata key; every 7th: the model written as its alias) and `plan`, `plan --json`
        and `drift` must print the same bytes with both trees (old, new, old; the time of the
        report masked). Exit status 1 if any output differs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.run import ADVANCE_SECONDS, SandboxProcess, measure, reconciler_cmd, write_specs

# ---------------------------------------------------------------------------------------------------
# micro: runs inside a child whose PYTHONPATH starts with one tree

_CHILD = r'''
import json, sys, time
from reconciler.resources import job as J
from reconciler.values import UNKNOWN

def sft(i):
    return J.inputs_from_spec({"model": "gpt-4o-mini-2024-07-18", "training_file": "file-abc123",
        "suffix": f"bench-{i}", "seed": i, "metadata": {"team": "bench", "index": str(i)},
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}}})

def dpo(i):
    return J.inputs_from_spec({"model": "gpt-4.1-mini-2025-04-14", "training_file": "file-train",
        "validation_file": "file-valid", "suffix": f"pref-{i}", "seed": 42,
        "metadata": {"team": "prefs", "owner": "ml", "ticket": f"T-{i}"},
        "integrations": [{"type": "wandb", "wandb": {"project": "prefs", "tags": ["a", "b"]}}],
        "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1, "n_epochs": 2,
            "learning_rate_multiplier": 0.5, "batch_size": "auto"}}}})

def rft(i):
    grader = {"type": "multi", "calculate_output": "0.7 * a + 0.3 * b", "graders": {
        "a": {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
              "reference": "{{item.answer}}", "operation": "eq"},
        "b": {"type": "score_model", "name": "judge", "model": "o3-mini-2025-01-31", "range": [0, 1],
              "input": [{"role": "user", "content": "Grade {{sample.output_text}}"}],
              "sampling_params": {"temperature": 0.2, "seed": 7}}}}
    return J.inputs_from_spec({"model": "o4-mini-2025-04-16", "training_file": "file-rft",
        "suffix": f"rft-{i}", "seed": i, "metadata": {"team": "rft"},
        "method": {"type": "reinforcement", "reinforcement": {"grader": grader,
            "hyperparameters": {"n_epochs": 1, "reasoning_effort": "medium", "eval_interval": 5}}}})

def changed(inputs, edit):
    out = json.loads(json.dumps(inputs))
    edit(out)
    return out

def set_judge_temp(d):
    d["method"]["reinforcement"]["grader"]["graders"]["b"]["sampling_params"]["temperature"] = 0.3

cases = []
for name, make in (("sft", sft), ("dpo", dpo), ("rft", rft)):
    rec = make(7)
    cases.append((f"{name} equal", rec, make(7)))
    cases.append((f"{name} seed", rec, changed(rec, lambda d: d.__setitem__("seed", 8))))
    cases.append((f"{name} +metadata key", rec, changed(rec, lambda d: d["metadata"].__setitem__("new", "x"))))
    cases.append((f"{name} UNKNOWN file", rec, {**make(7), "training_file": UNKNOWN}))
alias = sft(7)
alias["model"] = "gpt-4o-mini"
cases.append(("sft alias vs snapshot", sft(7), alias))
cases.append(("rft grader field", rft(7), changed(rft(7), set_judge_temp)))
cases.append(("dpo beta", dpo(7), changed(dpo(7), lambda d: d["method"]["dpo"]["hyperparameters"].__setitem__("beta", 0.2))))
cases.append(("sft method replaced", sft(7), {**sft(7), "method": {"type": "dpo"}}))
cases.append(("sft vs empty", {}, sft(7)))

loops = int(sys.argv[1])
out = {}
for name, before, after in cases:
    result = J.changed_paths(before, after)
    for _ in range(max(1, loops // 10)):  # warm
        J.changed_paths(before, after)
    t0 = time.perf_counter()
    for _ in range(loops):
        J.changed_paths(before, after)
    us = (time.perf_counter() - t0) / loops * 1e6
    out[name] = {"us": us, "result": repr(result)}
print(json.dumps({"file": J.__file__, "cases": out}))
'''


def _tree_env(tree: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("PYTHONHASHSEED", None)
    return env


def _child(tree: Path, loops: int) -> dict[str, Any]:
    res = subprocess.run([sys.executable, "-c", _CHILD, str(loops)], env=_tree_env(tree), cwd=tempfile.gettempdir(),
                         capture_output=True, text=True, check=True)
    data = json.loads(res.stdout)
    if not data["file"].startswith(str(tree)):
        raise SystemExit(f"{tree}: imported {data['file']} instead (is PYTHONPATH shadowed?)")
    return dict(data["cases"])


def spread(ratios: list[float]) -> str:
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    return (f"median {statistics.median(ratios):.3f}, min {min(ratios):.3f}, max {max(ratios):.3f}, "
            f"IQR {q[0]:.3f}-{q[2]:.3f} ({len(ratios)} pairs)")


def cmd_micro(old: Path, new: Path, rounds: int, loops: int) -> int:
    per: dict[str, list[tuple[float, float]]] = {}
    for r in range(rounds):
        order = [(old, "old"), (new, "new")] if r % 2 == 0 else [(new, "new"), (old, "old")]
        got = {label: _child(tree, loops) for tree, label in order}
        for name, o in got["old"].items():
            n = got["new"][name]
            if o["result"] != n["result"]:
                print(f"DIFFERENT RESULT for {name!r}:\n  old {o['result']}\n  new {n['result']}")
                return 1
            per.setdefault(name, []).append((o["us"], n["us"]))
    print(f"changed_paths, µs per call (median of {rounds} interleaved rounds × {loops} calls); results equal")
    print(f"{'case':28} {'old µs':>9} {'new µs':>9} {'new/old':>8}   per-round ratios")
    for name, pairs in per.items():
        o = statistics.median(p[0] for p in pairs)
        n = statistics.median(p[1] for p in pairs)
        ratios = [b / a for a, b in pairs]
        print(f"{name:28} {o:9.1f} {n:9.1f} {statistics.median(ratios):8.1f}   "
              f"{min(ratios):.1f}-{max(ratios):.1f}")
    return 0


# ---------------------------------------------------------------------------------------------------
# plan: the whole no-op plan, interleaved


def _modify_specs(specs: Path, n: int) -> None:
    text = (specs / "bench.yaml").read_text()
    docs = text.split("---\n")
    for k, doc in enumerate(docs):
        if not doc.startswith("kind: FineTuningJob\n"):
            continue
        i = int(doc.split("name: job", 1)[1].split("\n", 1)[0])
        if i % 10 == 0:
            doc = doc.replace(f"  seed: {i}\n", f"  seed: {i + 1}\n").replace("n_epochs: 3", "n_epochs: 4")
            doc = doc.replace("    team: bench\n", "    team: bench\n    extra: added\n")
        if i % 7 == 0:
            doc = doc.replace("model: gpt-4o-mini-2024-07-18", "model: gpt-4o-mini")
        docs[k] = doc
    (specs / "bench.yaml").write_text("---\n".join(docs))


def _stable(out: bytes) -> bytes:
    """The output without the time it was made (`created_at` of plan JSON, the drift report's
    header), which differs between any two runs."""
    if out.startswith(b"{"):
        doc = json.loads(out)
        doc.pop("created_at", None)
        return json.dumps(doc).encode()
    return re.sub(rb"^drift report \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"drift report <time>", out, flags=re.M)


def cmd_plan(old: Path, new: Path, n: int, pairs: int, workdir: Path | None) -> int:
    scratch = workdir or Path(tempfile.mkdtemp(prefix="dd-compare-"))
    scratch.mkdir(parents=True, exist_ok=True)
    base = scratch / f"n{n}"
    shutil.rmtree(base, ignore_errors=True)
    specs, state = base / "specs", base / "state" / "bench.json"
    write_specs(specs, n)
    rc = reconciler_cmd()
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "OPENAI_ADMIN_KEY": "sk-admin-bench", "NO_COLOR": "1"}
    env.pop("OPENAI_ORG_ID", None)
    env.pop("OPENAI_PROJECT_ID", None)
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(old)  # the sandbox runs the old tree
    sandbox = SandboxProcess(base)
    try:
        sandbox.start()
        tenv = {label: {**env, "PYTHONPATH": str(tree), "OPENAI_BASE_URL": sandbox.base_url}
                for label, tree in (("old", old), ("new", new))}

        def run(label: str, args: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, bytes]:
            known = set(base.glob("m-*.json"))
            s = measure([*rc, *args, "-C", str(specs), "--state", str(state)], cwd=base, env=tenv[label],
                        scratch=base, ok=ok, label=f"{label}: {' '.join(args)}")
            (made,) = set(base.glob("m-*.json")) - known
            return s.wall, Path(f"{made}.stdout").read_bytes()

        t0 = time.monotonic()
        run("old", ["apply", "--auto-approve", "--no-color"])
        sandbox.control("POST", "/_sandbox/advance", {"seconds": ADVANCE_SECONDS})
        run("old", ["apply", "--auto-approve", "--no-color"])
        print(f"world: {n} jobs + {n} permission sets applied in {time.monotonic() - t0:.0f} s", flush=True)
        noop = ["plan", "--detailed-exitcode", "--no-color"]
        for _ in range(2):  # warm the page cache, and the spec cache (a folder's second load stores it)
            run("old", noop)
            run("new", noop)
        walls: dict[str, list[float]] = {"old": [], "new": []}
        outputs: dict[str, set[bytes]] = {"old": set(), "new": set()}
        for p in range(pairs):
            order = ("old", "new") if p % 2 == 0 else ("new", "old")
            for label in order:
                wall, out = run(label, noop)
                walls[label].append(wall)
                outputs[label].add(out)
            ratio = walls["new"][-1] / walls["old"][-1]
            print(f"pair {p + 1}: old {walls['old'][-1]:.2f} s, new {walls['new'][-1]:.2f} s, new/old {ratio:.3f}, "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
        ratios = [b / a for a, b in zip(walls["old"], walls["new"])]
        print(f"no-op plan N={n}: old median {statistics.median(walls['old']):.2f} s, new median "
              f"{statistics.median(walls['new']):.2f} s; new/old per pair: {spread(ratios)}")
        print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        same = outputs["old"] == outputs["new"]
        print(f"no-op plan output identical: {same}")

        _modify_specs(specs, n)
        for args, ok in ((["plan", "--no-color"], (0, 2)), (["plan", "--json"], (0, 2)), (["drift", "--no-color"], (0, 2))):
            # old, new, old: a difference between the two old runs is the command's own (a clock, say)
            a, b, c = (_stable(run(label, args, ok)[1]) for label in ("old", "new", "old"))
            name = "-".join(a.lstrip("-") for a in args)
            for label, out in (("old1", a), ("new", b), ("old2", c)):
                (base / f"out-{name}-{label}.txt").write_bytes(out)
            verdict = ("identical" if a == b == c else "DIFFERENT" if a == c else
                       "identical to one old run" if b in (a, c) else
                       "old runs differ from each other too: compare by hand")
            if a != c and b not in (a, c):
                same = False
            print(f"changed specs, `{' '.join(args)}`: {len(a)} bytes, new vs old: {verdict} "
                  f"(outputs in {base}/out-{name}-*.txt)")
            same = same and (a == b or b == c)
        return 0 if same else 1
    finally:
        sandbox.stop()
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
        if workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.deepdiff_compare", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("micro", help="changed_paths alone, old vs new tree")
    p = sub.add_parser("plan", help="no-op plan, old vs new tree, interleaved")
    for s in (m, p):
        s.add_argument("--old", type=Path, required=True, help="baseline source tree (holds reconciler/)")
        s.add_argument("--new", type=Path, required=True, help="changed source tree")
    m.add_argument("--rounds", type=int, default=7)
    m.add_argument("--loops", type=int, default=2000)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--pairs", type=int, default=8)
    p.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir, removed)")
    args = ap.parse_args(argv)
    old, new = args.old.resolve(), args.new.resolve()
    for tree in (old, new):
        if not (tree / "reconciler" / "__init__.py").exists():
            ap.error(f"{tree} holds no reconciler/ package")
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    if args.cmd == "micro":
        return cmd_micro(old, new, args.rounds, args.loops)
    return cmd_plan(old, new, args.n, args.pairs, args.workdir)


if __name__ == "__main__":
    sys.exit(main())
