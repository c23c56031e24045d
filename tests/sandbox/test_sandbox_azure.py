"""The sandbox's Azure flavour (reconciler_sandbox/azure.py) through the official `openai` SDK's
`AzureOpenAI` client and plain httpx: both data-plane paths, the api-key, Azure's error bodies,
model naming, models list, what Azure does not have, and Azure's training ends on the sandbox's
clock; `sandbox serve --flavor azure` as a process with AZURE_OPENAI_API_KEY in its environment."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import openai
import pytest

from reconciler.cli.runtime import parse_instant
from reconciler_sandbox.azure import INVALID_KEY
from reconciler_sandbox.testing import SandboxHandle, run_sandbox
from tests.e2e.conftest import chat_jsonl

KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
VERSION = "2025-04-01-preview"


@pytest.fixture
def azure() -> Iterator[SandboxHandle]:
    with run_sandbox(flavor="azure", azure_key=KEY) as handle:
        yield handle


def client(sb: SandboxHandle, key: str = KEY) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=sb.azure_endpoint, api_key=key, api_version=VERSION, max_retries=0)


def v1_client(sb: SandboxHandle, key: str = KEY) -> openai.OpenAI:
    """The version-less /openai/v1/ path, as Azure's guide uses it: the OpenAI client with an api-key header."""
    return openai.OpenAI(base_url=sb.azure_endpoint + "/openai/v1", api_key="unused",
                         default_headers={"api-key": key}, max_retries=0)


def train(c: openai.OpenAI, sb: SandboxHandle, model: str = "gpt-4o-mini-2024-07-18") -> openai.types.fine_tuning.FineTuningJob:
    file = c.files.create(file=("train.jsonl", io.BytesIO(chat_jsonl().encode())), purpose="fine-tune")
    job = c.fine_tuning.jobs.create(model=model, training_file=file.id, suffix="bot", metadata={"owner": "me"})
    sb.advance(3600)
    return c.fine_tuning.jobs.retrieve(job.id)


@pytest.mark.parametrize("make", [client, v1_client], ids=["api-version", "v1"])
def test_a_job_trains_with_azure_model_naming(azure: SandboxHandle, make) -> None:  # type: ignore[no-untyped-def]
    c = make(azure)
    job = train(c, azure)
    assert job.status == "succeeded"
    assert re.fullmatch(r"gpt-4o-mini-2024-07-18\.ft-[0-9a-f]{32}", job.fine_tuned_model or "")
    assert job.metadata == {"owner": "me"}
    assert [j.id for j in c.fine_tuning.jobs.list()] == [job.id]
    assert c.fine_tuning.jobs.checkpoints.list(job.id).data
    models = {m.id: m for m in c.models.list()}
    ft = models[job.fine_tuned_model]
    assert ft.model_extra["capabilities"]["fine_tune"] is False and ft.model_extra["model"] == job.model
    base = models["gpt-4.1-2025-04-14"].model_extra
    assert base["capabilities"]["fine_tune"] is True
    assert base["deprecation"] == {"fine_tune": 1807660800, "inference": 1823472000}   # 2027-04-14, 2027-10-14


def test_wrong_or_missing_key_is_azures_401(azure: SandboxHandle) -> None:
    with pytest.raises(openai.AuthenticationError) as wrong:
        client(azure, key="f" * 32).fine_tuning.jobs.list()
    assert wrong.value.body == {"code": "401", "message": INVALID_KEY}
    answer = httpx.get(azure.url + "/openai/fine_tuning/jobs", params={"api-version": VERSION})
    assert answer.status_code == 401 and answer.json() == {"error": {"code": "401", "message": INVALID_KEY}}
    assert "apim-request-id" in answer.headers and "openai-organization" not in answer.headers


