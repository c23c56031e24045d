"""Reading Terraform state (format 4) and adopting it into reconciler's state."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reconciler.convert import TerraformStateError, adopt, read_tfstate
from reconciler.convert.tfstate import scan_tfstate
from reconciler.state import ResourceState, StateStore

from .helpers import FIXTURES, run_cli

TFSTATE = FIXTURES / "terraform.tfstate"
CHECKPOINT = "ft:gpt-3.5-turbo-0125:acme:customer-support-v2:abc123"


def test_read_tfstate_maps_addresses_and_ids() -> None:
    found = {r.address: r for r in read_tfstate(TFSTATE)}
    assert set(found) == {"File.training_data", "FineTuningJob.custom_model", "CheckpointPermission.share"}
    assert (found["File.training_data"].kind, found["File.training_data"].id) == ("File", "file-train0001")
    job = found["FineTuningJob.custom_model"]
    assert (job.id, job.tf_address, job.depends_on) == ("ftjob-custom0001", "openai_fine_tuning_job.custom_model",
                                                        ["File.training_data"])
    assert job.attributes["status"] == "succeeded"
    # a block list of one (SDKv2 providers) is unwrapped into the object the API returns
    assert job.attributes["hyperparameters"] == {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 0.1}
    perm = found["CheckpointPermission.share"]
    assert perm.id == CHECKPOINT
    assert perm.attributes == {"fine_tuned_model_checkpoint": CHECKPOINT, "permissions": [
        {"id": "cp_first0001", "project_id": "proj_a", "created_at": 1700000100, "object": "checkpoint.permission"},
        {"id": "cp_second0002", "project_id": "proj_b", "created_at": 1700000101, "object": "checkpoint.permission"}]}
    assert perm.inputs == {"fine_tuned_model_checkpoint": CHECKPOINT, "project_ids": ["proj_a", "proj_b"],
                           "exclusive": False}


def test_skipped_instances_are_listed() -> None:
    _, skipped = scan_tfstate(TFSTATE)
    whats = {n.what: n.reason for n in skipped}
    assert "count/for_each" in whats["openai_fine_tuning_job.sweep[0]"]
    assert "count/for_each" in whats["openai_fine_tuning_job.sweep[1]"]
    assert "data sources" in whats["data.openai_fine_tuning_jobs.all"]
    assert "legacy" in whats["openai_finetune.legacy"]
    assert "not managed" in whats["aws_s3_object.data"]
    assert "modules" in whats["module.team.openai_file.inner"]


def test_permission_with_a_single_grant_shape() -> None:
    """The generated provider's resource records one permission at the top level (id cp_..., project_id)."""
    found = _scan_one({"fine_tuned_model_checkpoint": "ft:x", "project_ids": ["proj_a"], "id": "cp_1",
                       "project_id": "proj_a"}, "openai_fine_tuning_checkpoint_permission")
    assert found.attributes["permissions"] == [{"id": "cp_1", "project_id": "proj_a"}]
    assert found.inputs["project_ids"] == ["proj_a"]


def _scan_one(attributes: dict, type_: str):  # type: ignore[no-untyped-def]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.tfstate"
        path.write_text(json.dumps({"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "l",
                                    "outputs": {}, "resources": [{
                                        "mode": "managed", "type": type_, "name": "x", "provider": "p",
                                        "instances": [{"schema_version": 0, "attributes": attributes}]}]}))
        (found,) = read_tfstate(path)
        return found


