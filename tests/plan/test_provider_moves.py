"""Provider profiles in the planner (pure, no server): an object whose document now names
another provider than the state recorded is a replace whose reason names the move; the same
provider (spelt or implicit) is no change. Table-driven over the job world of cases/jobs.yaml."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.plan import harness

JOBS = yaml.safe_load((Path(__file__).parent / "cases" / "jobs.yaml").read_text())

PROVIDERS = """\
kind: Provider
name: team_a
spec: {api_key_env: TEAM_A_KEY}
---
kind: Provider
name: team_b
spec: {api_key_env: TEAM_B_KEY}
---
"""


def _specs(provider: str | None) -> str:
    spec: str = JOBS["x-spec-bot"]
    if provider is not None:
        spec = spec.replace("name: bot\n", f"name: bot\nprovider: {provider}\n", 1)
    return PROVIDERS + spec


def _state(recorded: str | None, status: str) -> dict[str, Any]:
    resource = copy.deepcopy(JOBS["x-state-bot-running" if status == "running" else "x-state-bot-succeeded"])
    if recorded is not None:
        resource["meta"]["provider"] = recorded
    return {"FineTuningJob.bot": resource}


def _snapshot(status: str) -> dict[str, Any]:
    return {"jobs": [JOBS["x-api-bot-running" if status == "running" else "x-api-bot-succeeded"]],
            "files": [JOBS["x-api-file-train0001"]]}


CASES = [
    # recorded, in the spec, job status -> action, first reason, steps (ops)
    (None, None, "running", "no-op", None, []),
    (None, "default", "running", "no-op", None, []),
    ("team_a", "team_a", "running", "no-op", None, []),
    (None, "team_b", "running", "replace", "provider changed: default → team_b", ["cancel_job", "create_job"]),
    ("team_a", "team_b", "running", "replace", "provider changed: team_a → team_b", ["cancel_job", "create_job"]),
    ("team_a", None, "running", "replace", "provider changed: team_a → default", ["cancel_job", "create_job"]),
    ("team_a", "team_b", "succeeded", "replace", "provider changed: team_a → team_b", ["forget", "create_job"]),
]


@pytest.mark.parametrize(("recorded", "wanted", "status", "action", "reason", "ops"), CASES,
                         ids=[f"{c[0]}->{c[1]}-{c[2]}" for c in CASES])
def test_provider_move_is_a_replace_with_the_reason(tmp_path: Path, recorded: str | None, wanted: str | None,
                                                    status: str, action: str, reason: str | None,
                                                    ops: list[str]) -> None:
    harness.write_case_files(tmp_path, _specs(wanted), None)
    plan = harness.make_plan(tmp_path, _state(recorded, status), _snapshot(status), None)
    change = next(c for c in plan.changes if c.address == "FineTuningJob.bot")
    assert change.action.value == action
    if reason is None:
        assert not any("provider" in r for r in change.reasons)
    else:
        assert change.reasons[0] == reason
        assert "replacement requested with --replace" not in change.reasons
        assert [s.op.value for s in change.steps][:2] == ops


def test_replace_requested_and_provider_move_keep_both_reasons(tmp_path: Path) -> None:
    harness.write_case_files(tmp_path, _specs("team_b"), None)
    plan = harness.make_plan(tmp_path, _state("team_a", "running"), _snapshot("running"),
                             {"replace": ["FineTuningJob.bot"]})
    change = plan.changes[0]
    assert change.reasons[:2] == ("provider changed: team_a → team_b", "replacement requested with --replace")
