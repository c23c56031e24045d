"""Recorded real answers (fixtures/answers.json, each with its source) replayed over a real socket
to reconciler's API client, refresh + planner, report gathering and the CLI: the shapes the real
API answers with are read right (error object of nulls, checkpoint names, base64 result files,
null finished_at on failure, DPO's null top-level hyperparameters, unknown extra fields, missing
optional fields). Every endpoint reconciler reads is served here and asserted to be read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.api.client import ApiClient
from reconciler.cli import cli
from reconciler.errors import ReconcilerError
from reconciler.kinds import registry
from reconciler.kinds.job.inputs import inputs_digest, inputs_from_spec
from reconciler.loading import load_specs
from reconciler.plan.model import Plan
from reconciler.planner.build import PlanOptions
from reconciler.planner.refresh import build_plan
from reconciler.report.gather import parse_result_csv
from tests.plan.harness import _state, project

from .server import Replay, load_answers, serve

KEY = "sk-proj-replay-0123456789abcdef"
ADMIN = "sk-admin-replay-0123456789abcdef"
NOW = 1767225600  # 2026-01-01: every replayed job is long past its creation


@pytest.fixture(scope="module")
def replay() -> Iterator[Replay]:
    with serve() as r:
        yield r


@pytest.fixture
def client(replay: Replay) -> Iterator[ApiClient]:
    with ApiClient(replay.base_url, KEY, ADMIN, max_retries=0) as c:
        yield c


# ---- the client: every endpoint reconciler reads -------------------------------------------------

def test_fixtures_name_their_source() -> None:
    answers = load_answers()
    for group in ("jobs", "events", "checkpoints", "results", "errors", "permissions"):
        for name, entry in answers[group].items():
            assert entry.get("source"), f"{group}.{name} has no source"
    assert answers["files"]["source"]


def test_client_reads_jobs_as_answered(client: ApiClient, replay: Replay) -> None:
    listed = {j["id"]: j for j in client.list_jobs()}
    assert set(listed) == set(replay.jobs)
    running = client.get_job("ftjob-I3ZxS2477o4IhMPQqH2PMKto")
    assert running["error"] == {"code": None, "message": None, "param": None} and running["status"] == "running"
    failed = listed["ftjob-a308vfcPA0tSNMeqFdkRDuX4"]
    assert failed["finished_at"] is None and failed["error"]["code"] == "invalid_n_examples"
    assert listed["ftjob-rECaQPZd0I5N2rYDF1mhwIXT"]["hyperparameters"] is None
    assert "method" not in listed["ftjob-84PQg97hoIAKf21IPnhiNlU1"]  # missing optional field kept missing
    assert listed["ftjob-abc"]["x_replay_unknown_field"]["nested"] == [1, 2, 3]  # unknown field passes through


def test_client_reads_events_checkpoints_files_and_grants(client: ApiClient, replay: Replay) -> None:
    events = list(client.list_events("ftjob-I3ZxS2477o4IhMPQqH2PMKto"))
    assert [e["data"] for e in events[1:3]] == [None, {}]
    checkpoints = list(client.list_checkpoints("ftjob-84PQg97hoIAKf21IPnhiNlU1"))
    assert checkpoints[0]["fine_tuned_model_checkpoint"] == "ft:gpt-3.5-turbo-0125:openai-gtm:drone:9atiPjeC"
    files = {f["id"]: f for f in client.list_files()}
    assert files["file-8cfhES3s4PHGUmbtTpwjaN"]["status_details"] is None
    assert "expires_at" not in files["file-8cfhES3s4PHGUmbtTpwjaN"]
    meta = client.get_file("file-F6XPJFLVG9f3mR04KBmwUI9H")
    assert meta["purpose"] == "fine-tune-results"
    content = client.download_file("file-F6XPJFLVG9f3mR04KBmwUI9H", size=meta["bytes"])
    assert not content.startswith(b"step")  # base64 on the wire
    grants = list(client.list_permissions("ft:gpt-3.5-turbo-0125:openai-gtm:drone:9atiPjeC"))
    assert [g["project_id"] for g in grants] == ["proj_abGMw1llN8IrBb6SvvY5A1iH", "proj_iqGMw1llN8IrBb6SvvY5A1oF"]


def test_client_reports_the_assistants_download_refusal(client: ApiClient) -> None:
    with pytest.raises(ReconcilerError) as info:
        client.download_file("file-assistantsNotes00001")
    assert "Not allowed to download files of purpose: assistants" in str(info.value)
    assert "\n" not in str(info.value).strip()


def test_result_file_base64_becomes_training_curves(client: ApiClient) -> None:
    series = {s.name: s for s in parse_result_csv(client.download_file("file-F6XPJFLVG9f3mR04KBmwUI9H"))}
    assert series["train_loss"].points[:2] == ((1.0, 3.63265), (2.0, 2.45992))
    assert len(series["train_loss"].points) == 6 and "valid_loss" not in series


# ---- refresh + planner over the real shapes ------------------------------------------------------

JOB_SPECS = {
    # the spec each replayed job was created from (as the answers show it)
    "running": {"model": "gpt-4o-mini-2024-07-18", "training_file": "file-8cfhES3s4PHGUmbtTpwjaN"},
    "too_few": {"model": "gpt-4o-mini-2024-07-18", "training_file": "file-JkuxKcmxbqpiLxzi9AtS9U"},
    "dpo_failed": {"model": "gpt-4o-2024-08-06", "training_file": "file-JkuxKcmxbqpiLxzi9AtS9U",
                   "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}},
    "succeeded": {"model": "gpt-3.5-turbo-0125", "training_file": "file-blg0IytwIivZQzc9mbfnS8Pm",
                  "suffix": "drone"},
    "dpo_queued": {"model": "gpt-4o-mini", "training_file": "file-abc", "validation_file": "file-123",
                   "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}},
}


def _yaml_docs(extra: str = "") -> str:
    docs = []
    for name, spec in JOB_SPECS.items():
        docs.append(json.dumps({"kind": "FineTuningJob", "name": name, "spec": spec}))
    return "\n---\n".join(docs) + extra


def _state_dict(replay: Replay) -> dict[str, Any]:
    resources = {}
    for name, spec in JOB_SPECS.items():
        job = replay.job(name)
        inputs = inputs_from_spec(spec)
        resources[f"FineTuningJob.{name}"] = {
            "kind": "FineTuningJob", "id": job["id"], "inputs": inputs, "digest": inputs_digest(inputs),
            "attributes": {"id": job["id"], "status": "running", "model": job["model"]},
            "depends_on": [], "meta": {"settings": {"status": "running", "cancel_after_timeout": None}}}
    return resources


DATA_SOURCES = """
---
kind: data.FineTuningJobCheckpoints
name: ckpts
spec:
  fine_tuning_job_id: ftjob-84PQg97hoIAKf21IPnhiNlU1
  select: {step: 48}
