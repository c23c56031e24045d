"""Hostile text and damaged input, through the real CLI:

- an API answering errors with terminal escape sequences (OSC 8 link, title change, CSI clear
  screen, 8-bit CSI) and bidi controls: none reaches stdout/stderr, the error stays one line;
- the same characters in a job's error message shown in a plan, `state show` and `--json`;
- a spec file that is a symlink out of the spec folder: refused unread, its content never echoed;
- a state (or saved plan) holding 1e999 / NaN / Infinity: refused at load in one line naming the
  file, exit 1, the journal untouched;
- the sandbox answers 401 to a keyless chunked upload before reading any of its body;
- a journal write that fails mid-apply (a real EFBIG from RLIMIT_FSIZE): nothing new is started,
  every not-started change is reported skipped with the reason, exit 1; the next run converges
  with no duplicate job.
"""

from __future__ import annotations

import json
import resource
import signal
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from reconciler_sandbox.testing import run_sandbox

from .helpers import Cli, chat_jsonl, jobs_by_address, report

# What a hostile API could put in a message: a hyperlink, a title change, clear screen + home,
# a colour, an 8-bit CSI, a bell, a right-to-left override and an isolate, a line separator.
HOSTILE = ("bad \x1b]8;;https://evil.example/steal\x1b\\click here\x1b]8;;\x1b\\ "
           "\x1b]0;pwned-title\x07 \x1b[2J\x1b[H\x1b[31mRED\x1b[0m \x9b6n \u202eexe.txt\u202c "
           "\u2066iso\u2069 \u200f x\u2028y end")
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c", "\u2066", "\u2069", "\u200f", "\u2028")

SPEC_FILE_ONLY = """\
kind: File
name: train
spec: {path: data/train.jsonl}
"""

SPEC_JOBS = """\
kind: File
name: train
spec: {path: data/train.jsonl}
---
kind: FineTuningJob
name: bot
spec: {model: gpt-4o-mini, training_file: "${File.train.id}", suffix: bot}
"""


def _raw_in(text: str) -> list[str]:
    return [repr(c) for c in RAW if c in text]


