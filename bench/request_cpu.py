"""CPU per API request: httpx's plain transport against the client's own (httpx's, over a network
backend that bounds each socket operation by the attempt's deadline: reconciler/api/transport.py),
interleaved, against a sandbox in its own process: what the deadline costs per request.

    python -m bench.request_cpu                 # 1,000 checkpoints, 5 rounds, 1 and 2 threads
    python -m bench.request_cpu --n 500 --rounds 7 --json out.json

Each round lists the grants of every checkpoint once with each transport (A then B, the order
swapped every round) through the same `ApiClient`, in this process; what is reported per thread
count is CPU milliseconds per request (user + sys of this process, `time.process_time`), the
median of the per-round ratios client/httpx and their spread. The sandbox's CPU is not counted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.run import SandboxProcess, log


def _world(sandbox: SandboxProcess, n: int) -> list[str]:
    """n succeeded jobs: their fine-tuned models are the checkpoints listed."""
    from reconciler.api.client import ApiClient

    client = ApiClient(sandbox.base_url, "sk-bench", "sk-admin-bench")
    upload = Path(tempfile.mkdtemp(prefix="reqcpu-")) / "train.jsonl"
    upload.write_text('{"messages": [{"role": "user", "content": "hi"}, '
                      '{"role": "assistant", "content": "hello"}]}\n' * 10)
    file_id = client.upload_file(upload)["id"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: client.create_job({"model": "gpt-4o-mini-2024-07-18", "training_file": file_id,
                                                   "suffix": f"cpu-{i}"}, idempotency_key=f"reqcpu-{i}"),
                      range(n)))
    sandbox.control("POST", "/_sandbox/advance", {"seconds": 100000})
    models = [job["fine_tuned_model"] for job in client.list_jobs() if job.get("fine_tuned_model")]
    client.close()
    return models


def _client(base_url: str, which: str) -> Any:
    from reconciler.api.client import ApiClient

    transport = httpx.HTTPTransport() if which == "httpx" else None  # None: the client's own
    return ApiClient(base_url, "sk-bench", "sk-admin-bench", transport=transport)


def _run(base_url: str, which: str, checkpoints: list[str], threads: int) -> float:
    client = _client(base_url, which)
    list(client.list_permissions(checkpoints[0]))  # connect outside the measurement
    started = time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda checkpoint: list(client.list_permissions(checkpoint)), checkpoints))
    used = time.process_time() - started
    client.close()
    return used / len(checkpoints) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.request_cpu")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="reqcpu-"))
    sandbox = SandboxProcess(scratch)
    sandbox.start()
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        checkpoints = _world(sandbox, args.n)
        log(f"{len(checkpoints)} checkpoints")
        for threads in (1, 2):
            rows = []
            for i in range(args.rounds):
                order = ("httpx", "client") if i % 2 == 0 else ("client", "httpx")
                row = {which: _run(sandbox.base_url, which, checkpoints, threads) for which in order}
                rows.append(row)
                log(f"threads {threads} round {i + 1}: httpx {row['httpx']:.3f} ms, client {row['client']:.3f} ms "
                    f"CPU per request = {row['client'] / row['httpx']:.2f}")
            ratios = [r["client"] / r["httpx"] for r in rows]
            results[f"threads_{threads}"] = {
                "rounds": rows, "ratio_median": statistics.median(ratios), "ratio_min": min(ratios),
                "ratio_max": max(ratios), "httpx_ms": statistics.median(r["httpx"] for r in rows),
                "client_ms": statistics.median(r["client"] for r in rows)}
            log(f"threads {threads}: client/httpx CPU per request {statistics.median(ratios):.2f} "
                f"({min(ratios):.2f}-{max(ratios):.2f})")
    finally:
        sandbox.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
