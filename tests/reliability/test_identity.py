"""Issue 14, item 3: a state is bound to the API account it was made against.

Team A's state planned against an API holding one unrelated job proposed `+ FineTuningJob.bot will
be created` (a second paid job). Now the state records the account the API reports (`"api"`:
base URL, organisation, project) and a run against another account is refused at the API's first
answer, before any request that changes anything; `reconciler state rebind` moves it on purpose.

The pure parts (normalising, comparing, parsing) are table-driven; the promises are shown with the
real CLI against the real sandbox over HTTP, counting the jobs in the other account."""

from __future__ import annotations

import json

import pytest

from reconciler.errors import StateError
from reconciler.identity import (
    ApiIdentity,
    IdentityMismatchError,
    check_identity,
    differences,
    normalise_base_url,
)
from reconciler.state.model import State, new_state

# -- normalising the base URL -----------------------------------------------------------------------

NORMALISE = [
    ("https://api.openai.com/v1", "https://api.openai.com/v1"),
    ("https://api.openai.com/v1/", "https://api.openai.com/v1"),
    ("HTTPS://API.OpenAI.com/v1", "https://api.openai.com/v1"),
    ("https://api.openai.com:443/v1", "https://api.openai.com/v1"),
    ("http://proxy.corp:80/v1", "http://proxy.corp/v1"),
    ("https://proxy.corp:8443/v1", "https://proxy.corp:8443/v1"),      # a real port names a service
    ("http://127.0.0.1:53211/v1", "http://127.0.0.1/v1"),              # loopback: the sandbox's random port
    ("http://localhost:8765/v1", "http://localhost/v1"),
    ("http://[::1]:9000/v1", "http://[::1]/v1"),
    ("https://user:secret@api.openai.com/v1", "https://api.openai.com/v1"),   # userinfo never kept
    ("https://api.openai.com/v1?api-version=1#x", "https://api.openai.com/v1"),
    ("https://gateway.example/openai/v1/", "https://gateway.example/openai/v1"),
]


@pytest.mark.parametrize(("url", "expected"), NORMALISE)
def test_normalise_base_url(url: str, expected: str) -> None:
    assert normalise_base_url(url) == expected


# -- comparing ----------------------------------------------------------------------------------------

A = ApiIdentity("https://api.openai.com/v1", "org-a", "proj_a")
COMPARE = [
    # recorded, reported, differing fields
    (None, A, []),                                                                   # nothing recorded yet
    (A, A, []),
    (A, ApiIdentity("https://api.openai.com/v1", "org-b", "proj_a"), ["organization"]),
    (A, ApiIdentity("https://api.openai.com/v1", "org-a", "proj_b"), ["project"]),
    (A, ApiIdentity("https://other.example/v1", "org-a", "proj_a"), ["base_url"]),
    (A, ApiIdentity("https://other.example/v1", "org-b", "proj_b"), ["base_url", "organization", "project"]),
    (A, ApiIdentity("https://api.openai.com/v1", None, None), []),                  # headers not sent: unknown
    (ApiIdentity("https://api.openai.com/v1"), A, []),                              # newly known: filled in
]


@pytest.mark.parametrize(("recorded", "reported", "differ"), COMPARE)
def test_differences(recorded: ApiIdentity | None, reported: ApiIdentity, differ: list[str]) -> None:
    assert differences(recorded, reported) == differ
    if differ:
        with pytest.raises(IdentityMismatchError) as info:
            check_identity(recorded, reported, where="state/a.json")
        line = str(info.value)
        assert "\n" not in line
        assert recorded is not None and recorded.describe() in line and reported.describe() in line
        assert "state/a.json" in line and "reconciler state rebind" in line
    else:
        kept = check_identity(recorded, reported, where="state/a.json")
        assert kept.base_url == (recorded or reported).base_url
        assert kept.organization == ((recorded and recorded.organization) or reported.organization)


def test_reported_identity_normalises_and_drops_blank_headers() -> None:
    got = ApiIdentity.reported("http://u:p@127.0.0.1:4242/v1/", " org-x ", "")
    assert got == ApiIdentity("http://127.0.0.1/v1", "org-x", None)


# -- the state's "api" key ----------------------------------------------------------------------------

def _state_text(api: object) -> str:
    data = json.loads(new_state("lin-1").to_json())
    data["api"] = api
    return json.dumps(data)


@pytest.mark.parametrize(("api", "message"), [
    ("https://api.openai.com/v1", "api must be an object"),
    ({}, "api.base_url must be a non-empty string"),
    ({"base_url": 3}, "api.base_url must be a non-empty string"),
    ({"base_url": "https://x/v1", "organization": 5}, "api.organization must be a non-empty string or null"),
    ({"base_url": "https://x/v1", "project": ""}, "api.project must be a non-empty string or null"),
    ({"base_url": "https://x/v1", "org": "org-a"}, "api has an unknown key 'org'"),
])
def test_state_api_key_is_parsed_strictly(api: object, message: str) -> None:
    with pytest.raises(StateError) as info:
        State.from_json(_state_text(api), where="state/x.json")
    assert str(info.value).startswith("state/x.json: ") and message in str(info.value)