def test_any_key_without_a_configured_one_and_a_bearer_token() -> None:
    with run_sandbox(flavor="azure") as sb:
        assert client(sb, key="whatever").fine_tuning.jobs.list().data == []
        c = openai.AzureOpenAI(azure_endpoint=sb.azure_endpoint, azure_ad_token_provider=lambda: "a-token",
                               api_version=VERSION, max_retries=0)
        assert c.fine_tuning.jobs.list().data == []


@pytest.mark.parametrize("path", [
    "/v1/fine_tuning/jobs",                                            # OpenAI's path: not Azure's
    "/openai/fine_tuning/jobs",                                        # no api-version
    "/openai/v1/fine_tuning/checkpoints/ft:x:y::z/permissions",        # no checkpoint permissions
    f"/openai/fine_tuning/checkpoints/x/permissions?api-version={VERSION}",
])
def test_paths_azure_does_not_serve(azure: SandboxHandle, path: str) -> None:
    answer = httpx.get(azure.url + path, headers={"api-key": KEY})
    assert answer.status_code == 404
    assert set(answer.json()["error"]) == {"code", "message"}


def test_training_refused_after_azures_training_end() -> None:
    with run_sandbox(flavor="azure", now=parse_instant("2027-04-14T00:00:00Z")) as sb:
        c = client(sb, key="any")
        file = c.files.create(file=("t.jsonl", io.BytesIO(chat_jsonl().encode())), purpose="fine-tune")
        with pytest.raises(openai.BadRequestError, match=r"retired .* from 2027-04-14"):
            c.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14", training_file=file.id)
        with pytest.raises(openai.BadRequestError, match="from 2027-04-01"):
            c.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id)
        # o4-mini trains until 2027-04-16 on Azure; after OpenAI's own 2027-01-06 end
        assert c.fine_tuning.jobs.create(model="o4-mini-2025-04-16", training_file=file.id,
                                         method={"type": "reinforcement", "reinforcement": {"grader": {
                                             "type": "string_check", "name": "g", "operation": "eq",
                                             "input": "{{sample.output_text}}",
                                             "reference": "{{item.answer}}"}}}).id
        with pytest.raises(openai.BadRequestError, match="not available for fine-tuning"):
            c.fine_tuning.jobs.create(model="davinci-002", training_file=file.id)


def test_serve_flavor_azure_as_a_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "AZURE_OPENAI_API_KEY": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "sandbox", "serve", "--flavor", "azure", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "as Azure OpenAI" in line and KEY not in line
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)  # type: ignore[union-attr]
        sb_client = openai.AzureOpenAI(azure_endpoint=url, api_key=KEY, api_version=VERSION, max_retries=0)
        assert sb_client.fine_tuning.jobs.list().data == []
        with pytest.raises(openai.AuthenticationError):
            openai.AzureOpenAI(azure_endpoint=url, api_key="x" * 32, api_version=VERSION,
                               max_retries=0).fine_tuning.jobs.list()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_answers_match_the_azure_contract_excerpt(azure: SandboxHandle) -> None:
    import jsonschema
    import yaml

    from tests.conftest import CONTRACT

    contract = yaml.safe_load((CONTRACT / "azure-openai-authoring.excerpt.yaml").read_text())

    def check(name: str, value: object) -> None:
        jsonschema.validate(value, {"$ref": f"#/$defs/{name}", "$defs": contract["$defs"]})

    c = client(azure)
    job = train(c, azure)
    check("FineTuningJob", httpx.get(f"{azure.url}/openai/fine_tuning/jobs/{job.id}", params={"api-version": VERSION},
                                     headers={"api-key": KEY}).json())
    models = httpx.get(f"{azure.url}/openai/models", params={"api-version": VERSION}, headers={"api-key": KEY}).json()
    check("ModelList", models)
    assert any(m.get("fine_tune") == job.id for m in models["data"])
    # the create body reconciler sends is within the contract's properties, metadata aside (Z11)
    allowed = set(contract["$defs"]["FineTuningJobCreationProperties"]["enum"])
    assert "metadata" not in allowed