---
kind: data.FineTuningJob
name: drone
spec:
  id: ftjob-84PQg97hoIAKf21IPnhiNlU1
---
kind: CheckpointPermission
name: share_step
spec:
  fine_tuned_model_checkpoint: ${data.FineTuningJobCheckpoints.ckpts.fine_tuned_model_checkpoint}
  project_ids: [proj_replay]
---
kind: CheckpointPermission
name: share_model
spec:
  fine_tuned_model_checkpoint: ${data.FineTuningJob.drone.fine_tuned_model}
  project_ids: [proj_abGMw1llN8IrBb6SvvY5A1iH, proj_iqGMw1llN8IrBb6SvvY5A1oF]
  exclusive: false
"""


def _plan(replay: Replay, tmp_path: Path, extra: str = "") -> Plan:
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    (spec_dir / "main.yaml").write_text(_yaml_docs(extra), encoding="utf-8")
    specs = load_specs(spec_dir, {})
    with ApiClient(replay.base_url, KEY, ADMIN, max_retries=0) as reader:
        return build_plan(specs, _state(_state_dict(replay)), reader, PlanOptions(kinds=registry), clock=lambda: NOW)


def test_plan_reads_real_job_shapes(replay: Replay, tmp_path: Path) -> None:
    projected = project(_plan(replay, tmp_path))
    actions = {c["address"]: c["action"] for c in projected["changes"]}
    # nothing is replaced or re-created: null top-level hyperparameters (DPO), a missing `method`
    # (an older answer), an unknown extra field and an error object of nulls change nothing
    assert actions == {f"FineTuningJob.{name}": "no-op" for name in JOB_SPECS}, projected
    health = set(projected.get("health") or [])
    # only the two failed jobs are unhealthy; the error object of nulls on the others is no failure
    assert health == {"FineTuningJob.too_few: failed", "FineTuningJob.dpo_failed: failed"}, projected
    assert not projected.get("drift"), projected


def test_plan_health_carries_the_real_error_message(replay: Replay, tmp_path: Path) -> None:
    plan = _plan(replay, tmp_path)
    by_address = {h.address: h for h in plan.health}
    assert "Training file has 7 example(s), but must have at least 10 examples" in \
        by_address["FineTuningJob.too_few"].message
    assert by_address["FineTuningJob.too_few"].error["code"] == "invalid_n_examples"


def test_data_sources_read_real_checkpoint_names(replay: Replay, tmp_path: Path) -> None:
    projected = project(_plan(replay, tmp_path, DATA_SOURCES))
    changes = {c["address"]: c for c in projected["changes"]}
    step = changes["CheckpointPermission.share_step"]
    assert step["action"] == "create"
    assert "checkpoint=ft:gpt-3.5-turbo-0125:openai-gtm:drone:7q8mpxmy:ckpt-step-48" in step["steps"][0]
    # the final checkpoint is the model itself: its grants are read under that name and already exist
    model = changes["CheckpointPermission.share_model"]
    assert model["action"] == "adopt" and model["reasons"] == ["all listed projects are already granted"], model
    assert "GET /v1/fine_tuning/checkpoints/ft:gpt-3.5-turbo-0125:openai-gtm:drone:9atiPjeC/permissions" in \
        replay.requests


# ---- the CLI: plan and drift report over the replayed API ----------------------------------------

def test_cli_plan_and_drift_over_real_shapes(replay: Replay, tmp_path: Path) -> None:
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    (spec_dir / "main.yaml").write_text(_yaml_docs(), encoding="utf-8")
    state_file = tmp_path / "state" / "default.json"
    state_file.parent.mkdir()
    state_file.write_text(json.dumps({"format_version": 1, "lineage": "5f0c4c8e-2d7a-4f7e-9a51-0c1d2e3f4a5b",
                                      "serial": 1, "reconciler_version": "0.1.0",
                                      "resources": _state_dict(replay)}), encoding="utf-8")
    env = {"OPENAI_BASE_URL": replay.base_url, "OPENAI_API_KEY": KEY, "OPENAI_ADMIN_KEY": ADMIN, "NO_COLOR": "1"}
    runner = CliRunner()
    result = runner.invoke(cli, ["plan", "-C", str(spec_dir), "--state", str(state_file), "--json"], env=env)
    assert result.exit_code in (0, 2), result.output
    plan = json.loads(result.stdout)   # stderr warns: the recorded job's gpt-3.5-turbo-0125 is not trainable now
    failed = {h["address"] for h in plan["health"] if h["status"] == "failed"}
    assert failed == {"FineTuningJob.too_few", "FineTuningJob.dpo_failed"}
    assert all(c["action"] in ("no-op", "noop") for c in plan.get("changes", plan.get("resource_changes", [])))


def test_cli_drift_over_real_shapes(replay: Replay, tmp_path: Path) -> None:
    """drift: the two failed jobs are health findings with the API's own message; the running job,
    left out of specs and state here, is reported as unmanaged; nothing else drifts."""
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    kept = {k: v for k, v in JOB_SPECS.items() if k != "running"}
    (spec_dir / "main.yaml").write_text("\n---\n".join(
        json.dumps({"kind": "FineTuningJob", "name": n, "spec": s}) for n, s in kept.items()), encoding="utf-8")
    resources = {k: v for k, v in _state_dict(replay).items() if k != "FineTuningJob.running"}
    state_file = tmp_path / "state" / "default.json"
    state_file.parent.mkdir()
    state_file.write_text(json.dumps({"format_version": 1, "lineage": "5f0c4c8e-2d7a-4f7e-9a51-0c1d2e3f4a5b",
                                      "serial": 1, "reconciler_version": "0.1.0", "resources": resources}),
                          encoding="utf-8")
    env = {"OPENAI_BASE_URL": replay.base_url, "OPENAI_API_KEY": KEY, "OPENAI_ADMIN_KEY": ADMIN, "NO_COLOR": "1"}
    result = CliRunner().invoke(cli, ["drift", "-C", str(spec_dir), "--state", str(state_file), "--format", "text",
                                      "--fail-on", "any"], env=env)
    assert result.exit_code == 2, result.output
    text = result.stdout
    assert text.splitlines()[0] == ("DRIFTED: 1 address(es) drifted (1 unmanaged job); health: 2 failed "
                                    "(4 managed objects checked)"), text
    assert "job ftjob-I3ZxS2477o4IhMPQqH2PMKto (running, gpt-4o-mini-2024-07-18) is not declared in any spec" in text
    assert "FineTuningJob.too_few: job ftjob-a308vfcPA0tSNMeqFdkRDuX4 failed: Training file has 7 example(s), " \
        "but must have at least 10 examples" in text
    findings, _, models = text.partition("\nFine-tuned models and when they stop answering:\n")
    for name in ("succeeded", "dpo_queued"):
        assert f"FineTuningJob.{name}" not in findings, name  # error of nulls, null hyperparameters: no finding
    # the recorded model's base (gpt-3.5-turbo-0125) has no end date in the data and the replay
    # serves no models listing: listed, with no end known
    assert models == "  - FineTuningJob.succeeded: ft:gpt-3.5-turbo-0125:openai-gtm:drone:9atiPjeC (openai): " \
        "no end date known\n", text
