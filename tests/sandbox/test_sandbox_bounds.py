"""The sandbox is bounded: uploads stream to disk (RSS stays flat with 8 concurrent 450 MB
uploads), at most `max_uploads` stream at once (429 past it), at most `max_connections`
connections are served, each by a pooled thread (503 past it, at once, however slow the others).

Every wait here is for a condition the server signals (open connections, uploads in progress),
never for a length of time."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler_sandbox.testing import run_sandbox
from tests.reliability.helpers import report

from .conftest import PROJECT_KEY, chat_lines

ERROR_KEYS = {"message", "type", "param", "code"}
BOUNDARY = "bounds-test-boundary"
MiB = 1 << 20


def _head(filename: str = "big.jsonl") -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()


TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()
# One MiB of JSONL, sent again and again: what a client streams from disk, never held whole.
PIECE = memoryview((json.dumps({"messages": [{"role": "user", "content": "x" * 100}]}) + "\n").encode() * 9000)[:MiB]


def _start_upload(host: str, port: int, size: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection(host, port, timeout=600)
    conn.putrequest("POST", "/v1/files")
    conn.putheader("Authorization", f"Bearer {PROJECT_KEY}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    conn.putheader("Content-Length", str(len(_head()) + size + len(TAIL)))
    conn.endheaders()
    conn.send(_head())
    return conn


def _send(conn: http.client.HTTPConnection, size: int) -> None:
    sent = 0
    while sent < size:
        n = min(MiB, size - sent)
        conn.send(PIECE[:n])
        sent += n


def _finish(conn: http.client.HTTPConnection) -> tuple[int, dict]:
    conn.send(TAIL)
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    return resp.status, body


def _status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "Threads"):
            fields[key] = int(value.split()[0])
    return fields


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, int]]:
    """`reconciler sandbox serve --port 0` in its own process (its RSS is the server's alone)."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}   # the in-memory world spills large uploads here
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"http://([\d.]+):(\d+)", line)
        assert m, line + (proc.stderr.read() if proc.stderr else "")
        yield proc, m.group(1), int(m.group(2))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_eight_concurrent_450_mb_uploads_and_a_download_stay_under_a_stated_rss(served, tmp_path: Path) -> None:
    proc, host, port = served
    size, uploads, bound_mb = 450 * 1000 * 1000, 8, 100
    before = _status(proc.pid)
    conns = [_start_upload(host, port, size) for _ in range(uploads)]
    results: list[tuple[int, dict] | BaseException] = [RuntimeError("not run")] * uploads

    def push(i: int) -> None:
        try:
            _send(conns[i], size)
            results[i] = _finish(conns[i])
        except BaseException as exc:  # reported below
            results[i] = exc

    threads = [threading.Thread(target=push, args=(i,)) for i in range(uploads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = _status(proc.pid)
    for result in results:
        assert isinstance(result, tuple) and result[0] == 200, result
        assert result[1]["bytes"] == size and result[1]["status"] == "processed"
    spilled = sum(f.stat().st_size for f in tmp_path.glob("reconciler-sandbox-uploads-*/file-*"))
    assert spilled == uploads * size   # on disk, not in memory
    conn = http.client.HTTPConnection(host, port, timeout=600)
    conn.request("GET", f"/v1/files/{results[0][1]['id']}/content", headers={"Authorization": f"Bearer {PROJECT_KEY}"})
    resp = conn.getresponse()
    received = 0
    while piece := resp.read(MiB):
        received += len(piece)
    conn.close()
    assert resp.status == 200 and received == size   # a download streams too
    after = _status(proc.pid)
    peak_mb = after["VmHWM"] / 1024
    report("sandbox_uploads_rss", {"uploads": uploads, "bytes_each": size, "rss_before_mb": round(before["VmRSS"] / 1024),
                                   "peak_rss_mb": round(peak_mb), "threads_after": after["Threads"],
                                   "bound_mb": bound_mb})
    assert peak_mb < bound_mb, after


def _upload_request(http_client: httpx.Client) -> httpx.Response:
    return http_client.post("/v1/files", files={"file": ("t.jsonl", chat_lines())}, data={"purpose": "fine-tune"})


def test_uploads_past_the_cap_are_answered_429_and_the_slot_comes_back() -> None:
    with run_sandbox(max_uploads=2) as sb:
        host, port = sb.url.removeprefix("http://").split(":")
        slow = [_start_upload(host, int(port), 3 * MiB) for _ in range(2)]
        for conn in slow:
            _send(conn, MiB)   # part of the body: each holds an upload slot
        assert sb.sandbox.uploads.wait_for(lambda n: n == 2, timeout=60)
        with httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {PROJECT_KEY}"}, timeout=60) as client:
            refused = _upload_request(client)
            assert refused.status_code == 429, refused.text
            assert set(refused.json()["error"]) == ERROR_KEYS
            assert refused.json()["error"]["code"] == "rate_limit_exceeded"
            assert refused.headers["retry-after"] == "1"
            ids = []
            for conn in slow:
                _send(conn, 2 * MiB)
                status, body = _finish(conn)
                assert status == 200 and body["bytes"] == 3 * MiB, body
                ids.append(body["id"])
            # kept on disk (over 1 MiB) and sent back from there, a piece at a time
            assert client.get(f"/v1/files/{ids[0]}/content").content == bytes(PIECE) * 3
            assert sb.sandbox.uploads.wait_for(lambda n: n == 0, timeout=60)
            accepted = _upload_request(client)
            assert accepted.status_code == 200, accepted.text
            assert client.get(f"/v1/files/{accepted.json()['id']}/content").content == chat_lines()
        report("sandbox_upload_cap", {"max_uploads": 2, "refused_status": 429, "after_release": 200})


def _pool_threads(port: str) -> int:
    """This sandbox's connection threads (those of an earlier test's sandbox may still be ending)."""
    return sum(1 for t in threading.enumerate() if t.name.startswith(f"sandbox-conn-{port}-"))


def test_many_slow_connections_cost_a_bounded_pool_and_a_new_client_gets_503_at_once() -> None:
    cap, slow_clients = 32, 1100
    with run_sandbox(max_connections=cap) as sb:
        host, port = sb.url.removeprefix("http://").split(":")
        server = sb.sandbox.httpd
        sockets = []
        try:
            for _ in range(slow_clients):
                sock = socket.create_connection((host, int(port)), timeout=30)
                sock.sendall(b"GET /v1/files HTTP/1.1\r\nHost: sandbox\r\n")   # a request head never ended
                sockets.append(sock)
            assert server.wait_for(lambda open_, refused: open_ == cap and refused == slow_clients - cap, 120)
            threads = _pool_threads(port)
            assert threads <= cap, threads
            with httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {PROJECT_KEY}"},
                              timeout=30) as client:
                busy = client.get("/v1/files")
                assert busy.status_code == 503, busy.text
                assert set(busy.json()["error"]) == ERROR_KEYS and busy.json()["error"]["type"] == "server_error"
                assert busy.headers["retry-after"] == "1"
                # a refused slow client reads the same answer, not a reset
                head = sockets[-1].recv(65536)
                assert head.startswith(b"HTTP/1.1 503 "), head[:100]
                for sock in sockets:
                    sock.close()
                sockets.clear()
                assert server.wait_for(lambda open_, _refused: open_ == 0, 120)
                ok = client.get("/v1/files")
                assert ok.status_code == 200, ok.text
            assert _pool_threads(port) <= cap   # the same pooled threads served the new client
        finally:
            for sock in sockets:
                sock.close()
        report("sandbox_connection_cap", {"max_connections": cap, "slow_clients": slow_clients,
                                          "pool_threads": threads, "refused": server.refused,
                                          "new_client_while_full": 503})
