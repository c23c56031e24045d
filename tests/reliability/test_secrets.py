"""Secrets: with recognisable fake keys, run every command (successes, errors, --json, saved
plans, drift reports in every format, --debug logging, a 401 whose message echoes the key, a
crash log) and find neither key anywhere: stdout, stderr, every file written under the work
folder (state, backup, journal, lock, plan, reports, converted specs) and the temp dir where
crash logs go. State and plan files are created 0600. A non-loopback http:// base URL is refused
before any connection is attempted, unless --insecure-http."""

from __future__ import annotations

import secrets
import socket
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from reconciler_sandbox import server as sandbox_server
from reconciler_sandbox.errors import ApiError

from .helpers import Cli, chat_jsonl, report

TAIL_P, TAIL_A, TAIL_N, TAIL_B, TAIL_W = (secrets.token_hex(12) for _ in range(5))
PROJECT_KEY = f"sk-proj-LEAKCANARY-{TAIL_P}"
ADMIN_KEY = f"sk-admin-LEAKCANARY-{TAIL_A}"
NOTIFY_SECRET = f"LEAKCANARY-notify-{TAIL_N}"
BAD_KEY = f"LEAKCANARY-BADKEY-{TAIL_B}"   # no sk- prefix: only the registered-secret redaction catches it
WEBHOOK_TOKEN = f"LEAKCANARY-webhook-{TAIL_W}"   # webhook URLs carry their credential (Slack-style)
NEEDLES = ("LEAKCANARY", TAIL_P, TAIL_A, TAIL_N, TAIL_B, TAIL_W)

SPEC = """\
kind: File
name: train
spec: {path: data/train.jsonl}
---
kind: FineTuningJob
name: bot
spec: {model: gpt-4o-mini, training_file: "${File.train.id}", suffix: canary}
---
kind: CheckpointPermission
name: share
spec:
  fine_tuned_model_checkpoint: ${FineTuningJob.bot.fine_tuned_model}
  project_ids: [proj_a]
"""

SPEC_IMPORT = """\
---
kind: FineTuningJob
name: adopted
spec: {model: gpt-4o-mini, training_file: "${File.train.id}", suffix: adopted}
"""

# Runs the real CLI, but first makes plan-building raise an exception that carries the key, so
# the bug path (exit 3 + crash log in the temp dir) is exercised with a secret in the message.
CRASHING_CLI = """\
import os, sys
import reconciler.planner.refresh as build
def boom(*a, **k):
    raise RuntimeError("simulated bug while holding " + os.environ["OPENAI_API_KEY"] + " and "
                       + os.environ["OPENAI_ADMIN_KEY"])
build.build_plan = boom
from reconciler.cli import main
sys.argv = ["reconciler"] + sys.argv[1:]
main()
"""

# Fails the test run's network: any socket connect or name lookup to a non-loopback host is
# recorded in NET_LOG and refused; then runs the CLI.
NO_NETWORK_CLI = """\
import os, socket, sys
log = os.environ["NET_LOG"]
real_connect = socket.socket.connect
def connect(self, address):
    host = address[0] if isinstance(address, tuple) else str(address)
    if host not in ("127.0.0.1", "::1", "localhost"):
        open(log, "a").write(f"connect {address}\\n")
        raise OSError("network disabled by the test")
    return real_connect(self, address)
real_gai = socket.getaddrinfo
def getaddrinfo(host, *a, **k):
    if host not in ("127.0.0.1", "::1", "localhost"):
        open(log, "a").write(f"getaddrinfo {host}\\n")
        raise socket.gaierror("network disabled by the test")
    return real_gai(host, *a, **k)
socket.socket.connect = connect
socket.getaddrinfo = getaddrinfo
from reconciler.cli import main
sys.argv = ["reconciler"] + sys.argv[1:]
main()
"""


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Hook.received.append(bytes(str(self.headers), "latin-1") + body)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def bad_key_401(monkeypatch):
    """A server that echoes a rejected key in full in its 401 message (a hostile case: the real API
    masks most of it)."""
    real = sandbox_server._Handler._authenticate

    def authenticate(self, req):
        auth = self.headers.get("Authorization", "")
        key = auth.partition(" ")[2].strip()
        if "BADKEY" in key:
            raise ApiError(401, f"Incorrect API key provided: {key}. You can find your API key at "
                                "https://platform.openai.com/account/api-keys.", code="invalid_api_key")
        return real(self, req)

    monkeypatch.setattr(sandbox_server._Handler, "_authenticate", authenticate)