def test_state_api_key_round_trips_and_is_optional() -> None:
    old = new_state("lin-1")
    assert "api" not in json.loads(old.to_json())                    # an old state has none and loads
    assert State.from_json(old.to_json()).api is None
    assert State.from_json(_state_text(None)).api is None
    old.api = A
    text = old.to_json()
    assert b"".join(old.iter_json()) == text.encode()                # the streamed writer agrees
    assert State.from_json(text).api == A


# -- the real CLI against the real sandbox ------------------------------------------------------------

import subprocess  # noqa: E402
import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402

from reconciler_sandbox.testing import SandboxHandle, run_sandbox  # noqa: E402
from tests.reliability.helpers import PROJECT_KEY, Cli, chat_jsonl, report, sdk  # noqa: E402

SPEC = """\
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
SECOND_JOB = """\
---
kind: FineTuningJob
name: bot2
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  suffix: bot2
"""


@pytest.fixture
def team_a() -> Iterator[SandboxHandle]:
    with run_sandbox(organization="org-team-a", project="proj_team_a") as handle:
        yield handle


@pytest.fixture
def team_b() -> Iterator[SandboxHandle]:
    """Another account, holding one unrelated job."""
    with run_sandbox(organization="org-team-b", project="proj_team_b") as handle:
        client = sdk(handle.base_url)
        upload = client.files.create(file=("other.jsonl", chat_jsonl(topic="other").encode()), purpose="fine-tune")
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload.id, suffix="unrelated")
        handle.reset_stats()
        yield handle


def _specs(cli: Cli, extra: str = "") -> None:
    (cli.specs / "data").mkdir(parents=True, exist_ok=True)
    (cli.specs / "data" / "train.jsonl").write_text(chat_jsonl())
    cli.write("main.yaml", SPEC + extra)


def _changes(handle: SandboxHandle) -> int:
    """Requests that could change anything (every POST and DELETE the sandbox saw)."""
    return sum(n for key, n in handle.stats().items() if key.split(" ", 1)[0] in ("POST", "DELETE"))


def _jobs(handle: SandboxHandle) -> int:
    return len(list(sdk(handle.base_url).fine_tuning.jobs.list(limit=100)))


def _recorded(cli: Cli) -> dict[str, object] | None:
    api: dict[str, object] | None = json.loads(cli.state_file.read_text()).get("api")
    return api


def _refused(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    err = proc.stderr
    assert "Traceback" not in err + proc.stdout
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_a_state_is_refused_against_another_account_before_any_change(team_a: SandboxHandle,
                                                                        team_b: SandboxHandle,
                                                                        tmp_path: Path) -> None:
    a = Cli(tmp_path, team_a.base_url)
    _specs(a)
    a.ok("apply", "--auto-approve")
    assert _recorded(a) == {"base_url": "http://127.0.0.1/v1", "organization": "org-team-a",
                            "project": "proj_team_a"}
    a.ok("plan", "--out", str(tmp_path / "saved.plan"), codes=(0, 2))
    serial = json.loads(a.state_file.read_text())["serial"]

    b = Cli(tmp_path, team_b.base_url)  # the same state and specs, another account's API
    jobs_before = _jobs(team_b)
    team_b.reset_stats()
    runs = {
        "plan": ("plan",),
        "apply": ("apply", "--auto-approve"),
        "apply --no-refresh": ("apply", "--auto-approve", "--no-refresh"),
        "apply saved plan": ("apply", str(tmp_path / "saved.plan")),
        "destroy": ("destroy", "--auto-approve"),
        "drift": ("drift",),
        "sync": ("sync",),
    }
    lines = {}
    for name, argv in runs.items():
        line = _refused(b.run(*argv))
        lines[name] = line
        assert "org-team-a" in line and "org-team-b" in line, (name, line)
        assert "reconciler state rebind" in line and "nothing was changed" in line, (name, line)
        assert "+ FineTuningJob" not in line
    assert _changes(team_b) == 0, team_b.stats()           # not one POST or DELETE reached B
    assert _jobs(team_b) == jobs_before == 1                 # 0 jobs created in B
    assert json.loads(a.state_file.read_text())["serial"] == serial   # the state untouched
    # `import` is bound too: the object is read, but the state is not changed
    _refused(b.run("import", "FineTuningJob.bot2", "ftjob-anything"))
    report("identity_mismatch", {"commands_refused": len(runs) + 1, "changes_sent_to_b": _changes(team_b),
                                 "jobs_in_b_after": _jobs(team_b), "line": lines["apply"]})


def test_rebind_moves_the_state_on_purpose(team_a: SandboxHandle, team_b: SandboxHandle, tmp_path: Path) -> None:
    a = Cli(tmp_path, team_a.base_url)
    _specs(a)
    a.ok("apply", "--auto-approve")
    b = Cli(tmp_path, team_b.base_url)

    line = _refused(b.run("state", "rebind"))                 # no terminal: asks for --yes
    assert "--yes" in line
    assert _recorded(a)["organization"] == "org-team-a"       # type: ignore[index]

    moved = b.ok("state", "rebind", "--yes").stdout
    assert "organization org-team-a, project proj_team_a at http://127.0.0.1/v1" in moved, moved
    assert "→ organization org-team-b, project proj_team_b at http://127.0.0.1/v1" in moved, moved
    assert _recorded(b) == {"base_url": "http://127.0.0.1/v1", "organization": "org-team-b",
                            "project": "proj_team_b"}
    assert "already bound" in b.ok("state", "rebind", "--yes").stdout
    assert _changes(team_b) == 0                               # rebinding changes nothing in the API
    plan = b.ok("plan", "--no-color", codes=(0, 2))            # the new account is planned normally
    assert "Error" not in plan.stderr
    # and now the old account is the other one
    assert "org-team-b" in _refused(a.run("plan"))


def test_a_new_loopback_port_is_the_same_account(tmp_path: Path) -> None:
    world = tmp_path / "world.json"
    with run_sandbox(data=world) as first:
        a = Cli(tmp_path, first.base_url)
        _specs(a)
        a.ok("apply", "--auto-approve")
        first_port = first.url.rsplit(":", 1)[1]
    with run_sandbox(data=world) as second:
        assert second.url.rsplit(":", 1)[1] != first_port
        again = Cli(tmp_path, second.base_url)
        assert again.run("plan", "--detailed-exitcode").returncode == 0
        again.ok("apply", "--auto-approve")
        assert _changes(second) == 0 and _jobs(second) == 1
    assert _recorded(a) == {"base_url": "http://127.0.0.1/v1", "organization": "org-sandbox",
                            "project": "proj_sandbox"}


def test_an_old_state_without_api_keeps_working_and_gains_it(sandbox: SandboxHandle, tmp_path: Path) -> None:
    cli = Cli(tmp_path, sandbox.base_url)
    _specs(cli)
    cli.ok("apply", "--auto-approve")
    data = json.loads(cli.state_file.read_text())
    del data["api"]                                            # as written before this change
    cli.state_file.write_text(json.dumps(data))
    assert cli.run("plan", "--detailed-exitcode").returncode == 0   # no refusal, no change
    assert _recorded(cli) is None                              # a plan writes nothing
    _specs(cli, SECOND_JOB)
    cli.ok("apply", "--auto-approve")                          # the next write records it
    assert _recorded(cli) == {"base_url": "http://127.0.0.1/v1", "organization": "org-sandbox",
                              "project": "proj_sandbox"}
    assert _jobs(sandbox) == 2


class _BasicAuthGate(BaseHTTPRequestHandler):
    """A gateway that takes `user:password@` from the base URL (HTTP basic auth) and forwards to
    the sandbox with the project key, as a corporate proxy might."""

    upstream = ""
    seen_basic = 0

    def log_message(self, *args: object) -> None:
        pass

    def _forward(self) -> None:
        if self.headers.get("Authorization", "").startswith("Basic "):
            type(self).seen_basic += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        headers["Authorization"] = f"Bearer {PROJECT_KEY}"
        answer = httpx.request(self.command, self.upstream + self.path, content=body, headers=headers, timeout=120)
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_DELETE = _forward


def test_userinfo_in_the_base_url_is_never_stored(sandbox: SandboxHandle, tmp_path: Path) -> None:
    gate = type("Gate", (_BasicAuthGate,), {"upstream": sandbox.url, "seen_basic": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), gate)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        cli = Cli(tmp_path, f"http://alice:hunter2-secret@127.0.0.1:{port}/v1")
        _specs(cli)
        cli.ok("apply", "--auto-approve")
        assert gate.seen_basic > 0                                # the userinfo was used...
        text = cli.state_file.read_text()
        assert "hunter2" not in text and "alice" not in text      # ...and never stored
        assert _recorded(cli) == {"base_url": "http://127.0.0.1/v1", "organization": "org-sandbox",
                                  "project": "proj_sandbox"}
    finally:
        server.shutdown()
        server.server_close()
    # the same account without the userinfo (and on another port) is not a mismatch
    again = Cli(tmp_path, sandbox.base_url).run("plan", "--detailed-exitcode")
    assert again.returncode == 0, (again.stdout, again.stderr)
