"""Peak RSS of `reconciler sandbox serve` (in-memory world) while N clients upload M MB each at
once, streamed from the client side (one 1 MiB piece sent again and again). Any source tree:

    python bench/sandbox_upload_rss.py [--tree DIR] [--uploads 8] [--mb 450]

Prints one JSON line: the server's RSS before, its peak (VmHWM), its threads after, the statuses.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BOUNDARY = "bench-boundary"
MiB = 1 << 20
PIECE = memoryview((b'{"messages": [{"role": "user", "content": "' + b"x" * 100 + b'"}]}\n') * 9000)[:MiB]


def _status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "Threads"):
            out[key] = int(value.split()[0])
    return out


def _upload(host: str, port: int, size: int) -> Any:
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jsonl\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=900)
        conn.putrequest("POST", "/v1/files")
        conn.putheader("Authorization", "Bearer sk-bench")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        conn.send(head)
        sent = 0
        while sent < size:
            n = min(MiB, size - sent)
            conn.send(PIECE[:n])
            sent += n
        conn.send(tail)
        return conn.getresponse().status
    except OSError as exc:
        return type(exc).__name__


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--uploads", type=int, default=8)
    parser.add_argument("--mb", type=int, default=450)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="upload-rss-")
    env = {**os.environ, "PYTHONPATH": str(args.tree), "TMPDIR": scratch}
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=scratch)  # not this tree
    try:
        assert proc.stdout is not None
        m = re.search(r"http://([\d.]+):(\d+)", proc.stdout.readline())
        assert m
        before = _status(proc.pid)
        statuses: list[Any] = [None] * args.uploads
        size = args.mb * 1000 * 1000

        def run(i: int) -> None:
            statuses[i] = _upload(m.group(1), int(m.group(2)), size)

        started = time.monotonic()
        threads = [threading.Thread(target=run, args=(i,)) for i in range(args.uploads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = _status(proc.pid) if proc.poll() is None else {}
        print(json.dumps({"tree": str(args.tree), "uploads": args.uploads, "mb_each": args.mb,
                          "rss_before_mb": round(before["VmRSS"] / 1024),
                          "peak_rss_mb": round(after.get("VmHWM", 0) / 1024) or "server died",
                          "threads_after": after.get("Threads"), "statuses": statuses,
                          "seconds": round(time.monotonic() - started, 1)}))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        subprocess.run(["rm", "-rf", scratch], check=False)


if __name__ == "__main__":
    main()
