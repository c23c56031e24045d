"""Chat completions through a deployment on the sandbox's Azure flavour, with the official `openai`
SDK's `AzureOpenAI` client (which addresses `/openai/deployments/{name}/chat/completions`), the
`/openai/v1/` path with `model` naming the deployment, and plain httpx: the deployed model answers,
a missing or unfinished deployment is 404 DeploymentNotFound, idling is counted per deployment, and
the OpenAI flavour has neither these routes nor Resource Manager's."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import openai
import pytest

from reconciler.api.arm import ArmAccount, ArmClient
from reconciler_sandbox.arm import DEPLOYMENT_NOT_FOUND
from reconciler_sandbox.testing import SandboxHandle, run_sandbox
from tests.e2e.conftest import chat_jsonl

KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
VERSION = "2024-10-21"
PROMPT = [{"role": "user", "content": "Question 3 about billing?"}]   # a training example's user turn


@pytest.fixture
def azure() -> Iterator[SandboxHandle]:
    with run_sandbox(flavor="azure", azure_key=KEY) as handle:
        handle.world.arm_provisioning_seconds = 60.0
        yield handle


def sdk(sb: SandboxHandle) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=sb.azure_endpoint, api_key=KEY, api_version=VERSION, max_retries=0)


def v1(sb: SandboxHandle) -> openai.OpenAI:
    return openai.OpenAI(base_url=sb.azure_endpoint + "/openai/v1", api_key="unused",
                         default_headers={"api-key": KEY}, max_retries=0)


def fine_tune(sb: SandboxHandle) -> str:
    c = sdk(sb)
    file = c.files.create(file=("train.jsonl", io.BytesIO(chat_jsonl().encode())), purpose="fine-tune")
    job = c.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id)
    sb.advance(3600)
    model = c.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    assert model and ".ft-" in model
    return model


def deploy(sb: SandboxHandle, name: str, model: str) -> None:
    arm = ArmClient(sb.url, "token", ArmAccount("sub", "rg", "acct"))
    try:
        arm.put_deployment(name, {"sku": {"name": "Standard", "capacity": 1},
                                  "properties": {"model": {"format": "OpenAI", "name": model, "version": "1"}}})
    finally:
        arm.close()


def deployments(sb: SandboxHandle) -> list[str]:
    return sorted(d["name"] for d in sb.world.deployments.values())


def test_the_deployed_fine_tune_answers_through_both_paths(azure: SandboxHandle) -> None:
    model = fine_tune(azure)
    deploy(azure, "bot", model)
    azure.advance(61)
    answer = sdk(azure).chat.completions.create(model="bot", messages=PROMPT, temperature=0, seed=7)
    assert answer.choices[0].message.content == "Answer 3 about billing."   # it learned its data
    assert answer.model == model
    again = v1(azure).chat.completions.create(model="bot", messages=PROMPT, temperature=0, seed=7)
    assert again.choices[0].message.content == answer.choices[0].message.content
    assert azure.stats()["POST /v1/deployments/{deployment}/chat/completions"] == 1
    assert azure.world.usage[model]["requests"] == 2


def test_a_missing_or_unfinished_deployment_is_deployment_not_found(azure: SandboxHandle) -> None:
    model = fine_tune(azure)
    url = f"{azure.url}/openai/deployments/bot/chat/completions"
    raw = httpx.post(url, params={"api-version": VERSION}, headers={"api-key": KEY}, json={"messages": PROMPT})
    assert raw.status_code == 404
    assert raw.json() == {"error": {"code": "DeploymentNotFound", "message": DEPLOYMENT_NOT_FOUND}}
    assert "apim-request-id" in raw.headers
    deploy(azure, "bot", model)   # provisioning: 60 s of sandbox clock
    with pytest.raises(openai.NotFoundError) as still:
        sdk(azure).chat.completions.create(model="bot", messages=PROMPT)
    assert still.value.code == "DeploymentNotFound"
    # the v1 path's `model` names a deployment: a model name is not one
    with pytest.raises(openai.NotFoundError):
        v1(azure).chat.completions.create(model=model, messages=PROMPT)
    azure.advance(61)
    assert sdk(azure).chat.completions.create(model="bot", messages=PROMPT).choices
    # a wrong key is refused before any deployment is looked up
    wrong = httpx.post(url, params={"api-version": VERSION}, headers={"api-key": "f" * 32}, json={"messages": PROMPT})
    assert wrong.status_code == 401


def test_idling_is_counted_per_deployment(azure: SandboxHandle) -> None:
    model = fine_tune(azure)
    deploy(azure, "used", model)
    deploy(azure, "idle", model)   # the same model: calls to "used" do not keep it
    azure.advance(61)
    for _ in range(2):
        azure.advance(10 * 86400)
        sdk(azure).chat.completions.create(model="used", messages=PROMPT)
    assert deployments(azure) == ["used"]


@pytest.mark.parametrize("method,path", [
    ("GET", "/subscriptions/s/resourceGroups/r/providers/Microsoft.CognitiveServices/accounts/a/deployments"),
    ("POST", "/v1/deployments/bot/chat/completions"),
])
def test_the_openai_flavour_has_no_azure_routes(method: str, path: str) -> None:
    with run_sandbox() as sb:
        answer = httpx.request(method, f"{sb.url}{path}", params={"api-version": "2025-06-01"},
                               headers={"Authorization": "Bearer sk-test"}, json={})
        assert answer.status_code == 404
        assert answer.json()["error"]["message"] == f"Invalid URL ({method} {path})"


def test_the_api_version_path_has_no_chat_without_a_deployment(azure: SandboxHandle) -> None:
    answer = httpx.post(f"{azure.url}/openai/chat/completions", params={"api-version": VERSION},
                        headers={"api-key": KEY}, json={"model": "bot", "messages": PROMPT})
    assert answer.status_code == 404 and answer.json() == {"error": {"code": "404", "message": "Resource not found"}}
