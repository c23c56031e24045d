"""A job listing that omits managed jobs must not buy them again.

Behind a proxy over real sockets that returns only the first job of every job listing, apply used
to plan "job … no longer exists" for every other managed job and create duplicates, although
`GET /fine_tuning/jobs/{id}` still answered for each. Now a managed job missing from a listing is
read by id (bounded, parallel) and only a 404 means it is gone."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from tests.reliability.helpers import Cli, chat_jsonl, jobs_by_address, report

JOBS = 6


class _Proxy(BaseHTTPRequestHandler):
    upstream = ""
    gone: ClassVar[set[str]] = set()  # job ids the proxy answers 404 for (as if deleted)
    partial = True                  # job listings show only their first item
    fail_by_id = False              # GETs of one job answer 500
    gets_by_id = 0

    def log_message(self, *args: object) -> None:
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        path = self.path.split("?", 1)[0]
        job_get = path.startswith("/v1/fine_tuning/jobs/") and path.count("/") == 4 and self.command == "GET"
        if job_get:
            type(self).gets_by_id += 1
            if self.fail_by_id:
                self._answer(500, {"error": {"message": "upstream failure", "type": "server_error",
                                             "param": None, "code": None}})
                return
            if path.rsplit("/", 1)[1] in self.gone:
                self._answer(404, {"error": {"message": "No such job", "type": "invalid_request_error",
                                             "param": None, "code": None}})
                return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = httpx.request(self.command, self.upstream + self.path, content=body, headers=headers, timeout=30)
        data = answer.content
        if self.partial and self.command == "GET" and path == "/v1/fine_tuning/jobs" and answer.status_code == 200:
            page = answer.json()
            # a gone job is gone from listings too: otherwise the job the proxy keeps (the first, and
            # jobs created in one second list in any order) could be the gone one, listed as alive
            page["data"] = [job for job in page["data"] if job.get("id") not in self.gone][:1]
            page["has_more"] = False
            data = json.dumps(page).encode()
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, status: int, payload: dict[str, object]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _forward


@pytest.fixture
def proxy(sandbox) -> Iterator[type[_Proxy]]:
    handler = type("Proxy", (_Proxy,), {"upstream": sandbox.url.rstrip("/"), "gone": set(), "gets_by_id": 0,
                                        "fail_by_id": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/v1"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def _specs(cli: Cli) -> None:
    (cli.specs / "data").mkdir(parents=True, exist_ok=True)
    (cli.specs / "data" / "train.jsonl").write_text(chat_jsonl())
    docs = ["kind: File\nname: train\nspec: {path: data/train.jsonl}\n"]
    docs += [f"kind: FineTuningJob\nname: bot{i}\nspec:\n  model: gpt-4o-mini\n"
             f"  training_file: ${{File.train.id}}\n  suffix: bot{i}\n" for i in range(JOBS)]
    cli.write("main.yaml", "---\n".join(docs))


def _managed_jobs(sandbox) -> int:
    return sum(len(jobs) for address, jobs in jobs_by_address(sandbox).items() if address)


def test_a_partial_job_listing_buys_nothing_again(sandbox, proxy, tmp_path: Path) -> None:
    direct = Cli(tmp_path, sandbox.base_url)
    _specs(direct)
    direct.ok("apply", "--auto-approve")
    assert _managed_jobs(sandbox) == JOBS

    behind = Cli(tmp_path, proxy.url)  # type: ignore[attr-defined]
    plan = behind.ok("plan", "--json")
    data = json.loads(plan.stdout)
    actions = {c["address"]: c["action"] for c in data["resource_changes"]}
    assert all(a == "no-op" for a in actions.values()), actions
    assert any(f"omitted {JOBS - 1} managed jobs that still exist" in w for w in data["warnings"]), data["warnings"]
    assert proxy.gets_by_id == JOBS - 1  # one GET per job the listing left out, no more
    proxy.gets_by_id = 0

    text = behind.ok("plan", "--no-color").stdout
    assert f"Warning: the jobs listing omitted {JOBS - 1} managed jobs that still exist" in text, text
    assert "No changes." in text
    behind.ok("apply", "--auto-approve")
    assert _managed_jobs(sandbox) == JOBS  # 0 duplicates
    report("partial_listing", {"managed_jobs": JOBS, "listed": 1, "confirmed_by_id": JOBS - 1,
                               "jobs_after_apply": _managed_jobs(sandbox), "duplicates": 0})


def test_only_a_404_by_id_means_a_job_is_gone(sandbox, proxy, tmp_path: Path) -> None:
    direct = Cli(tmp_path, sandbox.base_url)
    _specs(direct)
    direct.ok("apply", "--auto-approve")
    state = json.loads(direct.state_file.read_text())
    gone = state["resources"]["FineTuningJob.bot3"]["id"]
    proxy.gone.add(gone)

    behind = Cli(tmp_path, proxy.url)  # type: ignore[attr-defined]
    data = json.loads(behind.ok("plan", "--json").stdout)
    changed = {c["address"]: c["action"] for c in data["resource_changes"] if c["action"] != "no-op"}
    assert changed == {"FineTuningJob.bot3": "create"}, changed
    [bot3] = [c for c in data["resource_changes"] if c["address"] == "FineTuningJob.bot3"]
    assert bot3["reasons"] == [f"job {gone} no longer exists"]


def test_a_failing_read_by_id_refuses_instead_of_guessing(sandbox, proxy, tmp_path: Path) -> None:
    direct = Cli(tmp_path, sandbox.base_url)
    _specs(direct)
    direct.ok("apply", "--auto-approve")
    behind = Cli(tmp_path, proxy.url)  # type: ignore[attr-defined]
    proxy.fail_by_id = True
    proc = behind.run("apply", "--auto-approve", timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "500" in proc.stderr or "server" in proc.stderr.lower(), proc.stderr
    assert _managed_jobs(sandbox) == JOBS  # nothing created on a guess
