"""The sandbox's ARM deployment routes over HTTP, through reconciler's ARM client and plain httpx:
asynchronous provisioning on the stepped clock, ARM's error bodies, the model check, and what Azure
removes on its own (Developer tier after 24 h, idle fine-tuned deployments after 15 days)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.api.arm import ArmAccount, ArmClient
from reconciler.errors import ApiError, AuthError, NotFoundError
from reconciler_sandbox.testing import SandboxHandle, run_sandbox

BASE = "gpt-4.1-mini-2025-04-14"


def body(model: str = BASE, sku: str = "Standard", capacity: int = 1) -> dict[str, object]:
    return {"sku": {"name": sku, "capacity": capacity},
            "properties": {"model": {"format": "OpenAI", "name": model, "version": "1"}}}


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with run_sandbox(flavor="azure") as handle:
        yield handle


@pytest.fixture
def arm(sandbox: SandboxHandle) -> Iterator[ArmClient]:
    client = ArmClient(sandbox.url, "token", ArmAccount("sub", "rg", "acct"))
    yield client
    client.close()


def test_put_is_asynchronous_until_the_clock_passes(sandbox: SandboxHandle, arm: ArmClient) -> None:
    obj, url = arm.put_deployment("d1", body())
    assert obj["properties"]["provisioningState"] == "Creating" and url
    assert obj["id"].endswith("/accounts/acct/deployments/d1")
    assert arm.operation(url)["status"] == "InProgress"
    sandbox.advance(61)
    assert arm.operation(url)["status"] == "Succeeded"
    assert arm.get_deployment("d1")["properties"]["provisioningState"] == "Succeeded"
    again, _url2 = arm.put_deployment("d1", body(capacity=3))
    assert again["properties"]["provisioningState"] == "Updating" and again["sku"]["capacity"] == 3
    assert [d["name"] for d in arm.list_deployments()] == ["d1"]


def test_raw_put_answers_201_then_200_with_azure_asyncoperation(sandbox: SandboxHandle) -> None:
    url = f"{sandbox.url}/subscriptions/s/resourceGroups/r/providers/Microsoft.CognitiveServices/accounts/a/deployments/x"
    auth = {"Authorization": "Bearer t"}
    first = httpx.put(url, params={"api-version": "2025-06-01"}, json=body(), headers=auth)
    second = httpx.put(url, params={"api-version": "2025-06-01"}, json=body(capacity=2), headers=auth)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.headers["Azure-AsyncOperation"].startswith(sandbox.url)
    gone = httpx.delete(url, params={"api-version": "2025-06-01"}, headers=auth)
    assert gone.status_code == 202 and "Azure-AsyncOperation" in gone.headers
    sandbox.advance(61)
    assert httpx.get(url, params={"api-version": "2025-06-01"}, headers=auth).status_code == 404
    assert httpx.delete(url, params={"api-version": "2025-06-01"}, headers=auth).status_code == 204


def test_errors_are_arm_shaped(sandbox: SandboxHandle, arm: ArmClient, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"{sandbox.url}/subscriptions/s/resourceGroups/r/providers/Microsoft.CognitiveServices/accounts/a/deployments"
    missing = httpx.get(url, params={"api-version": "2025-06-01"})
    assert missing.status_code == 401
    assert missing.json() == {"error": {"code": "AuthenticationFailed", "message":
                                        "Authentication failed. The 'Authorization' header is missing."}}
    monkeypatch.setenv("AZURE_MANAGEMENT_TOKEN", "the-valid-one")
    with pytest.raises(AuthError, match="InvalidAuthenticationToken"):
        list(arm.list_deployments())
    monkeypatch.delenv("AZURE_MANAGEMENT_TOKEN")
    with pytest.raises(ApiError, match="DeploymentModelNotSupported"):
        arm.put_deployment("d2", body(model="ft:gpt-4o-mini-2024-07-18:org:x:nope"))
    with pytest.raises(NotFoundError):
        arm.get_deployment("absent")
    assert httpx.get(url, headers={"Authorization": "Bearer t"}).json()["error"]["code"] == \
        "MissingApiVersionParameter"


def test_developer_tier_lives_24_hours(sandbox: SandboxHandle, arm: ArmClient) -> None:
    arm.put_deployment("dev", body(sku="DeveloperTier"))
    arm.put_deployment("std", body())
    sandbox.advance(24 * 3600 - 10)
    assert sorted(d["name"] for d in arm.list_deployments()) == ["dev", "std"]
    sandbox.advance(20)
    assert [d["name"] for d in arm.list_deployments()] == ["std"]


def test_an_idle_fine_tuned_deployment_is_removed_after_15_days(sandbox: SandboxHandle, arm: ArmClient) -> None:
    world = sandbox.world
    job = world.create_job({"model": "gpt-4o-mini-2024-07-18", "training_file": _upload(world)}, project="proj_sandbox")
    sandbox.advance(6 * 3600)
    model = world.get_job(job["id"])["fine_tuned_model"]
    assert model
    arm.put_deployment("ft", body(model=model))
    arm.put_deployment("base", body())
    sandbox.advance(15 * 24 * 3600 + 10)
    assert [d["name"] for d in arm.list_deployments()] == ["base"]


def _upload(world: object) -> str:
    import json

    lines = [json.dumps({"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]})
             for i in range(12)]
    created = world.upload_file(filename="t.jsonl", purpose="fine-tune",  # type: ignore[attr-defined]
                                content=("\n".join(lines) + "\n").encode())
    return str(created["id"])
