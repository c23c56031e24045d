"""A hostile API, over real sockets: the real CLI (`reconciler plan/apply` as a subprocess) talks to
a small threading http.server on 127.0.0.1 that stands in front of the in-process sandbox. It
forwards what a test does not intercept (with `Idempotency-Key` stripped: a server that does not
honour it), and misbehaves on what it does: it drops the answer to a create it made, answers 500
after creating, pages forever, repeats a cursor, trickles a byte at a time, sends an endless body,
lists malformed items.

Every failure must be bounded and clear (exit 1, one error line, no traceback), and no address may
ever own two jobs. Figures: `RELIABILITY hostile_api_<case>: {...}` (run with -s)."""

from __future__ import annotations

import collections
import contextlib
import http.server
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from .helpers import PEAK_WRAPPER, Cli, chat_jsonl, files, jobs_by_address, report

ADDRESSES = [f"FineTuningJob.bot{i}" for i in range(5)]
SPEC = "kind: File\nname: train\nspec: {path: data/train.jsonl}\n" + "".join(
    f"---\nkind: FineTuningJob\nname: bot{i}\n"
    f"spec: {{model: gpt-4o-mini, training_file: \"${{File.train.id}}\", suffix: bot-{i}}}\n" for i in range(5))

JOBS = "/v1/fine_tuning/jobs"
Intercept = Callable[["Handler"], bool]


class Handler(http.server.BaseHTTPRequestHandler):
    """One request: the test's `intercept` may answer it (returns True); else it is forwarded."""

    server: HostileServer
    protocol_version = "HTTP/1.0"  # one request per connection: a dropped answer drops only it

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    def body(self) -> bytes:
        if not hasattr(self, "_body"):
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                parts = []
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                self._body = b"".join(parts)
            else:
                self._body = self.rfile.read(int(self.headers.get("content-length") or 0))
        return self._body

    def forward(self) -> httpx.Response:
        """The sandbox's answer, for a request sent without its Idempotency-Key."""
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "idempotency-key", "content-length", "transfer-encoding",
                                        "connection")}
        return self.server.upstream.request(self.command, self.path, headers=headers, content=self.body())

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        headers = dict(headers or {})
        # one Date: the sandbox's when forwarding its answer (its clock may start at another day)
        date = next((headers.pop(k) for k in list(headers) if k.lower() == "date"), None)
        self.send_response_only(status)
        self.send_header("Date", date or self.date_time_string())
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def answer_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.answer(status, json.dumps(obj).encode(), headers)

    def drop(self) -> None:
        """Close without a byte of answer."""
        self.close_connection = True

    def handle_any(self) -> None:
        self.server.count(self.command, self.route)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if self.server.intercept(self):
                return
            response = self.forward()
            extra = {k: v for k, v in response.headers.items() if k.lower() in ("x-request-id", "date")}
            self.answer(response.status_code, response.content, extra)

    do_GET = do_POST = do_DELETE = handle_any


class HostileServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, intercept: Intercept):
        super().__init__(("127.0.0.1", 0), Handler)
        self.upstream = httpx.Client(base_url=upstream, timeout=60)
        self.intercept = intercept
        self.requests: collections.Counter[str] = collections.Counter()
        self.stopped = threading.Event()
        self._lock = threading.Lock()

    def count(self, method: str, route: str) -> None:
        with self._lock:
            self.requests[f"{method} {route}"] += 1

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@contextlib.contextmanager
def hostile(sandbox: Any, intercept: Intercept) -> Iterator[HostileServer]:
    server = HostileServer(sandbox.url, intercept)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopped.set()
        server.shutdown()
        server.server_close()
        server.upstream.close()


def workspace(tmp_path: Path, base_url: str, spec: str = SPEC, **env: str) -> Cli:
    cli = Cli(tmp_path, base_url, extra_env=dict(env))
    cli.write("main.yaml", spec)
    data = cli.specs / "data" / "train.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text(chat_jsonl())
    return cli


def error_lines(proc: Any) -> list[str]:
    """The error lines: an apply's failed changes (`✗ ADDRESS: why`), else every stderr line."""
    lines = [line.strip() for line in proc.stderr.splitlines() if line.strip() and not line.lstrip().startswith("…")]
    failed = [line for line in lines if line.startswith("✗")]
    return failed or lines


