"""Speed, round two: interleaved comparisons, each pair run back to back under the same load.

    python -m bench.interleaved                       # everything below (about 10-20 minutes)
    python -m bench.interleaved --only validate,history,ratelimit,sandbox
    python -m bench.interleaved --pairs 7 --json out.json

A ratio only holds when both sides run under the same load: each measurement here is a pair
(A then B, A then B, ...) and what is reported is the median of the per-pair ratios and their
spread (min-max), wall and CPU (user + sys of the child), with the load average at each pair.

    terraform    no-op plan of N jobs + N permission sets (sandbox in its own process) against
                 Terraform's no-op plan of 2N terraform_data (built in: no provider download)
    validate     `reconciler validate` of 2N+1 documents and of the shipped specs/ (medians)
    history      a no-op plan of 100 managed jobs in an organisation with 50,000 unrelated jobs
                 against the same plan in one without them (job-list calls counted by the sandbox)
    ratelimit    a no-op plan of N permission sets with the sandbox at 600 requests/minute and
                 150 ms latency, against what the limit allows: (requests - 600) / 10 per second
    sandbox      the sandbox's own requests/s (permission lists and job gets from 16 threads)
    big          10,000 jobs + permission sets: peak RSS and no-op plan time / the 1,000 one
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
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.run import SandboxProcess, log, reconciler_cmd, write_specs, write_terraform

ROOT = Path(__file__).resolve().parent.parent
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RECONCILER_"))},
       "OPENAI_API_KEY": "sk-bench", "OPENAI_ADMIN_KEY": "sk-admin-bench", "NO_COLOR": "1"}
TF_ENV = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
TF_FLAGS = ["-input=false", "-no-color", "-lock=false"]


def load() -> float:
    return os.getloadavg()[0]


def run(cmd: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """Wall, CPU (user + sys) and peak RSS of one child process, with the load average before it."""
    fd, out = tempfile.mkstemp(prefix="m-", suffix=".json", dir=cwd)
    os.close(fd)
    before = load()
    subprocess.run([sys.executable, str(ROOT / "bench" / "_measure.py"), out, "--", *cmd], cwd=cwd, env=env,
                   check=True)
    data = json.loads(Path(out).read_text())
    if data["rc"] not in ok:
        tail = Path(out + ".stderr").read_text(errors="replace")[-1500:]
        raise RuntimeError(f"{' '.join(cmd[:3])} exited {data['rc']}:\n{tail}")
    return {"wall": data["wall"], "cpu": data["user"] + data["sys"], "rss_mib": data["rss_kib"] / 1024,
            "load": before}


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def pairs(a: Any, b: Any, n: int) -> dict[str, Any]:
    """A B A B ...: the per-pair ratios A/B (wall and CPU), their median and spread."""
    rows = []
    for i in range(n):
        x, y = a(), b()
        rows.append({"a": x, "b": y, "wall_ratio": x["wall"] / y["wall"], "cpu_ratio": x["cpu"] / y["cpu"]})
        log(f"pair {i + 1}/{n}: {x['wall']:.2f}s / {y['wall']:.2f}s = {rows[-1]['wall_ratio']:.2f} "
            f"(cpu {rows[-1]['cpu_ratio']:.2f}, load {x['load']:.1f}/{y['load']:.1f})")
    return {"pairs": rows, "wall_ratio": spread([r["wall_ratio"] for r in rows]),
            "cpu_ratio": spread([r["cpu_ratio"] for r in rows]),
            "a_wall": spread([r["a"]["wall"] for r in rows]), "b_wall": spread([r["b"]["wall"] for r in rows]),
            "a_cpu": spread([r["a"]["cpu"] for r in rows]), "b_cpu": spread([r["b"]["cpu"] for r in rows]),
            "load": spread([r["a"]["load"] for r in rows] + [r["b"]["load"] for r in rows])}


class World:
    """Specs, a state and a sandbox process with N jobs applied and N grants made."""

    def __init__(self, base: Path, n: int, *, permissions: bool = True) -> None:
        self.base = base
        shutil.rmtree(base, ignore_errors=True)
        self.specs = base / "specs"
        self.docs = write_specs(self.specs, n, permissions=permissions)
        self.state = base / "state" / "bench.json"
        self.sandbox = SandboxProcess(base)
        self.n = n

    def env(self) -> dict[str, str]:
        # the spec cache as a user has it: filled by the applies that built the world
        return {**ENV, "OPENAI_BASE_URL": self.sandbox.base_url, "RECONCILER_CACHE_DIR": str(self.base / "cache")}

    def cli(self, *args: str, ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
        return run([*reconciler_cmd(), *args, "-C", str(self.specs), "--state", str(self.state)], self.base,
                   self.env(), ok)

    def build(self, history: int = 0) -> World:
        self.sandbox.start()
        if history:
            self.sandbox.control("POST", "/_sandbox/history", {"jobs": history})
        log(f"{self.base.name}: apply {self.n} jobs")
        self.cli("apply", "--auto-approve")
        self.sandbox.control("POST", "/_sandbox/advance", {"seconds": 100000})
        log(f"{self.base.name}: apply the grants")
        self.cli("apply", "--auto-approve")
        return self

    def noop(self) -> dict[str, Any]:
        self.sandbox.reset_stats()
        sample = self.cli("plan", "--detailed-exitcode")
        sample["requests"] = self.sandbox.stats()
        return sample


def bench_terraform(scratch: Path, n: int, count: int, ours: World) -> dict[str, Any]:
    tf = shutil.which("terraform") or "/usr/local/bin/terraform"
    folder = scratch / f"tf{n}"
    shutil.rmtree(folder, ignore_errors=True)
    write_terraform(folder, n, permissions=True)
    subprocess.run([tf, "init", "-input=false", "-no-color"], cwd=folder, env=TF_ENV, check=True,
                   stdout=subprocess.DEVNULL)
    log(f"terraform: apply {2 * n} terraform_data (setup, not measured)")
    subprocess.run([tf, "apply", "-auto-approve", "-parallelism=32", *TF_FLAGS], cwd=folder, env=TF_ENV,
                   check=True, stdout=subprocess.DEVNULL)
    result = pairs(ours.noop, lambda: run([tf, "plan", "-detailed-exitcode", *TF_FLAGS], folder, TF_ENV), count)
    result["what"] = f"no-op plan: {n} jobs + {n} permission sets / terraform plan of {2 * n} terraform_data"
    return result


def bench_validate(scratch: Path, n: int, count: int) -> dict[str, Any]:
    """validate of N jobs + N permission sets and of the shipped specs: cold (the spec cache off:
    every run parses and validates) and warm (the spec cache filled by two unmeasured runs)."""
    base = scratch / "validate"
    shutil.rmtree(base, ignore_errors=True)
    docs = write_specs(base / "specs", n)
    cold = {**ENV, "RECONCILER_CACHE_DIR": "off"}
    warm = {**ENV, "RECONCILER_CACHE_DIR": str(base / "cache")}
    out: dict[str, Any] = {"documents": docs}
    samples = []
    for label, folder in (("big", base / "specs"), ("shipped", ROOT / "specs")):
        command = [*reconciler_cmd(), "validate", "-C", str(folder)]
        run(command, base, warm)  # the first load of a folder notes it,
        run(command, base, warm)  # the second stores it
        for mode, env in (("cold", cold), ("warm", warm)):
            taken = [run(command, base, env) for _ in range(count)]
            samples += taken
            out[f"{label}_{mode}_wall"] = spread([s["wall"] for s in taken])
            out[f"{label}_{mode}_cpu"] = spread([s["cpu"] for s in taken])
    out["load"] = spread([s["load"] for s in samples])
    return out


def bench_history(scratch: Path, count: int, managed: int = 100, history: int = 50_000) -> dict[str, Any]:
    crowded = World(scratch / "history-crowded", managed).build(history)
    alone = World(scratch / "history-alone", managed).build()
    try:
        result = pairs(crowded.noop, alone.noop, count)
    finally:
        crowded.sandbox.stop()
        alone.sandbox.stop()
    result["job_list_calls"] = [r["a"]["requests"].get("GET /v1/fine_tuning/jobs", 0) for r in result["pairs"]]
    result["what"] = f"no-op plan of {managed} jobs + {managed} grants among {history} unrelated jobs / alone"
    return result


def bench_ratelimit(scratch: Path, n: int) -> dict[str, Any]:
    world = World(scratch / "ratelimit", n).build()
    try:
        local = world.cli("plan", "--no-refresh", "--detailed-exitcode")
        world.sandbox.control("POST", "/_sandbox/faults", {"latency_ms": 150, "rpm": 600})
        sample = world.noop()
    finally:
        world.sandbox.stop()
    requests = sum(v for k, v in sample["requests"].items() if k.startswith("GET "))
    floor = max(0, requests - 600) / 10 + 0.15
    refresh = sample["wall"] - local["wall"]
    return {"requests": sample["requests"], "wall": sample["wall"], "local": local["wall"], "refresh": refresh,
            "floor": floor, "ratio": refresh / floor, "load": sample["load"]}


def bench_sandbox(scratch: Path, total: int = 4000, threads: int = 16) -> dict[str, Any]:
    world = World(scratch / "sandbox-rps", 100).build()
    try:
        listing = urllib.request.Request(f"{world.sandbox.base_url}/fine_tuning/jobs?limit=100",
                                         headers={"Authorization": "Bearer sk-bench"})
        with urllib.request.urlopen(listing, timeout=60) as resp:
            checkpoints = [j["fine_tuned_model"] for j in json.loads(resp.read())["data"] if j["fine_tuned_model"]]
        urls = [f"{world.sandbox.base_url}/fine_tuning/checkpoints/{c}/permissions" for c in checkpoints]
        left = iter(range(total))
        lock = threading.Lock()

        def worker() -> None:
            while True:
                with lock:
                    i = next(left, None)
                if i is None:
                    return
                req = urllib.request.Request(urls[i % len(urls)], headers={"Authorization": "Bearer sk-admin-bench"})
                with urllib.request.urlopen(req, timeout=60) as resp:
                    resp.read()

        before = load()
        start = time.perf_counter()
        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        wall = time.perf_counter() - start
    finally:
        world.sandbox.stop()
    return {"requests": total, "threads": threads, "wall": wall, "rps": total / wall, "load": before,
            "note": "client (urllib, no keep-alive) and sandbox share the machine"}


def bench_big(scratch: Path, small: World | None, n: int = 10_000) -> dict[str, Any]:
    world = World(scratch / f"big{n}", n).build()
    try:
        big = world.noop()
        base = small.noop() if small is not None else None
    finally:
        world.sandbox.stop()
    out: dict[str, Any] = {"n": n, "wall": big["wall"], "cpu": big["cpu"], "rss_mib": big["rss_mib"],
                           "load": big["load"], "requests": big["requests"]}
    if base is not None:
        out.update({"base_wall": base["wall"], "base_cpu": base["cpu"], "ratio": big["wall"] / base["wall"],
                    "cpu_ratio": big["cpu"] / base["cpu"]})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.interleaved")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--only", default="validate,terraform,history,ratelimit,sandbox,big")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "interleaved.json")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    scratch = args.workdir or Path(tempfile.mkdtemp(prefix="bench19-"))
    scratch.mkdir(parents=True, exist_ok=True)
    # a user's install has compiled bytecode; a checkout under PYTHONDONTWRITEBYTECODE may not
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "reconciler")], check=False)
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "load_at_start": os.getloadavg(),
                               "nproc": os.cpu_count()}
    small: World | None = None
    try:
        if "validate" in only:
            results["validate"] = bench_validate(scratch, args.n, args.pairs)
            log(f"validate: {results['validate']}")
        if only & {"terraform", "big"}:
            small = World(scratch / f"n{args.n}", args.n).build()
        if "terraform" in only and small is not None:
            results["terraform"] = bench_terraform(scratch, args.n, args.pairs, small)
        if "big" in only:
            results["big"] = bench_big(scratch, small)
            log(f"big: {results['big']}")
        if small is not None:
            small.sandbox.stop()
        if "history" in only:
            results["history"] = bench_history(scratch, args.pairs)
        if "ratelimit" in only:
            results["ratelimit"] = bench_ratelimit(scratch, args.n)
            log(f"ratelimit: {results['ratelimit']}")
        if "sandbox" in only:
            results["sandbox"] = bench_sandbox(scratch)
            log(f"sandbox: {results['sandbox']}")
    finally:
        if small is not None:
            small.sandbox.stop()
        results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
        results["load_at_end"] = os.getloadavg()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=str))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
