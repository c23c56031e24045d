"""Credentials go only where the operator said: a `kind: Provider` document written in a pull
request cannot send the CI's keys (or its database connection string) to a URL of its choosing.

The real CLI (`python -m reconciler`, a child process with an environment of its own) runs against
a recording HTTP server on a real socket that counts every request carrying a credential; the
real sandbox stands in for an allowed gateway.
"""

from __future__ import annotations

import http.server
import importlib.resources
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest

from reconciler_sandbox.testing import run_sandbox

from .conftest import ADMIN_KEY, PROJECT_KEY, chat_jsonl

PG_CONN = "postgresql://ops:Pa55-w0rd-secret@db.internal:5432/reconciler"
HOOK = "https://hooks.example.com/services/T000/B000/XXXXXXXXXXXXXXXX"


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request 401 (as an API would a key it does not know) and records it."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        _Recorder.seen.append({"method": self.command, "path": self.path,
                               "authorization": self.headers.get("Authorization"),
                               "api_key": self.headers.get("api-key")})
        body = json.dumps({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                     "code": "invalid_api_key", "param": None}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _record

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    """The recording server's root URL (`http://127.0.0.1:PORT`)."""
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def credentialed() -> int:
    return sum(1 for r in _Recorder.seen if r["authorization"] or r["api_key"])


def _provider(base_url: str | None, api_key_env: str = "TEAM_KEY", admin_key_env: str | None = None) -> str:
    lines = ["kind: Provider", "name: default", "spec:", f"  api_key_env: {api_key_env}"]
    if admin_key_env:
        lines.append(f"  admin_key_env: {admin_key_env}")
    if base_url:
        lines.append(f"  base_url: {base_url}")
    return "\n".join(lines) + "\n"


JOB = """\
---
kind: File
name: train
spec: {path: data/train.jsonl}
---
kind: FineTuningJob
name: bot
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  suffix: bot
"""


class Repo:
    def __init__(self, root: Path):
        self.root = root
        self.specs = root / "specs"
        (self.specs / "data").mkdir(parents=True)
        (self.specs / "data" / "train.jsonl").write_text(chat_jsonl())

    def write(self, provider: str) -> None:
        (self.specs / "providers.yaml").write_text(provider)
        (self.specs / "main.yaml").write_text(JOB.removeprefix("---\n"))

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RECONCILER_"))}
        env.update({"NO_COLOR": "1", "RECONCILER_CACHE_DIR": "off", "TEAM_KEY": PROJECT_KEY,
                    "OPENAI_API_KEY": PROJECT_KEY, "OPENAI_ADMIN_KEY": ADMIN_KEY,
                    "RECONCILER_PG_CONN_STR": PG_CONN, "RECONCILER_WEBHOOK": HOOK})
        env.update(extra)
        argv = [sys.executable, "-m", "reconciler", "-C", str(self.specs), "--state",
                str(self.root / "state" / "default.json"), *args]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if line.strip() and line != "1 error found."]
    assert len(lines) == 1, text
    for secret in (PROJECT_KEY, ADMIN_KEY, "Pa55-w0rd-secret", "XXXXXXXXXXXXXXXX"):
        assert secret not in text
    return lines[0]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


@pytest.mark.parametrize(("key_env", "commands"), [
    ("OPENAI_ADMIN_KEY", (["validate"], ["plan"], ["apply", "--auto-approve"], ["drift"])),
    ("TEAM_KEY", (["validate"], ["plan"]))])
def test_an_unallowed_base_url_gets_no_request_from_validate_plan_apply_or_drift(
        repo: Repo, recorder: str, key_env: str, commands: tuple[list[str], ...]) -> None:
    """A pull request adds Provider.default pointing at its own server with the CI's admin key. Every command refuses in one line naming the document's base_url, and the server
    never sees a request carrying a credential."""
    repo.write(_provider(f"{recorder}/v1", api_key_env=key_env))
    for command in commands:
        result = repo.run(*command)
        line = one_line(result) if command != ["validate"] else _validate_line(result)
        assert "providers.yaml:5: Provider.default: spec.base_url:" in line, (command, line)
        assert "is not an allowed base URL" in line and "RECONCILER_ALLOWED_BASE_URLS" in line
    assert credentialed() == 0 and _Recorder.seen == []


def _validate_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if "Provider." in line]
    assert len(errors) == 1, result.stdout
    assert "Success" not in result.stdout
    return errors[0]


