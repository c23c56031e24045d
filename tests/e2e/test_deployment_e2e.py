"""kind: Deployment through the real CLI against the sandbox's ARM routes over HTTP: created once
its job's model exists, a second plan says no changes, capacity updated in place, a new model
replaced (delete, then create), a deployment deleted by hand or expired (Developer tier, 24 h of
sandbox clock) reported by drift and re-created by apply without training again, destroy deletes it.
The sandbox clock is stepped (advance), never slept on."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler_sandbox.testing import SandboxHandle, run_sandbox

from .conftest import chat_jsonl

KEY = "0123456789abcdef0123456789abcdef"   # the Azure resource's key
TOKEN = "arm-token-e2e-0123456789"
ACCOUNT = "/subscriptions/sub-e2e/resourceGroups/rg-e2e/providers/Microsoft.CognitiveServices/accounts/acct-e2e"


def specs(sku: str = "standard", capacity: int = 2, suffix: str = "bot", extra: str = "") -> str:
    return textwrap.dedent(f"""\
    kind: Provider
    name: default
    spec:
      type: azure
      endpoint: MGMT
      api_key_env: E2E_KEY
      subscription_id: sub-e2e
      resource_group: rg-e2e
      account: acct-e2e
      management_url: MGMT
      management_token_env: E2E_ARM_TOKEN
    ---
    kind: File
    name: train
    spec: {{path: data/train.jsonl}}
    ---
    kind: FineTuningJob
    name: bot
    spec:
      model: gpt-4o-mini
      training_file: ${{File.train.id}}
      suffix: {suffix}
    ---
    kind: Deployment
    name: bot
    spec:
      model: ${{FineTuningJob.bot.fine_tuned_model}}
      sku: {{name: {sku}, capacity: {capacity}}}
    """) + extra


class Folder:
    def __init__(self, sandbox: SandboxHandle, root: Path):
        self.sandbox, self.root = sandbox, root
        (root / "specs" / "data").mkdir(parents=True)
        (root / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
        self.runner = CliRunner()

    def write(self, text: str) -> None:
        (self.root / "specs" / "main.yaml").write_text(text.replace("MGMT", self.sandbox.url))

    def run(self, *args: str, token: str = TOKEN) -> Result:
        env = {"E2E_KEY": KEY, "E2E_ARM_TOKEN": token, "RECONCILER_ALLOWED_BASE_URLS": self.sandbox.url, "NO_COLOR": "1", "RECONCILER_CACHE_DIR": "off"}
        return self.runner.invoke(cli, ["-C", str(self.root / "specs"), "--state",
                                        str(self.root / "state" / "default.json"), *args], env=env)

    def arm(self, method: str, path: str) -> httpx.Response:
        return httpx.request(method, f"{self.sandbox.url}{ACCOUNT}{path}?api-version=2025-06-01",
                             headers={"Authorization": f"Bearer {TOKEN}"})

    def deployments(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.arm("GET", "/deployments").json()["value"]
        return found

    def jobs(self) -> int:
        return len(self.sandbox.world.jobs.items)


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Folder]:
    with run_sandbox(flavor="azure", azure_key=KEY) as sandbox:
        sandbox.world.arm_provisioning_seconds = 0.0   # the operation is done at its first poll
        yield Folder(sandbox, tmp_path)


def trained(f: Folder) -> None:
    """Apply (the deployment waits for the job), then step the clock past the training."""
    result = f.run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Deployment.bot" in result.output and f.deployments() == []
    f.sandbox.advance(6 * 3600)


def test_create_no_changes_update_replace_destroy(folder: Folder) -> None:
    f = folder
    f.write(specs())
    plan = f.run("plan")
    assert plan.exit_code in (0, 2), plan.output
    assert "? Deployment.bot" in plan.output
    # where the management token goes is reviewed with the keys
    assert f"management:    {f.sandbox.url} (token: E2E_ARM_TOKEN (management_token_env))" in plan.output
    trained(f)
    result = f.run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    [dep] = f.deployments()
    assert dep["name"] == "bot" and dep["sku"] == {"name": "Standard", "capacity": 2}
    model = dep["properties"]["model"]["name"]
    assert model.startswith("gpt-4o-mini-2024-07-18.ft-") and len(model.split(".ft-")[1]) == 32   # trained here
    assert dep["properties"]["provisioningState"] == "Succeeded"
    again = f.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.output, again.output
    inventory = json.loads(f.run("inventory", "--json").output)
    [model] = inventory["models"]
    assert model["deployments"] == [{"name": "bot", "sku": "Standard", "capacity": 2, "address": "Deployment.bot"}]
    assert "deployment bot (Standard x2)" in f.run("inventory").output

    f.write(specs(capacity=5))
    update = f.run("plan")
    assert "~ Deployment.bot" in update.output and "set bot's capacity to 5" in update.output, update.output
    assert f.run("apply", "--auto-approve").exit_code == 0
    assert f.deployments()[0]["sku"]["capacity"] == 5
    assert f.deployments()[0]["id"] == dep["id"]

    f.write(specs(sku="globalstandard", capacity=5))
    replace = f.run("plan")
    assert "-/+ Deployment.bot" in replace.output and "- delete deployment bot" in replace.output, replace.output
    assert f.run("apply", "--auto-approve").exit_code == 0
    assert f.deployments()[0]["sku"] == {"name": "GlobalStandard", "capacity": 5}

    jobs = f.jobs()
    destroy = f.run("destroy", "--auto-approve")
    assert destroy.exit_code == 0, destroy.output
    assert f.deployments() == [] and f.jobs() == jobs


def test_deleted_by_hand_is_drift_and_apply_recreates_without_training(folder: Folder) -> None:
    f = folder
    f.write(specs())
    trained(f)
    assert f.run("apply", "--auto-approve").exit_code == 0
    jobs = f.jobs()
    assert f.arm("DELETE", "/deployments/bot").status_code in (200, 202, 204)
    drift = f.run("drift")
    assert drift.exit_code == 2, drift.output
    assert "deployment bot was deleted outside reconciler" in drift.output
    result = f.run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert [d["name"] for d in f.deployments()] == ["bot"] and f.jobs() == jobs
    assert f.run("plan", "--detailed-exitcode").exit_code == 0


def test_developer_tier_expires_after_24_hours_of_sandbox_clock(folder: Folder) -> None:
    f = folder
    f.write(specs(sku="developer", capacity=1))
    trained(f)
    assert f.run("apply", "--auto-approve").exit_code == 0
    assert f.deployments()[0]["sku"]["name"] == "DeveloperTier"
    f.sandbox.advance(23 * 3600)
    assert len(f.deployments()) == 1
    f.sandbox.advance(2 * 3600)
    assert f.deployments() == []
    assert "was deleted outside reconciler" in f.run("drift").output
    jobs = f.jobs()
    synced = f.run("sync")
    assert synced.exit_code == 0, synced.output
    assert [d["sku"]["name"] for d in f.deployments()] == ["DeveloperTier"] and f.jobs() == jobs


def test_a_deployment_needs_a_provider_with_an_arm_account(folder: Folder) -> None:
    f = folder
    text = specs().replace("  subscription_id: sub-e2e\n  resource_group: rg-e2e\n  account: acct-e2e\n"
                           "  management_url: MGMT\n  management_token_env: E2E_ARM_TOKEN\n", "")
    assert "subscription_id" not in text
    f.write(text)
    result = f.run("validate")
    assert result.exit_code == 1
    assert "Deployment.bot" in result.output and "Azure Resource Manager" in result.output


def test_a_wrong_management_token_is_refused_and_never_printed(folder: Folder, monkeypatch: Any) -> None:
    monkeypatch.setenv("AZURE_MANAGEMENT_TOKEN", TOKEN)   # the sandbox's valid token
    f = folder
    f.write(specs())
    trained(f)
    wrong = "arm-token-wrong-0123456789"
    result = f.run("apply", "--auto-approve", token=wrong)
    assert result.exit_code != 0
    assert "InvalidAuthenticationToken" in result.output
    assert wrong not in result.output and TOKEN not in result.output
    assert f.deployments() == []
    debug = f.run("--debug", "apply", "--auto-approve")
    assert debug.exit_code == 0 and f.deployments()
    assert TOKEN not in debug.output and TOKEN not in (debug.stderr_bytes or b"").decode()


BUDGET = """\
---
kind: Settings
name: default
spec:
  budgets: {max_cost_per_apply: 1000}