@pytest.mark.parametrize("content, message", [
    ('{"version": 3, "serial": 1, "modules": []}', "format version 3 is not supported"),
    ("{not json", "not valid JSON at line 1"),
    ('{"resources": []}', "not a Terraform state file"),
])
def test_unreadable_tfstate(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "terraform.tfstate"
    path.write_text(content)
    with pytest.raises(TerraformStateError) as info:
        read_tfstate(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_adopt_writes_state_once(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state" / "default.json")
    report = adopt(TFSTATE, store, None)
    assert [a.address for a in report.adopted] == ["File.training_data", "FineTuningJob.custom_model",
                                                   "CheckpointPermission.share"]
    assert report.state_written
    state = StateStore(tmp_path / "state" / "default.json").load()
    assert state.serial == 1  # one write
    job = state.resources["FineTuningJob.custom_model"]
    assert (job.kind, job.id, job.inputs, job.depends_on) == ("FineTuningJob", "ftjob-custom0001", {},
                                                              ["File.training_data"])
    assert job.meta == {"imported_from": "terraform", "needs_refresh": True,
                        "terraform_address": "openai_fine_tuning_job.custom_model"}
    perm = state.resources["CheckpointPermission.share"]
    assert perm.id == CHECKPOINT and perm.inputs["project_ids"] == ["proj_a", "proj_b"]
    assert not (tmp_path / "state" / "default.json.lock").exists()


def test_adopt_refuses_addresses_already_in_state(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    state = store.load()
    state.set(ResourceState(address="File.training_data", kind="File", id="file-other"))
    store.write(state)
    report = adopt(TFSTATE, StateStore(tmp_path / "s.json"), None)
    assert "File.training_data" not in [a.address for a in report.adopted]
    assert any(n.what == "File.training_data" and "already in reconciler's state (file-other)" in n.reason
               for n in report.skipped)
    after = StateStore(tmp_path / "s.json").load()
    assert after.resources["File.training_data"].id == "file-other"
    assert after.serial == 2
    # nothing left to adopt: no write at all
    again = adopt(TFSTATE, StateStore(tmp_path / "s.json"), None)
    assert not again.adopted and not again.state_written
    assert StateStore(tmp_path / "s.json").load().serial == 2


def test_adopt_warns_about_addresses_missing_from_specs(tmp_path: Path) -> None:
    from reconciler.loading import load_specs

    out = tmp_path / "specs"
    assert run_cli("convert", "terraform", str(FIXTURES / "seed001"), "--out", str(out)).exit_code == 0
    specs = load_specs(out, {})
    report = adopt(TFSTATE, StateStore(tmp_path / "s.json"), specs)
    missing = [n.what for n in report.warnings if "not declared in the specs" in n.reason]
    assert missing == ["CheckpointPermission.share"]


def test_import_terraform_cli(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    assert run_cli("convert", "terraform", str(FIXTURES / "seed001"), "--out", str(out)).exit_code == 0
    state_file = tmp_path / "state.json"
    # As users type it: `reconciler state import-terraform` (the command lives under `state`).
    result = run_cli("state", "import-terraform", str(TFSTATE), "-C", str(out), "--state", str(state_file))
    assert result.exit_code == 0, result.output
    assert "adopted FineTuningJob.custom_model (ftjob-custom0001) from openai_fine_tuning_job.custom_model" \
        in result.stdout
    assert "skipped openai_fine_tuning_job.sweep[0]:" in result.stdout
    assert "warning: CheckpointPermission.share: not declared in the specs" in result.stdout
    assert "3 resources adopted into" in result.stdout
    assert json.loads(state_file.read_text())["resources"]["File.training_data"]["id"] == "file-train0001"


def test_adopt_respects_the_state_lock(tmp_path: Path) -> None:
    from reconciler.errors import StateLockedError

    store = StateStore(tmp_path / "s.json")
    with store.lock("apply"), pytest.raises(StateLockedError):
        adopt(TFSTATE, StateStore(tmp_path / "s.json"), None)
    assert not (tmp_path / "s.json").exists()


def test_convert_group_lists_terraform() -> None:
    result = run_cli("convert", "--help")
    assert result.exit_code == 0
    assert re.search(r"^\s+terraform\s+Convert Terraform", result.stdout, re.MULTILINE), result.stdout


@pytest.mark.parametrize("type_, attributes, address, object_id, expect", [
    # mkdev-me: the permission's checkpoint is checkpoint_id
    ("openai_fine_tuning_checkpoint_permission", {"id": "cp_1", "checkpoint_id": "ft:x", "project_ids": ["proj_a"]},
     "CheckpointPermission.x", "ft:x", {"fine_tuned_model_checkpoint": "ft:x"}),
    # skyscrapr 1.x and mkdev-me 1.x name the job resource differently
    ("openai_finetuning_job", {"id": "ftjob-1", "training_file": "file-1", "wait": True},
     "FineTuningJob.x", "ftjob-1", {"training_file": "file-1"}),
    ("openai_fine_tuned_model", {"id": "ftjob-3", "training_file": "file-3"},
     "FineTuningJob.x", "ftjob-3", {"training_file": "file-3"}),
    # HappyPathway: openai_fine_tune with training_file_id
    ("openai_fine_tune", {"id": "ftjob-2", "object_id": "ftjob-2", "training_file_id": "file-2"},
     "FineTuningJob.x", "ftjob-2", {"training_file": "file-2"}),
    ("openai_file", {"id": "file-9", "file_path": "./t.jsonl", "filename": "t.jsonl", "purpose": "fine-tune"},
     "File.x", "file-9", {"purpose": "fine-tune"}),
])
def test_other_providers_state_shapes_are_adopted(type_: str, attributes: dict, address: str,  # type: ignore[type-arg]
                                                  object_id: str, expect: dict) -> None:  # type: ignore[type-arg]
    found = _scan_one(attributes, type_)
    assert (found.address, found.id) == (address, object_id)
    for key, value in expect.items():
        assert found.attributes[key] == value


@pytest.mark.parametrize("attributes, reason", [
    ({"id": "file-1", "file_path": "./k.pdf", "filename": "k.pdf", "purpose": "assistants"}, "purpose 'assistants'"),
    ({"id": "file-2", "filename": "i.jsonl", "content": "{}", "purpose": "fine-tune"}, "inline content"),
])
def test_files_the_specs_cannot_manage_are_not_adopted(tmp_path: Path, attributes: dict,  # type: ignore[type-arg]
                                                       reason: str) -> None:
    path = tmp_path / "t.tfstate"
    path.write_text(json.dumps({"version": 4, "resources": [{
        "mode": "managed", "type": "openai_file", "name": "x", "provider": "p",
        "instances": [{"schema_version": 0, "attributes": attributes}]}]}))
    found, skipped = scan_tfstate(path)
    assert found == []
    assert [n.what for n in skipped] == ["openai_file.x"] and reason in skipped[0].reason