def _scan(text: str) -> list[str]:
    return [n for n in NEEDLES if n in text]


def test_no_key_reaches_any_output_or_file(tmp_path, bad_key_401):
    from reconciler_sandbox.testing import run_sandbox

    root = tmp_path / "work"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    (root / "specs" / "data").mkdir(parents=True)
    (root / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    (root / "tf").mkdir()
    for name in ("main.tf", "training_data.jsonl", "validation_data.jsonl"):
        src = Path(__file__).resolve().parents[1] / "convert" / "fixtures" / "seed001" / name
        (root / "tf" / name).write_bytes(src.read_bytes())
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    notify_url = f"http://127.0.0.1:{hook.server_address[1]}/services/T0/B0/{WEBHOOK_TOKEN}"
    with socket.socket() as probe:   # a port nothing listens on: the webhook error path
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}/services/T0/B0/{WEBHOOK_TOKEN}?token={TAIL_W}"

    leaks: list[str] = []
    runs: list[tuple[str, int]] = []
    timings: list = []
    with run_sandbox() as sb:
        cli = Cli(root, sb.base_url, api_key=PROJECT_KEY, admin_key=ADMIN_KEY,
                  extra_env={"TMPDIR": str(tmpdir), "RECONCILER_NOTIFY_SECRET": NOTIFY_SECRET})
        cli.write("main.yaml", SPEC)
        plan_file = root / "saved.plan"

        def run(*args: str, codes: tuple[int, ...] = (0,), argv0: list[str] | None = None, **env: str):
            cmd = (argv0 or []) + cli.argv(*args)[ (3 if argv0 else 0):]
            t0 = time.monotonic()
            proc = subprocess.run(cmd, env=cli.env(**env), check=False, capture_output=True, text=True, timeout=120, cwd=root)
            timings.append((round(time.monotonic() - t0, 2), args[:2]))
            name = " ".join(a for a in args if not a.startswith("/"))[:70]
            runs.append((name, proc.returncode))
            for stream, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
                for needle in _scan(text):
                    leaks.append(f"{name} {stream}: {needle}")
            assert "Traceback" not in proc.stdout + proc.stderr, (name, proc.stderr)
            assert proc.returncode in codes, (name, proc.returncode, proc.stdout, proc.stderr)
            return proc

        run("validate")
        run("validate", "--json")
        run("schema")
        run("schema", "FineTuningJob", "--out", str(root / "schemas"))
        run("plan", "--debug", codes=(0,))
        run("plan", "--json")
        run("plan", "--format", "markdown")
        run("plan", "--out", str(plan_file))
        run("show", str(plan_file))
        run("show", str(plan_file), "--json")
        run("apply", str(plan_file), "--debug")
        sb.advance(3600)
        run("apply", "--auto-approve", "--json")
        run("apply", "--auto-approve", "--debug")
        run("show")
        run("show", "--json")
        run("output")
        run("output", "--json")
        run("output", "FineTuningJob.bot.fine_tuned_model", "--raw")
        run("state", "list")
        run("state", "list", "--json")
        run("state", "show", "FineTuningJob.bot")
        run("state", "show", "--json")
        run("state", "pull")
        job = cli_sdk_job(sb)   # made outside reconciler: drift to report and notify, then imported
        run("drift", "--output", str(root / "drift.json"), "--output", str(root / "drift.md"),
            "--output", str(root / "drift.xml"), "--notify", notify_url, codes=(2,))
        for fmt in ("text", "markdown", "json", "junit"):
            run("drift", "--format", fmt, "--debug", codes=(2,))
        sdk_cancel_outside(sb, job)   # resolves the drift: the next report notifies again
        failed = run("drift", "--notify", dead_url, codes=(0,))   # in sync again: only the webhook fails
        assert "webhook http://127.0.0.1:" in failed.stderr and "could not be reached" in failed.stderr, failed.stderr
        run("sync", "--debug", "--notify", notify_url)
        # import: the job made outside, adopted under a new address
        cli.write("more.yaml", SPEC_IMPORT)
        run("import", "FineTuningJob.adopted", job, "--debug")
        run("state", "mv", "FineTuningJob.adopted", "FineTuningJob.adopted2")
        run("state", "rm", "FineTuningJob.adopted", codes=(1,))   # moved away: no longer there
        run("state", "rm", "FineTuningJob.adopted2")
        (root / "specs" / "more.yaml").unlink()
        run("convert", "terraform", str(root / "tf"), "--out", str(root / "converted"))
        run("convert", "terraform", str(root / "tf"), "--json", "--out", str(root / "converted2"))
        run("force-unlock", "not-a-lock-id", codes=(1,))
        # error paths
        run("plan", "--debug", codes=(1,), OPENAI_API_KEY=BAD_KEY, OPENAI_ADMIN_KEY=BAD_KEY)
        run("apply", "--auto-approve", codes=(1,), OPENAI_API_KEY=BAD_KEY, OPENAI_ADMIN_KEY=BAD_KEY)
        run("drift", "--format", "json", codes=(1,), OPENAI_API_KEY=BAD_KEY, OPENAI_ADMIN_KEY=BAD_KEY)
        run("plan", codes=(1,), OPENAI_BASE_URL="http://example.invalid/v1")
        run("plan", codes=(1,), OPENAI_ADMIN_KEY="")          # permission needs the admin key
        run("state", "show", "Nope.nope", codes=(1,))
        run("plan", codes=(3,), argv0=[sys.executable, "-c", CRASHING_CLI])   # the bug path
        run("destroy", "--auto-approve", "--debug")

    hook.shutdown()
    for body in _Hook.received:
        leaks += [f"webhook request: {n}" for n in _scan(body.decode("utf-8", "replace"))]
    crash_logs = sorted(tmpdir.glob("reconciler-crash-*"))
    assert crash_logs, "the simulated bug left no crash log"
    files_scanned = 0
    for path in [*root.rglob("*"), *tmpdir.rglob("*")]:
        if path.is_file():
            files_scanned += 1
            leaks += [f"{path.relative_to(tmp_path)}: {n}" for n in _scan(path.read_text("utf-8", "replace"))]
    # private files: the state and everything beside it, the saved plan, the reports
    private = [p for p in (root / "state").rglob("*") if p.is_file()] + [plan_file] + \
        [root / n for n in ("drift.json", "drift.md", "drift.xml")]
    loose = [f"{p.name} {oct(stat.S_IMODE(p.stat().st_mode))}" for p in private if stat.S_IMODE(p.stat().st_mode) & 0o077]
    report("secrets", {"commands_run": len(runs), "files_scanned": files_scanned, "crash_logs": len(crash_logs),
                       "webhook_requests": len(_Hook.received), "keys_leaked": len(leaks),
                       "private_files_checked": len(private), "not_0600": loose})
    assert not leaks, leaks
    assert not loose, loose
    assert len(_Hook.received) >= 1