"""


def test_hosting_cost_is_shown_and_an_unknown_one_fails_the_budget_closed(folder: Folder) -> None:
    f = folder
    f.write(specs(extra=BUDGET))
    plan = f.run("plan")
    assert "Estimated hosting: unknown" in plan.output, plan.output
    refused = f.run("apply", "--auto-approve")
    assert refused.exit_code != 0 and f.jobs() == 0, refused.output
    priced = BUDGET + "  hosting_prices:\n    - {sku: standard, per_hour: 2.0, source: 'https://example.invalid/p'}\n"
    f.write(specs(extra=priced))
    plan = f.run("plan")
    assert "Estimated hosting: $1,460.00 / month (1 deployment)" in plan.output, plan.output
    assert "over the budget" in plan.output and "a month of hosting counted: $1,460.00" in plan.output
    assert f.run("apply", "--auto-approve").exit_code != 0 and f.jobs() == 0


def test_azure_serving_end_is_shown_in_plan_and_drift_health(tmp_path: Path) -> None:
    import datetime as dt

    start = dt.datetime(2026, 12, 20, tzinfo=dt.UTC).timestamp()   # OpenAI still creates jobs
    with run_sandbox(now=start, flavor="azure", azure_key=KEY) as sandbox:
        sandbox.world.arm_provisioning_seconds = 0.0
        f = Folder(sandbox, tmp_path)
        f.write(specs())
        trained(f)
        plan = f.run("plan")
        # gpt-4o-mini fine-tunes: Azure deployment retirement 2027-10-01 (lifecycle data, platform azure)
        assert "will stop answering on 2027-10-01" in plan.output, plan.output
        assert f.run("apply", "--auto-approve").exit_code == 0
        for _ in range(doubles := 27):   # ten days at a time, with a call each time: never idle 15 days
            sandbox.advance(10 * 86400)
            assert _chat(sandbox, "bot") == 200
        assert doubles * 10 == (dt.date(2027, 9, 16) - dt.date(2026, 12, 20)).days
        drift = f.run("drift")
        assert "deployment of gpt-4o-mini-2024-07-18.ft-" in drift.output and "stops serving on 2027-10-01" in drift.output, \
            drift.output
        answers = []
        for _ in range(2):
            sandbox.advance(10 * 86400)
            answers.append(_chat(sandbox, "bot"))
        assert answers == [200, 404]   # 2027-09-26 answered; 2027-10-06 past Azure's retirement
        assert "stopped serving on 2027-10-01" in f.run("drift").output
        assert "stopped serving on 2027-10-01" in f.run("plan").output
        f.run("state", "rm", "Deployment.bot")
        assert f.arm("DELETE", "/deployments/bot").status_code in (202, 204)
        sandbox.advance(120)
        refused = f.run("plan")
        assert refused.exit_code == 1 and "Azure retired deployments of fine-tunes of gpt-4o-mini" in refused.output


def _chat(sandbox: SandboxHandle, deployment: str) -> int:
    """One chat call through the deployment: what keeps it from idling."""
    answer = httpx.post(f"{sandbox.url}/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21",
                        headers={"api-key": KEY}, json={"messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code in (200, 404), answer.text
    return answer.status_code


def test_a_deployment_made_but_not_recorded_is_adopted_never_made_twice(folder: Folder) -> None:
    """What a crash between the PUT and the state record leaves: the next plan adopts it."""
    f = folder
    f.write(specs())
    trained(f)
    assert f.run("apply", "--auto-approve").exit_code == 0
    assert f.run("state", "rm", "Deployment.bot").exit_code == 0
    plan = f.run("plan")
    assert "= Deployment.bot" in plan.output and "already serves this model" in plan.output, plan.output
    puts = f.sandbox.stats().get("PUT arm", 0)
    assert f.run("apply", "--auto-approve").exit_code == 0
    assert f.sandbox.stats().get("PUT arm", 0) == puts and len(f.deployments()) == 1
    assert f.run("plan", "--detailed-exitcode").exit_code == 0


def test_a_stranger_deployment_of_the_same_name_is_refused(folder: Folder) -> None:
    f = folder
    f.write(specs())
    trained(f)
    made = httpx.put(f"{f.sandbox.url}{ACCOUNT}/deployments/bot?api-version=2025-06-01",
                     headers={"Authorization": f"Bearer {TOKEN}"},
                     json={"sku": {"name": "Standard", "capacity": 9},
                           "properties": {"model": {"format": "OpenAI", "name": "gpt-4.1-mini-2025-04-14"}}})
    assert made.status_code == 201
    plan = f.run("plan")
    assert plan.exit_code == 1 and "already exists in the account" in plan.output, plan.output
    assert f.deployments()[0]["sku"]["capacity"] == 9


def test_a_replace_interrupted_after_its_delete_completes_on_the_next_run(folder: Folder) -> None:
    """What a kill after the DELETE of a replace leaves: the state still names the old deployment,
    Azure is deleting it. The next plan creates it; apply waits for the deletion, then creates."""
    f = folder
    f.write(specs())
    trained(f)
    assert f.run("apply", "--auto-approve").exit_code == 0
    f.sandbox.world.arm_provisioning_seconds = 3600.0   # the deletion takes an hour of sandbox clock
    assert f.arm("DELETE", "/deployments/bot").status_code == 202
    assert f.deployments()[0]["properties"]["provisioningState"] == "Deleting"
    f.write(specs(sku="globalstandard"))
    plan = f.run("plan")
    assert "+ Deployment.bot" in plan.output and "deleted outside reconciler" in plan.output, plan.output
    f.sandbox.advance(3601)
    f.sandbox.world.arm_provisioning_seconds = 0.0
    assert f.run("apply", "--auto-approve").exit_code == 0
    assert [d["sku"]["name"] for d in f.deployments()] == ["GlobalStandard"]
