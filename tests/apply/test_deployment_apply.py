"""Applying Deployment changes against the real sandbox's ARM routes over HTTP, with an apply
context whose pause steps the sandbox clock (no sleeping): operations polled to their end with
progress lines, a deletion still running waited out before the PUT of the same name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.api.arm import ArmAccount, ArmClient
from reconciler.kinds.deployment.apply import apply_deployment
from reconciler.plan.model import Action, Change, Op, Step
from reconciler_sandbox.testing import SandboxHandle, run_sandbox

MODEL = "gpt-4.1-mini-2025-04-14"


class Clients:
    def __init__(self, arm: ArmClient):
        self.arm = arm

    def arm_for(self) -> ArmClient:
        return self.arm


class Context:
    """The part of ApplyContext a Deployment uses; pause() advances the sandbox clock 10 s."""

    def __init__(self, sandbox: SandboxHandle, arm: ArmClient, spec: dict[str, Any]):
        self.sandbox, self.client, self.spec = sandbox, Clients(arm), spec
        self.recorded: dict[str, Any] = {}
        self.said: list[str] = []
        self.pauses = 0

    def resolve(self, change: Change) -> dict[str, Any]:
        return self.spec

    resolve_or_wait = resolve

    def announce(self, address: str, text: str) -> None:
        self.said.append(text)

    def pause(self) -> None:
        self.pauses += 1
        self.sandbox.advance(10)

    def record(self, address: str, resource: Any) -> None:
        self.recorded[address] = resource

    def remember(self, change: Change, obj: Any) -> None:
        pass


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with run_sandbox(flavor="azure") as handle:
        yield handle


@pytest.fixture
def arm(sandbox: SandboxHandle) -> Iterator[ArmClient]:
    client = ArmClient(sandbox.url, "t", ArmAccount("s", "r", "a"))
    yield client
    client.close()


def create(spec: dict[str, Any]) -> Change:
    return Change(address="Deployment.d", kind="Deployment", action=Action.CREATE, after=spec,
                  steps=(Step(Op.DEPLOY, "deploy", {"name": "d"}),))


def test_a_create_is_polled_to_succeeded_on_the_stepped_clock(sandbox: SandboxHandle, arm: ArmClient) -> None:
    spec = {"model": MODEL, "sku": {"name": "standard", "capacity": 1}}
    ctx = Context(sandbox, arm, spec)
    deployment_id = apply_deployment(ctx, create(spec))  # type: ignore[arg-type]
    assert deployment_id is not None and deployment_id.endswith("/deployments/d")
    assert ctx.pauses == 6   # 60 s of provisioning, 10 s a pause
    assert "deployment d: InProgress" in ctx.said
    rs = ctx.recorded["Deployment.d"]
    assert rs.attributes["properties"]["provisioningState"] == "Succeeded"
    assert rs.inputs == {"deployment_name": "d", "model": MODEL, "sku": {"name": "Standard", "capacity": 1}}


def test_a_deletion_still_running_is_waited_out_before_the_put(sandbox: SandboxHandle, arm: ArmClient) -> None:
    spec = {"model": MODEL, "sku": {"name": "standard", "capacity": 1}}
    arm.put_deployment("d", {"sku": {"name": "Standard", "capacity": 1},
                             "properties": {"model": {"format": "OpenAI", "name": MODEL}}})
    sandbox.advance(61)
    arm.delete_deployment("d")
    ctx = Context(sandbox, arm, spec)
    apply_deployment(ctx, create(spec))  # type: ignore[arg-type]
    assert "waiting for deployment d to finish deleting" in ctx.said
    assert [d["name"] for d in arm.list_deployments()] == ["d"]
    assert ctx.recorded["Deployment.d"].attributes["properties"]["provisioningState"] == "Succeeded"
