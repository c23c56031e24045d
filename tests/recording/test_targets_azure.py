"""Which deployment a recording on Azure goes through, and how the Azure client addresses a chat
completion, table-driven, no server."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.api.azure import AzureDataPlane
from reconciler.errors import ConfigError
from reconciler.recording.targets import select_targets, through_deployments
from reconciler.state.model import ResourceState

MODEL = "gpt-4o-mini-2024-07-18.ft-0123456789abcdef0123456789abcdef"
OTHER = "gpt-4.1-mini-2025-04-14.ft-fedcba9876543210fedcba9876543210"


def job(address: str, model: str | None) -> ResourceState:
    return ResourceState(address, "FineTuningJob", id=f"ftjob-{address}",
                         attributes={"id": f"ftjob-{address}", "model": "gpt-4o-mini-2024-07-18",
                                     "fine_tuned_model": model, "status": "succeeded" if model else "running",
                                     "seed": 7, "training_file": "file-t", "validation_file": "file-v"})


def deployment(address: str, name: str, model: str) -> ResourceState:
    return ResourceState(address, "Deployment", id=f"/sub/deployments/{name}",
                         attributes={"name": name, "sku": {"name": "Standard", "capacity": 1},
                                     "properties": {"model": {"name": model}, "provisioningState": "Succeeded"}})


RECORDS = {r.address: r for r in [job("FineTuningJob.bot", MODEL), job("FineTuningJob.new", None),
                                  deployment("Deployment.b", "bot-b", MODEL), deployment("Deployment.a", "bot-a", MODEL),
                                  deployment("Deployment.base", "base", "gpt-4.1-mini-2025-04-14"),
                                  deployment("Deployment.elsewhere", "far", OTHER)]}


def route(wanted: tuple[str, ...], azure: set[str], profiles: dict[str, str] | None = None) -> list[tuple[Any, ...]]:
    targets = select_targets(RECORDS, wanted)
    routed = through_deployments(targets, RECORDS, lambda a: "azure" if a in azure else "openai",
                                 lambda a: (profiles or {}).get(a, "default"))
    return [(t.address, t.model, t.deployment, t.via, t.files) for t in routed]


@pytest.mark.parametrize(("wanted", "azure", "profiles", "expected"), [
    # an OpenAI job: asked by model, no deployment
    ((), set(), None, [("FineTuningJob.bot", MODEL, None, None, ("file-v", "file-t"))]),
    # an Azure job: through the first Deployment (by address) of its model in its provider
    ((), {"FineTuningJob.bot"}, None, [("FineTuningJob.bot", MODEL, "bot-a", "Deployment.a", ("file-v", "file-t"))]),
    # a Deployment named: its model through it, the job's prompts
    (("Deployment.b",), set(), None, [("Deployment.b", MODEL, "bot-b", None, ("file-v", "file-t"))]),
    # a deployed base model: no job's prompts (--prompts needed)
    (("Deployment.base",), set(), None, [("Deployment.base", "gpt-4.1-mini-2025-04-14", "base", None, ())]),
    # a deployment in another provider does not serve this job's calls
    ((), {"FineTuningJob.bot"}, {"Deployment.a": "other"},
     [("FineTuningJob.bot", MODEL, "bot-b", "Deployment.b", ("file-v", "file-t"))]),
])
def test_routing(wanted: tuple[str, ...], azure: set[str], profiles: dict[str, str] | None,
                 expected: list[tuple[Any, ...]]) -> None:
    assert route(wanted, azure, profiles) == expected


def test_an_azure_job_without_a_deployment_is_refused_in_one_line() -> None:
    records = {"FineTuningJob.bot": job("FineTuningJob.bot", MODEL)}
    with pytest.raises(ConfigError) as refused:
        through_deployments(select_targets(records, ()), records, lambda a: "azure", lambda a: "default")
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"FineTuningJob.bot: {MODEL} is not deployed")
    assert "nothing was sent" in message


@pytest.mark.parametrize(("version", "path", "model"), [
    ("2025-04-01-preview", "/deployments/bot%2Fx/chat/completions", None),   # the name quoted in the path
    (None, "/chat/completions", "bot/x"),                                       # v1: model = the deployment
])
def test_chat_call(version: str | None, path: str, model: str | None) -> None:
    got_path, body = AzureDataPlane(api_version=version).chat_call("bot/x", {"model": MODEL, "messages": []})
    assert got_path == path and body.get("model") == model and body["messages"] == []


def test_chat_call_needs_a_deployment() -> None:
    with pytest.raises(ConfigError, match="through a deployment"):
        AzureDataPlane().chat_call("", {"messages": []})
