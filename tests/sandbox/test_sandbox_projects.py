"""The sandbox scopes by project as the real API does (reconciler_sandbox/projects.py), over real
HTTP with httpx: a project key sees and changes only its project's jobs and files, an admin key
manages permissions across the organisation, and `openai-project` names the key's project."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler_sandbox.projects import parse_project_key
from reconciler_sandbox.testing import SandboxHandle, run_sandbox

from .conftest import chat_lines

KEY_A = "sk-proj-team-a-0123456789"
KEY_B = "sk-proj-team-b-0123456789"
ADMIN = "sk-admin-org-0123456789"


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with run_sandbox(speed=1000.0, project_keys={KEY_A: "proj_a", KEY_B: "proj_b"}) as sb:
        yield sb


def _client(sb: SandboxHandle, key: str, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {key}", **headers}, timeout=60)


def _upload(c: httpx.Client, name: str = "t.jsonl") -> dict[str, Any]:
    r = c.post("/files", files={"file": (name, chat_lines())}, data={"purpose": "fine-tune"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _job(c: httpx.Client, file_id: str) -> httpx.Response:
    return c.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini-2024-07-18", "training_file": file_id})


def test_each_key_sees_only_its_project(sandbox: SandboxHandle) -> None:
    with _client(sandbox, KEY_A) as a, _client(sandbox, KEY_B) as b:
        fa = _upload(a)
        fb = _upload(b)
        assert "_project" not in fa
        ja = _job(a, fa["id"]).json()
        jb = _job(b, fb["id"]).json()
        assert {j["id"] for j in a.get("/fine_tuning/jobs").json()["data"]} == {ja["id"]}
        assert {j["id"] for j in b.get("/fine_tuning/jobs").json()["data"]} == {jb["id"]}
        assert {f["id"] for f in a.get("/files").json()["data"]} == {fa["id"]}
        assert {f["id"] for f in b.get("/files").json()["data"]} == {fb["id"]}
        # another project's objects do not exist for this key: read, cancel, download, delete
        assert a.get(f"/fine_tuning/jobs/{jb['id']}").status_code == 404
        assert a.post(f"/fine_tuning/jobs/{jb['id']}/cancel").status_code == 404
        assert a.get(f"/files/{fb['id']}/content").status_code == 404
        assert a.delete(f"/files/{fb['id']}").status_code == 404
        # nor can a job train on them
        refused = _job(a, fb["id"])
        assert refused.status_code == 400 and "training_file" in refused.text
        # the answers name the key's project
        assert a.get("/fine_tuning/jobs").headers["openai-project"] == "proj_a"
        assert b.get("/files").headers["openai-project"] == "proj_b"
        assert b.get(f"/fine_tuning/jobs/{jb['id']}").json()["status"]  # its own still readable
    jobs = sandbox.world.jobs.items.values()
    assert sorted(j["project"] for j in jobs) == ["proj_a", "proj_b"]


def test_admin_key_manages_permissions_across_the_organisation(sandbox: SandboxHandle) -> None:
    with _client(sandbox, KEY_A) as a, _client(sandbox, ADMIN) as admin:
        job = _job(a, _upload(a)["id"]).json()
        sandbox.advance(100000)
        ckpts = a.get(f"/fine_tuning/jobs/{job['id']}/checkpoints").json()["data"]
        assert ckpts
        name = ckpts[0]["fine_tuned_model_checkpoint"]
        granted = admin.post(f"/fine_tuning/checkpoints/{name}/permissions", json={"project_ids": ["proj_b"]})
        assert granted.status_code == 200, granted.text
        listed = admin.get(f"/fine_tuning/checkpoints/{name}/permissions").json()["data"]
        assert [p["project_id"] for p in listed] == ["proj_b"]
        assert a.get(f"/fine_tuning/checkpoints/{name}/permissions").status_code == 401  # a project key cannot


def test_unknown_key_and_mismatched_project_header_are_refused(sandbox: SandboxHandle) -> None:
    with _client(sandbox, "sk-proj-nobody-0000000000") as nobody:
        r = nobody.get("/fine_tuning/jobs")
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        assert "sk-proj-nobody-0000000000" not in r.text  # never the whole key
    with _client(sandbox, KEY_A, **{"OpenAI-Project": "proj_b"}) as wrong:
        r = wrong.get("/fine_tuning/jobs")
        assert r.status_code == 401 and r.json()["error"]["code"] == "mismatched_project"


def test_unscoped_sandbox_is_unchanged() -> None:
    with run_sandbox() as sb, _client(sb, "sk-anything") as c, _client(sb, "sk-other") as d:
        f = _upload(c)
        assert [x["id"] for x in d.get("/files").json()["data"]] == [f["id"]]
        assert c.get("/files").headers["openai-project"] == "proj_sandbox"


@pytest.mark.parametrize(("text", "ok"), [("sk-a=proj_a", True), ("sk-a", False), ("=proj_a", False),
                                           ("sk-a=team_a", False)])
def test_parse_project_key(text: str, ok: bool) -> None:
    if ok:
        assert parse_project_key(text) == ("sk-a", "proj_a")
    else:
        with pytest.raises(ValueError, match="KEY=proj_ID"):
            parse_project_key(text)


def test_serve_refuses_a_malformed_project_key_in_one_line() -> None:
    from click.testing import CliRunner

    from reconciler.cli import cli

    result = CliRunner().invoke(cli, ["sandbox", "serve", "--port", "0", "--project-key", "sk-secret-abc"])
    assert result.exit_code == 1  # a usage error (exit 1: 2 means changes), before anything listens
    assert "--project-key" in result.output and "KEY=proj_ID" in result.output
    assert "sk-secret-abc" not in result.output  # never the whole key