def test_the_operator_allows_a_base_url_from_outside_the_specs(repo: Repo, recorder: str) -> None:
    """RECONCILER_ALLOWED_BASE_URLS lets the keys go there (the recorder sees them: the test above
    would have seen them too); blanks around the comma-separated prefixes do not matter."""
    repo.write(_provider(f"{recorder}/v1"))
    assert repo.run("validate", RECONCILER_ALLOWED_BASE_URLS=f"{recorder}/v1").returncode == 0
    result = repo.run("plan", RECONCILER_ALLOWED_BASE_URLS=f" https://other.example/v1 , {recorder}/v1")
    assert result.returncode == 1 and credentialed() >= 1
    assert {r["authorization"] for r in _Recorder.seen} == {f"Bearer {PROJECT_KEY}"}


@pytest.mark.parametrize("written", ["{root}/v1evil", "{root}/v2", "{root}/v1/../admin", "{root}/v1/%2e%2e/x",
                                     "http://localhost:{port}/v1"])
def test_a_prefix_allows_only_its_own_segments_host_and_port(repo: Repo, recorder: str, written: str) -> None:
    port = recorder.rsplit(":", 1)[1]
    repo.write(_provider(written.format(root=recorder, port=port)))
    line = one_line(repo.run("plan", RECONCILER_ALLOWED_BASE_URLS=f"{recorder}/v1"))
    assert "spec.base_url" in line
    assert _Recorder.seen == []


@pytest.mark.parametrize(("value", "said"), [
    (PG_CONN, "TEAM_KEY holds the value of RECONCILER_PG_CONN_STR (the state database's connection string), not "
              "an API key"),
    ("postgresql://u:Pa55-w0rd-secret@elsewhere/db", "TEAM_KEY holds a URL, not an OpenAI API key"),
    ("host=db user=ops password=Pa55-w0rd-secret", "TEAM_KEY holds a connection string, not an OpenAI API key"),
    (HOOK, "TEAM_KEY holds the value of RECONCILER_WEBHOOK"),
])
def test_a_key_variable_must_hold_a_key_even_for_an_allowed_url(repo: Repo, recorder: str, value: str,
                                                                said: str) -> None:
    repo.write(_provider(f"{recorder}/v1"))
    allowed = {"RECONCILER_ALLOWED_BASE_URLS": f"{recorder}/v1", "TEAM_KEY": value}
    line = one_line(repo.run("apply", "--auto-approve", **allowed))
    assert "providers.yaml:4: Provider.default: spec.api_key_env:" in line and said in line, line
    validate = repo.run("validate", **allowed)
    assert validate.returncode == 1 and said in validate.stdout
    assert _Recorder.seen == []


def test_a_key_variable_holding_another_secrets_value_is_refused(repo: Repo, recorder: str) -> None:
    """Shaped like a key, but the very value of the webhook signing secret: refused, naming it."""
    repo.write(_provider(f"{recorder}/v1"))
    shared = "sk-looks-like-a-key-0123456789"
    line = one_line(repo.run("plan", RECONCILER_ALLOWED_BASE_URLS=f"{recorder}/v1", TEAM_KEY=shared,
                             RECONCILER_NOTIFY_SECRET=shared))
    assert "TEAM_KEY holds the value of RECONCILER_NOTIFY_SECRET" in line and shared not in line
    assert _Recorder.seen == []


@pytest.mark.parametrize("variable", ["RECONCILER_PG_CONN_STR", "PGPASSWORD", "RECONCILER_WEBHOOK", "GITHUB_TOKEN"])
def test_naming_another_secret_variable_is_a_spec_error(repo: Repo, recorder: str, variable: str) -> None:
    repo.write(_provider(None, api_key_env=variable))
    validate = repo.run("validate")
    assert validate.returncode == 1
    assert f"providers.yaml:4: Provider.default: spec.api_key_env: {variable} holds" in validate.stdout
    line = one_line(repo.run("plan", OPENAI_BASE_URL=f"{recorder}/v1"))
    assert variable in line
    assert _Recorder.seen == []


def test_an_admin_key_variable_must_hold_an_admin_key(repo: Repo, recorder: str) -> None:
    repo.write(_provider(None, admin_key_env="ORG_ADMIN"))
    line = one_line(repo.run("plan", OPENAI_BASE_URL=f"{recorder}/v1", ORG_ADMIN=PROJECT_KEY))
    assert "spec.admin_key_env: ORG_ADMIN holds something else, not an OpenAI admin key (sk-admin-…)" in line
    assert _Recorder.seen == []


