"""Recording on Azure through a deployment, with the real CLI against one Azure-flavoured sandbox
(data plane and Resource Manager): a fine-tuned model with no deployment is refused before anything
is sent; `record --target Deployment.x` and the default (the job, through its deployment) ask
`/openai/deployments/{name}/chat/completions`; `compare --against Deployment.x` with itself passes;
an Evaluation whose target is `${Deployment.x.model}` is run by `compare --evaluation` and shown
passing by plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler_sandbox.testing import run_sandbox

from .test_deployment_e2e import KEY, Folder, specs

DEPLOYED = "POST /v1/deployments/{deployment}/chat/completions"
V1 = "POST /v1/chat/completions"
EVALUATION = """\
---
kind: Evaluation
name: keep
spec:
  recording: ../rec/Deployment.bot
  target: ${Deployment.bot.model}
  threshold: 0.95
"""


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Folder]:
    with run_sandbox(flavor="azure", azure_key=KEY) as sandbox:
        sandbox.world.arm_provisioning_seconds = 0.0
        yield Folder(sandbox, tmp_path)


def chats(f: Folder) -> int:
    return sum(n for call, n in f.sandbox.stats().items() if "chat/completions" in call)


def versioned(text: str, version: str) -> str:
    return text.replace("  api_key_env: E2E_KEY\n", f"  api_key_env: E2E_KEY\n  api_version: {version}\n") if version \
        else text


@pytest.mark.parametrize("version", ["2025-04-01-preview", ""], ids=["api-version", "v1"])
def test_record_through_the_deployment_and_compare_with_itself(folder: Folder, version: str) -> None:
    f = folder
    rec = f.root / "rec"
    path = DEPLOYED if version else V1   # /openai/deployments/bot/..., or /openai/v1/... with model: bot
    f.write(versioned(specs(), version))
    assert f.run("apply", "--auto-approve").exit_code == 0
    f.sandbox.advance(6 * 3600)   # trained; its Deployment not applied yet

    refused = f.run("record", str(rec), "--auto-approve")
    assert refused.exit_code == 1
    [line] = [x for x in refused.output.splitlines() if "not deployed" in x]
    assert line.startswith("Error: FineTuningJob.bot: gpt-4o-mini-2024-07-18.ft-") and "kind: Deployment" in line
    assert chats(f) == 0 and not rec.exists()

    assert f.run("apply", "--auto-approve").exit_code == 0
    [deployment] = f.deployments()
    model = deployment["properties"]["model"]["name"]

    recorded = f.run("record", str(rec), "--target", "Deployment.bot", "--auto-approve", "--json")
    assert recorded.exit_code == 0, recorded.output
    [one] = json.loads(recorded.output)["recordings"]
    manifest = one["manifest"]
    assert (manifest["model"], manifest["deployment"], manifest["prompts"]) == (model, "bot", 12)
    assert manifest["job_id"] and manifest["complete"]
    assert chats(f) == f.sandbox.stats()[path] == 12
    assert one["estimate"]["cost"]["usd_max"] is None   # Azure's per-token price is not shipped
    assert "not in reconciler's data" in one["estimate"]["cost"]["reason"]

    default = f.run("record", str(rec), "--auto-approve", "--json")   # the job, through its deployment
    assert default.exit_code == 0, default.output
    assert [r["address"] for r in json.loads(default.output)["recordings"]] == ["FineTuningJob.bot"]
    assert chats(f) == f.sandbox.stats()[path] == 24

    itself = f.run("compare", str(rec), "--target", "Deployment.bot", "--against", "Deployment.bot",
                   "--auto-approve", "--json")
    assert itself.exit_code == 0, itself.output
    [report] = json.loads(itself.output)["comparisons"]
    assert report["summary"]["passed"] and report["summary"]["min"] == 1.0 and report["summary"]["count"] == 12
    job_vs_deployment = f.run("compare", str(rec), "--against", "Deployment.bot", "--auto-approve")
    assert job_vs_deployment.exit_code == 0, job_vs_deployment.output

    f.write(versioned(specs(extra=EVALUATION), version))
    evaluated = f.run("compare", "--evaluation", "Evaluation.keep", "--auto-approve")
    assert evaluated.exit_code == 0, evaluated.output
    assert chats(f) == 48
    plan = f.run("plan")
    assert "Evaluation.keep" in plan.output and "pass" in plan.output, plan.output


def test_a_deployment_deleted_by_hand_is_refused_in_one_line(folder: Folder) -> None:
    f = folder
    f.write(specs())
    assert f.run("apply", "--auto-approve").exit_code == 0
    f.sandbox.advance(6 * 3600)
    assert f.run("apply", "--auto-approve").exit_code == 0
    assert f.arm("DELETE", "/deployments/bot").status_code in (202, 204)   # the state still records it
    result = f.run("record", str(f.root / "rec"), "--target", "Deployment.bot", "--auto-approve")
    assert result.exit_code == 1
    [line] = [x for x in result.output.splitlines() if "does not exist" in x]
    assert "The API deployment for this resource does not exist" in line and "/v1?" not in line, result.output