def assert_one_clear_line(proc: Any, *needles: str) -> str:
    """exit 1, no traceback, exactly one error line on stderr, containing every needle."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, f"exit {proc.returncode}\n{out}"
    assert "Traceback" not in out and "crash" not in out.lower(), out
    lines = error_lines(proc)
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def jobs_per_address(sandbox: Any) -> dict[str | None, int]:
    return {address: len(found) for address, found in jobs_by_address(sandbox).items()}


# -- creates whose answer is lost, with the Idempotency-Key ignored -------------------------------

def _create_then(misbehave: Callable[[Handler, httpx.Response], None],
                 when: Callable[[int], bool] = lambda n: True) -> tuple[Intercept, collections.Counter[str]]:
    posts: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def intercept(h: Handler) -> bool:
        if h.command != "POST" or h.route != JOBS:
            return False
        address = json.loads(h.body())["metadata"]["reconciler_address"]
        with lock:
            posts[address] += 1
            n = posts[address]
        if not when(n):
            return False
        misbehave(h, h.forward())  # the job IS created, the key ignored
        return True

    return intercept, posts


def _check_no_duplicates(sandbox: Any, cli: Cli, name: str, posts: collections.Counter[str],
                         proc: Any, **figures: Any) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Traceback" not in out, out
    per_address = jobs_per_address(sandbox)
    assert {a: per_address.get(a, 0) for a in ADDRESSES} == dict.fromkeys(ADDRESSES, 1), per_address
    state = json.loads(cli.state_file.read_text())["resources"]
    assert all(state[a]["id"] == jobs_by_address(sandbox)[a][0]["id"] for a in ADDRESSES)
    again = cli.run("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    report(f"hostile_api_{name}", {"addresses": len(ADDRESSES), "create_posts": sum(posts.values()),
                                   "jobs": sum(per_address.get(a, 0) for a in ADDRESSES),
                                   "duplicates": sum(per_address.get(a, 0) - 1 for a in ADDRESSES), **figures})


def test_dropped_answers_to_creates_with_the_key_ignored_make_no_duplicate(sandbox: Any, tmp_path: Path) -> None:
    intercept, posts = _create_then(lambda h, upstream: h.drop())
    with hostile(sandbox, intercept) as server:
        cli = workspace(tmp_path, server.base_url)
        proc = cli.run("apply", "--auto-approve", "--parallelism", "3")
        _check_no_duplicates(sandbox, cli, "dropped_create_answers", posts, proc,
                             lookups=server.requests[f"GET {JOBS}"])
    assert posts == dict.fromkeys(ADDRESSES, 1)  # one POST per address: found by metadata, never re-sent


@pytest.mark.parametrize("headers", [{}, {"retry-after": "1", "x-should-retry": "true"}], ids=["plain", "retry-after"])
def test_500_after_creating_makes_no_duplicate(sandbox: Any, tmp_path: Path, headers: dict[str, str]) -> None:
    def misbehave(h: Handler, upstream: httpx.Response) -> None:
        h.answer_json(500, {"error": {"message": "The server had an error", "type": "server_error",
                                      "param": None, "code": None}}, headers)

    intercept, posts = _create_then(misbehave)
    with hostile(sandbox, intercept) as server:
        cli = workspace(tmp_path, server.base_url)
        proc = cli.run("apply", "--auto-approve")
        _check_no_duplicates(sandbox, cli, "500_after_create_" + ("retry_after" if headers else "plain"), posts,
                             proc, lookups=server.requests[f"GET {JOBS}"])
    assert posts == dict.fromkeys(ADDRESSES, 1)


def test_500_before_creating_is_sent_again_only_after_the_lookup_found_nothing(sandbox: Any, tmp_path: Path) -> None:
    posts: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def intercept(h: Handler) -> bool:
        if h.command != "POST" or h.route != JOBS:
            return False
        address = json.loads(h.body())["metadata"]["reconciler_address"]
        with lock:
            posts[address] += 1
            first = posts[address] == 1
        if first:  # refused before doing anything: no job
            h.answer_json(500, {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}})
            return True
        return False

    with hostile(sandbox, intercept) as server:
        cli = workspace(tmp_path, server.base_url)
        proc = cli.run("apply", "--auto-approve")
        _check_no_duplicates(sandbox, cli, "500_before_create", posts, proc)
    assert posts == dict.fromkeys(ADDRESSES, 2)


def test_a_failed_lookup_after_an_ambiguous_create_stops_and_the_next_run_adopts(sandbox: Any,
                                                                                  tmp_path: Path) -> None:
    broken = threading.Event()
    broken.set()
    create, posts = _create_then(lambda h, upstream: h.drop())

    def intercept(h: Handler) -> bool:
        # only the lookup after the dropped create fails: the plan's own lookups by address tag
        # (one per job to create) come before any POST and must answer
        if (broken.is_set() and posts and h.command == "GET" and h.route == JOBS
                and "metadata[reconciler_address]" in h.query):
            h.answer_json(503, {"error": {"message": "unavailable", "type": "server_error", "param": None,
                                          "code": None}}, {"x-should-retry": "false"})
            return True
        return create(h) if broken.is_set() else False

    spec = SPEC.split("---\n")[0] + "---\n" + SPEC.split("---\n")[1]  # the file and one job
    with hostile(sandbox, intercept) as server:
        cli = workspace(tmp_path, server.base_url, spec)
        proc = cli.run("apply", "--auto-approve")
        line = assert_one_clear_line(proc, ADDRESSES[0], "looking for the job by its metadata failed",
                                     "not creating it again")
        assert posts == {ADDRESSES[0]: 1} and jobs_per_address(sandbox) == {ADDRESSES[0]: 1}
        broken.clear()
        adopted = cli.run("apply", "--auto-approve")
        assert adopted.returncode == 0, adopted.stdout + adopted.stderr
        assert posts == {ADDRESSES[0]: 1} and jobs_per_address(sandbox) == {ADDRESSES[0]: 1}
    report("hostile_api_failed_lookup", {"create_posts": sum(posts.values()), "jobs": 1, "line": line})


def test_a_dropped_upload_answer_is_found_by_name_size_and_content(sandbox: Any, tmp_path: Path) -> None:
    uploads = 0

    def intercept(h: Handler) -> bool:
        nonlocal uploads
        if h.command == "POST" and h.route == "/v1/files":
            uploads += 1
            h.forward()
            h.drop()
            return True
        return False

    with hostile(sandbox, intercept) as server:
        cli = workspace(tmp_path, server.base_url)
        proc = cli.run("apply", "--auto-approve")
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
        listed = files(sandbox)
        assert uploads == 1 and len(listed) == 1
        assert json.loads(cli.state_file.read_text())["resources"]["File.train"]["id"] == listed[0]["id"]
        assert set(jobs_per_address(sandbox).values()) == {1}
        downloads = server.requests[f"GET /v1/files/{listed[0]['id']}/content"]
    report("hostile_api_dropped_upload", {"upload_posts": uploads, "files": len(listed), "downloads": downloads})


# -- unbounded reads --------------------------------------------------------------------------

def _listing(h: Handler) -> bool:
    """The plan's listing of jobs (this workspace's: filtered on the lineage mark; not the lookup
    of one create by its address tag)."""
    return h.command == "GET" and h.route == JOBS and "metadata[reconciler_address]" not in h.query


def test_endless_pagination_stops_at_the_page_bound(sandbox: Any, tmp_path: Path) -> None:
    pages = 0

    def intercept(h: Handler) -> bool:
        nonlocal pages
        if not _listing(h):
            return False
        pages += 1
        h.answer_json(200, {"object": "list", "data": [{"id": f"ftjob-endless-{pages}", "object": "fine_tuning.job"}],
                            "has_more": True})
        return True

    with hostile(sandbox, intercept) as server:
        cli = workspace(tmp_path, server.base_url, RECONCILER_API_MAX_PAGES="40")
        proc = cli.run("plan")
        line = assert_one_clear_line(proc, "GET /fine_tuning/jobs", "did not end after 40 pages")
    assert pages == 40
    report("hostile_api_endless_pages", {"pages_served": pages, "line": line})


def test_a_repeated_cursor_is_detected(sandbox: Any, tmp_path: Path) -> None:
    pages = 0

    def intercept(h: Handler) -> bool:  # a, b, a, b, ...: a cycle, each page a "new" cursor to a naive loop
        nonlocal pages
        if not _listing(h):
            return False
        pages += 1
        h.answer_json(200, {"object": "list", "data": [{"id": "ftjob-a" if pages % 2 else "ftjob-b"}],
                            "has_more": True})
        return True

    with hostile(sandbox, intercept) as server:
        cli = workspace(tmp_path, server.base_url)
        proc = cli.run("plan")
        line = assert_one_clear_line(proc, "GET /fine_tuning/jobs", "cursor 'ftjob-a' was already used")
    assert pages == 3
    report("hostile_api_repeated_cursor", {"pages_served": pages, "line": line})


@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_trickling_answer_hits_the_request_deadline(sandbox: Any, tmp_path: Path, where: str) -> None:
    sent = 0

    def intercept(h: Handler) -> bool:
        nonlocal sent
        if not _listing(h):
            return False
        head = b"HTTP/1.0 200 OK\r\n"
        if where == "body":
            head += b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        h.wfile.write(head)
        h.wfile.flush()
        while not h.server.stopped.is_set() and sent < 600:  # one byte a second: no read ever times out
            h.wfile.write(b" " if where == "body" else b"x")
            h.wfile.flush()
            sent += 1
            time.sleep(1.0)
        return True

    with hostile(sandbox, intercept) as server:
        cli = workspace(tmp_path, server.base_url, RECONCILER_API_TIMEOUT="5", RECONCILER_API_DEADLINE="4")
        proc = cli.run("plan", timeout=300)
        line = assert_one_clear_line(proc, "GET /fine_tuning/jobs", "no complete answer within 4s")
        assert server.requests[f"GET {JOBS}"] == 1  # not retried
    report(f"hostile_api_trickle_{where}", {"bytes_trickled_before_the_cut": sent, "line": line})


def test_an_endless_body_is_cut_at_the_size_cap(sandbox: Any, tmp_path: Path) -> None:
    sent = 0
    chunk = b" " * (1024 * 1024)

    def intercept(h: Handler) -> bool:
        nonlocal sent
        if not _listing(h):
            return False
        h.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"object\": \"list\", \"data\": [\"")
        while not h.server.stopped.is_set() and sent < 1536:  # up to 1.5 GiB, no length declared
            h.wfile.write(chunk)
            sent += 1
        return True

    with hostile(sandbox, intercept) as server:
        cli = workspace(tmp_path, server.base_url)
        cli.command = (sys.executable, "-c", PEAK_WRAPPER)   # the CLI, reporting its own peak
        peak_file = tmp_path / "peak-kib"
        proc = cli.run("plan", PEAK_FILE=str(peak_file))
        peak_kib = int(peak_file.read_text())
        line = assert_one_clear_line(proc, "GET /fine_tuning/jobs", "larger than the 64 MiB accepted")
    # the CLI's own high-water mark: bounded by the cap, far from the body
    assert peak_kib < 400 * 1024, peak_kib
    assert sent < 1536
    report("hostile_api_endless_body", {"mib_sent_before_the_cut": sent, "cli_peak_rss_mib": peak_kib // 1024,
                                        "line": line})


@pytest.mark.parametrize("bad, problem", [({"object": "fine_tuning.job", "status": "running"}, "no 'id'"),
                                          ({"id": "ftjob-meta", "object": "fine_tuning.job", "metadata": "x"},
                                           "'metadata' of 'ftjob-meta' is not an object or null"),
                                          ({"id": 42}, "'id' is not a non-empty string")],
                         ids=["no-id", "metadata-string", "id-number"])
def test_a_malformed_listed_item_is_one_line_naming_endpoint_and_index(sandbox: Any, tmp_path: Path,
                                                                     bad: dict[str, Any], problem: str) -> None:
    on = threading.Event()

    def intercept(h: Handler) -> bool:
        if not on.is_set() or not _listing(h):
            return False
        page = h.forward().json()
        page["data"][1:1] = [bad]
        h.answer_json(200, page)
        return True

    with hostile(sandbox, intercept) as server:
        cli = workspace(tmp_path, server.base_url)
        assert cli.run("apply", "--auto-approve").returncode == 0
        on.set()
        proc = cli.run("plan")
        line = assert_one_clear_line(proc, "GET /fine_tuning/jobs", "malformed item 1 (page 1, position 1)",
                                     problem)
        assert cli.run("apply", "--auto-approve").returncode == 1  # nothing applied: no plan can be made
        assert jobs_per_address(sandbox) == dict.fromkeys(ADDRESSES, 1)
    report("hostile_api_malformed_item", {"case": problem, "line": line})
