"""A tiny fake OpenAI API that serves recorded real answers (fixtures/answers.json) over a real
socket: every endpoint reconciler reads, and the writes recorded under `writes` (any other write
answers 405)."""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ANSWERS = Path(__file__).resolve().parent / "fixtures" / "answers.json"


def load_answers() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ANSWERS.read_text(encoding="utf-8"))
    return data


def result_bytes(entry: dict[str, Any]) -> bytes:
    """A result file's content as the real API serves it: base64 of the CSV."""
    return base64.b64encode(entry["csv"].encode())


@dataclass
class Replay:
    answers: dict[str, Any]
    requests: list[str] = field(default_factory=list)
    base_url: str = ""

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        return {entry["object"]["id"]: entry["object"] for entry in self.answers["jobs"].values()}

    def job(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = copy.deepcopy(self.answers["jobs"][name]["object"])
        return obj

    def answer(self, method: str, path: str) -> tuple[int, bytes, str]:
        """(status, body, content type) for one request."""
        a = self.answers
        error = a["errors"].get(f"{method} {path}")
        if error is not None:
            return error["status"], json.dumps(error["body"]).encode(), "application/json"
        written = a.get("writes", {}).get(f"{method} {path}")
        if written is not None:
            return written["status"], json.dumps(written["body"]).encode(), "application/json"
        if method != "GET":
            return 405, _error("This replay answers reads only."), "application/json"
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:3] == ["v1", "fine_tuning", "jobs"]:
            jobs = sorted(self.jobs.values(), key=lambda j: -int(j["created_at"]))
            if len(parts) == 3:
                return _json({"object": "list", "data": jobs, "has_more": False})
            job_id = parts[3]
            if job_id not in self.jobs:
                return 404, _error(f"Could not find fine-tune: {job_id}", "fine_tune_id"), "application/json"
            if len(parts) == 4:
                return _json(self.jobs[job_id])
            if len(parts) == 5 and parts[4] in ("events", "checkpoints"):
                data = a[parts[4]].get(job_id, {}).get("data", [])
                page: dict[str, Any] = {"object": "list", "data": data, "has_more": False}
                if parts[4] == "checkpoints":
                    page.update(first_id=data[0]["id"] if data else None, last_id=data[-1]["id"] if data else None)
                return _json(page)
        if parts[:2] == ["v1", "files"]:
            files = a["files"]["data"]
            results = a["results"]
            if len(parts) == 2:
                return _json({"object": "list", "data": files, "first_id": files[0]["id"],
                              "last_id": files[-1]["id"], "has_more": False})
            file_id = parts[2]
            meta = next((f for f in files if f["id"] == file_id), None)
            if meta is None and file_id in results:
                meta = {**results[file_id]["meta"], "bytes": len(result_bytes(results[file_id]))}
            if meta is None:
                return 404, _error(f"No such File object: {file_id}", "id"), "application/json"
            if len(parts) == 3:
                return _json(meta)
            if len(parts) == 4 and parts[3] == "content":
                if file_id in results:
                    return 200, result_bytes(results[file_id]), "application/octet-stream"
                return 200, b'{"messages": []}\n', "application/octet-stream"
        if parts[:3] == ["v1", "fine_tuning", "checkpoints"] and len(parts) == 5 and parts[4] == "permissions":
            data = a["permissions"].get(parts[3], {}).get("data", [])
            return _json({"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                          "last_id": data[-1]["id"] if data else None, "has_more": False})
        return 404, _error(f"Invalid URL ({method} {path})"), "application/json"


def _json(obj: Any) -> tuple[int, bytes, str]:
    return 200, json.dumps(obj).encode(), "application/json"


def _error(message: str, param: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                 "code": None}}).encode()


@contextmanager
def serve(answers: dict[str, Any] | None = None) -> Iterator[Replay]:
    replay = Replay(answers if answers is not None else load_answers())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            path = urlsplit(self.path).path
            replay.requests.append(f"{self.command} {path}")
            status, body, ctype = replay.answer(self.command, path)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-request-id", f"req_replay{len(replay.requests)}")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    replay.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield replay
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)