def sdk_cancel_outside(sb, job_id: str) -> None:
    from .helpers import sdk

    sdk(sb.base_url).fine_tuning.jobs.cancel(job_id)


def cli_sdk_job(sb) -> str:
    from .helpers import sdk

    client = sdk(sb.base_url)
    file_id = next(iter(client.files.list())).id
    return client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id, suffix="outside").id


@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve"), ("destroy", "--auto-approve"),
                                     ("drift",), ("sync",), ("import", "FineTuningJob.bot", "ftjob-abc")])
def test_plain_http_to_a_remote_host_is_refused_before_any_connection(tmp_path, command):
    root = tmp_path
    (root / "specs" / "data").mkdir(parents=True)
    (root / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    cli = Cli(root, "http://example.invalid/v1", api_key=PROJECT_KEY, admin_key=ADMIN_KEY)
    cli.write("main.yaml", SPEC)
    net_log = tmp_path / "net.log"
    proc = subprocess.run([sys.executable, "-c", NO_NETWORK_CLI, *cli.argv(*command)[3:]],
                          env=cli.env(NET_LOG=str(net_log)), check=False, capture_output=True, text=True, timeout=60, cwd=root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to send API keys over plain http to example.invalid" in lines[0], proc.stderr
    assert not net_log.exists(), net_log.read_text()   # refused before any lookup or connection
    assert not _scan(proc.stdout + proc.stderr)


def test_insecure_http_allows_a_non_loopback_http_url(tmp_path):
    """`http://[::ffff:127.0.0.1]:PORT` is not recognised as loopback (so it stands in for a
    remote http host without leaving this machine): refused without the flag, used with it."""
    from reconciler_sandbox.testing import run_sandbox

    if not socket.has_ipv6:
        pytest.skip("no IPv6 sockets here")
    (tmp_path / "specs" / "data").mkdir(parents=True)
    (tmp_path / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    with run_sandbox() as sb:
        port = sb.base_url.split(":")[-1].split("/")[0]
        cli = Cli(tmp_path, f"http://[::ffff:127.0.0.1]:{port}/v1", api_key=PROJECT_KEY, admin_key=ADMIN_KEY)
        cli.write("main.yaml", SPEC.split("---\nkind: CheckpointPermission")[0])
        refused = cli.run("plan")
        assert refused.returncode == 1 and "refusing to send API keys over plain http" in refused.stderr
        allowed = cli.run("plan", "--insecure-http", "--detailed-exitcode")
        assert allowed.returncode == 2, allowed.stdout + allowed.stderr
        assert "FineTuningJob.bot" in allowed.stdout
        # loopback by name or address needs no flag
        local = Cli(tmp_path, sb.base_url.replace("127.0.0.1", "localhost"), api_key=PROJECT_KEY, admin_key=ADMIN_KEY)
        assert local.run("plan", "--detailed-exitcode").returncode == 2


def test_webhook_token_and_base_url_password_never_printed(tmp_path):
    """Issue 14: the webhook URL's path/query secret with --debug (httpx logs every URL it posts
    to), and `https://user:password@host` in OPENAI_BASE_URL, in errors and in --debug logs."""
    from reconciler_sandbox.testing import run_sandbox

    password, user = f"LEAKCANARY-pass-{TAIL_B}", f"LEAKCANARY-user-{TAIL_P}"
    hook_token, query_token = f"LEAKCANARY-hook-{TAIL_W}", f"LEAKCANARY-q-{TAIL_N}"
    (tmp_path / "specs" / "data").mkdir(parents=True)
    (tmp_path / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    received_before = len(_Hook.received)
    port = hook.server_address[1]
    urls = [f"http://127.0.0.1:{port}/services/T0/B0/{hook_token}",
            f"http://127.0.0.1:{port}/api/hook?token={query_token}&sig={query_token}x",
            f"http://{user}:{password}@127.0.0.1:{port}/h/{hook_token}"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    outputs: list[tuple[str, int, str]] = []
    with run_sandbox() as sb:
        cli = Cli(tmp_path, sb.base_url, api_key=PROJECT_KEY, admin_key=ADMIN_KEY)
        cli.write("main.yaml", SPEC.split("---\nkind: CheckpointPermission")[0])
        cli.ok("apply", "--auto-approve")
        cli_sdk_job(sb)   # drift to report: every --notify below posts
        for url in urls:
            (cli.state_file.parent / "default.json.drift.json").unlink(missing_ok=True)
            proc = cli.run("drift", "--debug", "--notify", url)
            outputs.append((f"drift --notify {url[:30]}", proc.returncode, proc.stdout + proc.stderr))
            assert proc.returncode == 2, proc.stdout + proc.stderr
            assert "HTTP Request: POST" in proc.stderr or "127.0.0.1" in proc.stderr   # --debug did log
        authed = sb.base_url.replace("http://", f"http://{user}:{password}@")
        # (httpx turns userinfo into Basic auth, replacing the Bearer key: the sandbox answers 401)
        for args, base, codes in ((("plan", "--debug"), authed, (1,)), (("plan",), authed, (1,)),
                                  (("plan",), f"http://{user}:{password}@127.0.0.1:{dead}/v1", (1,)),
                                  (("plan", "--debug"), f"http://{user}:{password}@127.0.0.1:{dead}/v1", (1,)),
                                  (("plan",), f"ftp://{user}:{password}@127.0.0.1/v1", (1,)),
                                  (("plan",), f"https://{user}:{password}@[::1/v1", (1,))):
            proc = cli.run(*args, OPENAI_BASE_URL=base)
            outputs.append((f"{' '.join(args)} {base[:12]}", proc.returncode, proc.stdout + proc.stderr))
            assert proc.returncode in codes, (base, proc.returncode, proc.stdout + proc.stderr)
            assert "Traceback" not in proc.stdout + proc.stderr
            if codes == (1,):
                errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
                assert len(errors) == 1, proc.stderr
                if "nothing has answered" in errors[0] or "invalid API base URL" in errors[0]:
                    assert "[REDACTED]@" in errors[0], errors[0]   # the URL is shown, its password is not
    hook.shutdown()
    hook.server_close()
    leaks = [(name, n) for name, _, text in outputs for n in (password, user, hook_token, query_token, TAIL_B, TAIL_W,
                                                              TAIL_N) if n in text]
    report("url_secrets", {"commands": len(outputs), "webhook_posts": len(_Hook.received) - received_before,
                           "leaks": len(leaks)})
    assert not leaks, leaks
    assert len(_Hook.received) - received_before == len(urls)