class _HostileApi(BaseHTTPRequestHandler):
    """Answers every request with an OpenAI-style error whose message (and code) is hostile."""

    protocol_version = "HTTP/1.1"
    status: ClassVar[int] = 400
    requests: ClassVar[list[str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        _HostileApi.requests.append(f"{self.command} {self.path}")
        body = json.dumps({"error": {"message": HOSTILE, "type": "invalid_request_error",
                                     "code": "\x1b]0;code-title\x07", "param": None}}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hostile_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _HostileApi.requests.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _work(tmp_path, spec: str = SPEC_FILE_ONLY):
    (tmp_path / "specs" / "data").mkdir(parents=True)
    (tmp_path / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    (tmp_path / "specs" / "main.yaml").write_text(spec)


@pytest.mark.parametrize("status", [400, 401, 404])
def test_api_error_with_escape_sequences_never_reaches_the_terminal(tmp_path, hostile_api, status, monkeypatch):
    monkeypatch.setattr(_HostileApi, "status", status)
    _work(tmp_path)
    cli = Cli(tmp_path, hostile_api)
    runs = []
    for args, env in ((("plan",), {}), (("plan", "--debug"), {}), (("apply", "--auto-approve"), {}),
                      (("plan",), {"FORCE_COLOR": "1", "NO_COLOR": ""}), (("drift",), {}),
                      (("plan", "--json"), {})):
        env = dict(env)
        if env.get("NO_COLOR") == "":
            env.pop("NO_COLOR")
            proc = subprocess.run(cli.argv(*args), env={k: v for k, v in cli.env(**env).items() if k != "NO_COLOR"},
                                  capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
        else:
            proc = cli.run(*args, **env)
        out = proc.stdout + proc.stderr
        runs.append((args, proc.returncode))
        assert "Traceback" not in out, out
        assert proc.returncode == 1, (args, proc.returncode, out)
        assert not _raw_in(out), (args, _raw_in(out), out)
        if "--json" not in args and "--debug" not in args:
            errors = [line for line in proc.stderr.splitlines() if "Error" in line or "error" in line]
            assert errors, proc.stderr
            # the hostile message is there, shown escaped, on one line
            line = next(line for line in proc.stderr.splitlines() if "click here" in line)
            assert "\\u001b]0;pwned-title\\u0007" in line and "\\u202eexe.txt" in line, line
            assert "end" in line
    report("hostile_api_text", {"status": status, "runs": len(runs), "api_requests": len(_HostileApi.requests),
                                "raw_controls_printed": 0})


def test_job_error_message_with_escapes_in_plan_show_and_json(tmp_path):
    _work(tmp_path, SPEC_JOBS)
    with run_sandbox() as sb:
        cli = Cli(tmp_path, sb.base_url)
        cli.ok("apply", "--auto-approve")
        jobs = jobs_by_address(sb)
        job_id = jobs["FineTuningJob.bot"][0]["id"]
        with sb.world.lock:
            job = sb.world.jobs.items[job_id]
            job["error"] = {"code": "\x1b[2J", "param": None, "message": HOSTILE}
            job["suffix"] = "bot"
        sb.advance(7200)
        outputs = {}
        for args in (("plan",), ("plan", "--json"), ("apply", "--auto-approve"), ("state", "show", "FineTuningJob.bot"),
                     ("show",), ("show", "--json"), ("drift",), ("drift", "--format", "markdown")):
            proc = cli.run(*args)
            out = proc.stdout + proc.stderr
            assert "Traceback" not in out, out
            assert proc.returncode in (0, 1, 2), (args, proc.returncode, out)
            assert not _raw_in(out), (args, _raw_in(out))
            outputs[" ".join(args)] = out
        assert "job " + job_id + " failed: bad \\u001b]8;;" in outputs["plan"], outputs["plan"]
        json.loads(cli.run("plan", "--json").stdout)   # still valid JSON
        assert len(jobs_by_address(sb)["FineTuningJob.bot"]) == 1   # a failed job is never retried silently
    report("hostile_job_text", {"commands": len(outputs), "raw_controls_printed": 0, "jobs_for_bot": 1})


def test_spec_symlink_out_of_the_folder_is_refused_unread(tmp_path):
    secret = "LEAKCANARY-" + "f00dfeed" * 4
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "creds.yaml").write_text(f"aws_secret_access_key: {secret}\nnot: [valid spec\n")
    (outside / "good.yaml").write_text("kind: File\nname: other\nspec: {path: data/train.jsonl}\n")
    _work(tmp_path)
    (tmp_path / "specs" / "creds.yaml").symlink_to(outside / "creds.yaml")
    (tmp_path / "specs" / "zz.yaml").symlink_to(outside / "good.yaml")   # valid content: still refused
    (tmp_path / "specs" / "inside.yml").symlink_to(tmp_path / "specs" / "main.yaml")   # inside: fine (dup)
    cli = Cli(tmp_path, "http://127.0.0.1:9/v1")
    for args in (("validate",), ("validate", "--json"), ("plan",)):
        proc = cli.run(*args)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1, out
        assert "Traceback" not in out
        assert secret not in out and "aws_secret" not in out and "valid spec" not in out, out
        if args == ("validate",):
            lines = out.splitlines()
            refused = [line for line in lines if "outside the spec folder" in line]
            assert len(refused) == 2, out
            assert any("creds.yaml" in line and "not read" in line for line in refused), refused
            assert any("zz.yaml" in line for line in refused), refused
            # the in-folder alias is read (it duplicates main.yaml's File.train)
            assert any("inside.yml" in line and "File.train" in line for line in lines), out
    report("spec_symlink", {"links_out": 2, "refused": 2, "content_echoed": 0})


@pytest.mark.parametrize("value", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity"])
def test_state_with_a_non_finite_number_is_refused_in_one_line(tmp_path, value):
    _work(tmp_path, SPEC_JOBS)
    with run_sandbox() as sb:
        cli = Cli(tmp_path, sb.base_url)
        cli.ok("apply", "--auto-approve")
        text = cli.state_file.read_text()
        damaged = text.replace('"created_at":', f'"created_at":{value},"x_created_at":', 1)
        assert damaged != text
        cli.state_file.write_text(damaged)
        journal = list(cli.state_file.parent.glob("*journal*"))
        before = {p.name: p.stat().st_size for p in journal}
        exits = []
        for args in (("plan",), ("apply", "--auto-approve"), ("apply", "--auto-approve"), ("state", "list")):
            proc = cli.run(*args)
            exits.append(proc.returncode)
            assert proc.returncode == 1, (args, proc.returncode, proc.stdout, proc.stderr)
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1, proc.stderr
            assert str(cli.state_file) in lines[0] and value.lstrip("-") in lines[0], lines[0]
            assert "Traceback" not in proc.stdout + proc.stderr
        after = {p.name: p.stat().st_size for p in cli.state_file.parent.glob("*journal*")}
        assert after == before, (before, after)   # refused before anything ran: the journal did not grow
        assert cli.state_file.read_text() == damaged   # and the file is left as it was
        assert len(jobs_by_address(sb)["FineTuningJob.bot"]) == 1
    report("non_finite_state", {"value": value, "exits": exits, "journal_grew": False})


@pytest.mark.parametrize("value", ["1e999", "NaN"])
def test_saved_plan_with_a_non_finite_number_is_refused(tmp_path, value):
    _work(tmp_path, SPEC_JOBS)
    with run_sandbox() as sb:
        cli = Cli(tmp_path, sb.base_url)
        plan_file = tmp_path / "saved.plan"
        cli.ok("plan", "--out", str(plan_file), codes=(0, 2))
        text = plan_file.read_text()
        damaged = text.replace('"format_version"', f'"x_number": {value}, "format_version"', 1)
        assert damaged != text
        plan_file.write_text(damaged)
        for args in (("apply", str(plan_file)), ("show", str(plan_file))):
            proc = cli.run(*args)
            lines = proc.stderr.strip().splitlines()
            assert proc.returncode == 1 and len(lines) == 1, (proc.returncode, proc.stdout, proc.stderr)
            assert str(plan_file) in lines[0] and value in lines[0], lines[0]
        assert not jobs_by_address(sb)
    report("non_finite_plan", {"value": value, "jobs_created": 0})


def test_sandbox_answers_401_before_reading_a_chunked_body():
    """A keyless chunked upload: the server answers 401 after the headers alone. The client sends
    no chunk at all and waits for the answer (before the fix the server waited for the body)."""
    with run_sandbox() as sb:
        host, port = sb.url.split("//")[1].split(":")
        answers = []
        for headers in ("Transfer-Encoding: chunked\r\n", "Content-Length: 629145600\r\n",
                        "Authorization: Basic abc\r\nTransfer-Encoding: chunked\r\n"):
            with socket.create_connection((host, int(port.rstrip("/"))), timeout=60) as conn:
                conn.sendall((f"POST /v1/files HTTP/1.1\r\nHost: x\r\n{headers}"
                              "Content-Type: multipart/form-data; boundary=b\r\n\r\n").encode())
                received = b""
                while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
                    part = conn.recv(65536)
                    if not part:
                        break
                    received += part
            head, _, body = received.partition(b"\r\n\r\n")
            answers.append(head.split(b"\r\n")[0].decode())
            assert head.startswith(b"HTTP/1.1 401"), received[:300]
            assert b"Connection: close" in head, head   # its body is unread: the connection ends
            assert json.loads(body)["error"]["message"].startswith("You didn't provide an API key")
        # an authorised small upload still works on the same server
        import httpx

        ok = httpx.post(sb.base_url + "/files", headers={"Authorization": "Bearer sk-proj-x"},
                        files={"file": ("t.jsonl", chat_jsonl().encode())}, data={"purpose": "fine-tune"})
        assert ok.status_code == 200, ok.text
    report("sandbox_401_before_body", {"requests": len(answers), "answers": answers, "body_bytes_sent": 0})


SPEC_MANY = "".join(
    f"""---
kind: FineTuningJob
name: job{i:02d}
spec: {{model: gpt-4o-mini, training_file: "${{File.train.id}}", suffix: j{i:02d}}}
""" for i in range(12))


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # EFBIG from write() instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    return apply


def test_journal_write_failure_stops_new_changes(tmp_path):
    """The CLI runs with RLIMIT_FSIZE: writes past the limit fail with a real EFBIG, as on a full
    disk. The journal fails after a few jobs; nothing new may start after that."""
    _work(tmp_path, SPEC_FILE_ONLY + SPEC_MANY)
    with run_sandbox() as sb:
        cli = Cli(tmp_path, sb.base_url)
        # First the file alone (its state is small), then the jobs with a file size limit.
        main = tmp_path / "specs" / "main.yaml"
        main.write_text(SPEC_FILE_ONLY)
        cli.ok("apply", "--auto-approve")
        main.write_text(SPEC_FILE_ONLY + SPEC_MANY)
        size = cli.state_file.stat().st_size
        limit = size + 6000   # the state fits; the journal gets a few job lines, then EFBIG
        proc = subprocess.run(cli.argv("apply", "--auto-approve", "--parallelism", "2"), env=cli.env(),
                              capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False,
                              preexec_fn=_limit_file_size(limit))
        out = proc.stdout + proc.stderr
        assert "Traceback" not in out, out
        assert proc.returncode == 1, out
        created_first = sum(len(v) for k, v in jobs_by_address(sb).items() if k and k.startswith("FineTuningJob."))
        skipped = [line for line in out.splitlines() if "not started:" in line and "cannot write the journal" in line]
        assert created_first < 12, out          # it stopped
        assert created_first + len(skipped) == 12, (created_first, len(skipped), out)
        errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) <= 1, proc.stderr
        # space again: the next run converges, with each job exactly once
        cli.converge()
        jobs = jobs_by_address(sb)
        per_address = {k: len(v) for k, v in jobs.items() if k and k.startswith("FineTuningJob.")}
        assert len(per_address) == 12 and set(per_address.values()) == {1}, per_address
    report("journal_write_failure", {"jobs_before_stop": created_first, "skipped": len(skipped),
                                     "jobs_after_converge": len(per_address), "duplicates": 0})