def test_the_operators_own_base_url_and_the_sandbox_are_always_allowed(repo: Repo) -> None:
    with run_sandbox() as sandbox:
        repo.write(_provider(sandbox.base_url))
        # the same URL as OPENAI_BASE_URL: the operator's own
        result = repo.run("plan", OPENAI_BASE_URL=sandbox.base_url)
        assert result.returncode == 0, result.stdout + result.stderr
        assert sandbox.stats()  # it was asked
        assert "Provider.default (" in result.stdout and f"base_url:      {sandbox.base_url} (written in the spec)" \
            in result.stdout
    repo.write(_provider("https://attacker.example/v1"))
    sandboxed = repo.run("plan", "--sandbox")  # the sandbox's own URL and keys: nothing of the Provider is used
    assert sandboxed.returncode == 0, sandboxed.stdout + sandboxed.stderr


def test_every_plan_form_shows_the_providers(repo: Repo) -> None:
    """A reviewer sees where keys go in text, JSON and Markdown; a Provider the state has never
    reached is marked new, and no longer once an apply reached it."""
    with run_sandbox() as sandbox:
        env = {"OPENAI_BASE_URL": sandbox.base_url}
        repo.write(_provider(None))
        md = repo.run("plan", "--format", "markdown", **env)
        assert md.returncode == 0, md.stderr
        assert "**Providers: where this run sends API keys** (⚠️ 1 new or changed" in md.stdout
        assert f"| 🆕 | `Provider.default` | `{sandbox.base_url}` (OPENAI_BASE_URL) | `TEAM_KEY` | - / - |" in md.stdout
        as_json = repo.run("plan", "--json", **env)
        schema = json.loads((importlib.resources.files("reconciler") / "render" / "schema" / "plan.schema.json")
                            .read_text())
        jsonschema.validate(json.loads(as_json.stdout), schema)
        documents = json.loads(as_json.stdout)["provider_documents"]
        assert [(d["address"], d["base_url"], d["api_key_env"], d["status"]) for d in documents] == \
            [("Provider.default", sandbox.base_url, "TEAM_KEY", "new")]
        text = repo.run("plan", **env).stdout
        assert "Providers (where this run sends API keys):" in text
        assert "+ Provider.default (" in text and "new: the state has never reached it" in text
        assert "keys from:     TEAM_KEY (api_key_env)" in text
        applied = repo.run("apply", "--auto-approve", **env)
        assert applied.returncode == 0 and "+ Provider.default (" in applied.stdout  # what a person confirms
        after = repo.run("plan", **env).stdout
        assert "  Provider.default (" in after and "new:" not in after
        assert "(⚠️" not in repo.run("plan", "--format", "markdown", **env).stdout


def test_a_providers_unreachable_url_is_named_not_openai_base_url(repo: Repo) -> None:
    with run_sandbox() as sandbox:
        closed = sandbox.base_url  # reachable now, closed below: a port nothing listens on
    repo.write(_provider(closed))
    line = one_line(repo.run("plan", RECONCILER_ALLOWED_BASE_URLS=closed))
    assert "nothing has answered at" in line
    assert "check Provider.default's base_url (" in line and "providers.yaml:5)" in line
    assert "OPENAI_BASE_URL" not in line


def test_an_allowed_url_cannot_redirect_the_keys_elsewhere(repo: Repo, recorder: str) -> None:
    """An allowed gateway answering 307 to another host: not followed, so no key reaches it."""
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(307)
            self.send_header("Location", f"{recorder}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        gateway = f"http://127.0.0.1:{server.server_address[1]}/v1"
        repo.write(_provider(gateway))
        result = repo.run("plan", RECONCILER_ALLOWED_BASE_URLS=gateway)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.seen == []


def test_the_plan_section_escapes_what_the_spec_wrote() -> None:
    from reconciler.planner.providers import ProviderReview
    from reconciler.render.providers import provider_markdown

    hostile = ProviderReview("x", "p.yaml:1", "https://h.example/v1/<img src=x>|`a`", "spec", "K", None,
                             "org-<b>", None, "new")
    row = provider_markdown([hostile])[-1]
    assert "`` https://h.example/v1/<img src=x>\\|`a` ``" in row
    assert row.count("|") - row.count("\\|") == 6  # the table's own five cells
    assert textwrap.dedent(row) == row
