"""`DELETE /v1/models/{model}` in the sandbox, through the official SDK and raw HTTP: a fine-tuned
model is deleted once (`ModelDeleted {id, object: "model", deleted: true}`) and then no longer
serves; a base model, an unknown model, another project's model are refused in OpenAI's error shape;
the deletion survives a restart of a sandbox that keeps its world in a file."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from reconciler_sandbox.testing import SandboxHandle, run_sandbox

from .conftest import ADMIN_KEY, PROJECT_KEY, upload

KEY_A = "sk-proj-team-a-0123456789"
KEY_B = "sk-proj-team-b-0123456789"


def _sdk(sb: SandboxHandle, key: str = PROJECT_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=sb.base_url, api_key=key, max_retries=0)


def _model(sb: SandboxHandle, client: openai.OpenAI) -> str:
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client))
    sb.advance(3600)
    model = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    assert model is not None
    return model


def test_a_fine_tuned_model_is_deleted_once_and_stops_serving(sb: SandboxHandle) -> None:
    client, admin = _sdk(sb), _sdk(sb, ADMIN_KEY)
    model = _model(sb, client)
    admin.fine_tuning.checkpoints.permissions.create(model, project_ids=["proj_x"])
    deleted = client.models.delete(model)
    assert (deleted.id, deleted.object, deleted.deleted) == (model, "model", True)
    with pytest.raises(openai.NotFoundError) as gone:
        client.models.delete(model)
    assert gone.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        admin.fine_tuning.checkpoints.permissions.retrieve(model)  # nothing to share any more
    with pytest.raises(openai.BadRequestError):  # nor to train on
        client.fine_tuning.jobs.create(model=model, training_file=upload(client))


@pytest.mark.parametrize(("model", "status", "code"), [
    ("gpt-4o-mini-2024-07-18", 403, "model_not_deletable"), ("gpt-4o-mini", 403, "model_not_deletable"),
    ("ft:gpt-4o-mini-2024-07-18:org-sandbox::nosuch", 404, "model_not_found")])
def test_what_cannot_be_deleted_is_refused_in_openai_error_shape(sb: SandboxHandle, model: str, status: int,
                                                                 code: str) -> None:
    with httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {PROJECT_KEY}"}) as c:
        r = c.delete(f"/models/{model}")
    assert r.status_code == status
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == code
    assert error["param"] == "model" and model in error["message"]


def test_a_project_cannot_delete_another_projects_model() -> None:
    with run_sandbox(project_keys={KEY_A: "proj_a", KEY_B: "proj_b"}) as sb:
        model = _model(sb, _sdk(sb, KEY_A))
        with pytest.raises(openai.NotFoundError):
            _sdk(sb, KEY_B).models.delete(model)
        assert _sdk(sb, KEY_A).models.delete(model).deleted


def test_the_deletion_survives_a_restart(tmp_path: Path) -> None:
    world = tmp_path / "world.json"
    with run_sandbox(data=world) as sb:
        model = _model(sb, _sdk(sb))
        _sdk(sb).models.delete(model)
    with run_sandbox(data=world) as sb, pytest.raises(openai.NotFoundError):
        _sdk(sb).models.delete(model)
