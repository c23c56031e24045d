"""From other processes: 200 concurrent list requests, and `reconciler sandbox serve` itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import PROJECT_KEY, chat_lines

CONCURRENT = r'''
import sys, threading, httpx
url, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
barrier = threading.Barrier(n)
results = [None] * n
def worker(i):
    try:
        with httpx.Client(timeout=30) as http:
            barrier.wait()
            r = http.get(url + "/v1/fine_tuning/jobs", params={"limit": 5},
                         headers={"Authorization": "Bearer " + key})
            results[i] = r.status_code if r.json()["object"] == "list" else "bad body"
    except Exception as exc:
        results[i] = repr(exc)
threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
bad = [r for r in results if r != 200]
print(len(results) - len(bad), "ok;", bad[:5])
sys.exit(1 if bad else 0)
'''


def test_200_concurrent_lists_from_another_process(sb):
    file_id = sb.world.upload_file(filename="t.jsonl", purpose="fine-tune", content=chat_lines())["id"]
    for _ in range(30):
        sb.world.create_job({"model": "gpt-4o-mini", "training_file": file_id}, project="proj_sandbox")
    sb.reset_stats()
    proc = subprocess.run([sys.executable, "-c", CONCURRENT, sb.url, PROJECT_KEY, "200"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("200 ok")
    assert sb.stats()["GET /v1/fine_tuning/jobs"] == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_serve_subprocess(tmp_path: Path):
    port = _free_port()
    data = tmp_path / "world.json"
    exe = Path(sys.executable).with_name("reconciler")
    proc = subprocess.Popen([str(exe), "sandbox", "serve", "--port", str(port), "--data", str(data),
                             "--speed", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line and f"OPENAI_BASE_URL=http://127.0.0.1:{port}/v1" in line
        with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                          headers={"Authorization": f"Bearer {PROJECT_KEY}"}) as http:
            upload = http.post("/v1/files", files={"file": ("t.jsonl", chat_lines())}, data={"purpose": "fine-tune"})
            assert upload.status_code == 200, upload.text
            job = http.post("/v1/fine_tuning/jobs", json={"model": "gpt-4o-mini",
                                                           "training_file": upload.json()["id"]})
            assert job.status_code == 200 and job.json()["model"] == "gpt-4o-mini-2024-07-18"
            assert http.post("/_sandbox/advance", json={"seconds": 1000}).status_code == 200
            assert http.get(f"/v1/fine_tuning/jobs/{job.json()['id']}").json()["status"] == "succeeded"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    saved = json.loads(data.read_text())
    assert list(saved["jobs"]["items"]) == [job.json()["id"]]


def test_cli_rejects_bad_fault_settings():
    exe = Path(sys.executable).with_name("reconciler")
    proc = subprocess.run([str(exe), "sandbox", "serve", "--port", "0", "--rate-429", "3"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "Error: rate_429 must be between 0 and 1" in proc.stderr, proc.stderr
