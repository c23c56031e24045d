"""Every HCL example of the seeds converts, and the output passes `reconciler validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import FIXTURES, SEEDS, docs_by_address, load_docs, run_cli

SEED000 = FIXTURES / "seed000"


def convert(tmp_path: Path, *inputs: Path, extra: tuple[str, ...] = ()) -> tuple[Path, object]:
    out = tmp_path / "specs"
    result = run_cli("convert", "terraform", *map(str, inputs), "--out", str(out), *extra)
    return out, result


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_converts_and_validates(tmp_path: Path, seed: str) -> None:
    out, result = convert(tmp_path, FIXTURES / seed)
    assert result.exit_code == 0, result.stderr
    written = sorted(out.glob("*.yaml"))
    assert written, "nothing written"
    for file in written:
        text = file.read_text()
        assert text.startswith(f"# converted from {file.stem}.tf by reconciler convert terraform\n")
        assert "$schema=" not in text and "site-packages" not in text  # no path into the installed package
        assert "reconciler schema --out .schemas" in text.splitlines()[1]
        for doc in load_docs(file):
            assert list(doc)[:3] == ["kind", "name", "spec"]
            assert set(doc) <= {"kind", "name", "spec", "lifecycle", "depends_on"}
    check = run_cli("validate", "-C", str(out))
    assert check.exit_code == 0, check.stdout + check.stderr


def test_seed000_every_example(tmp_path: Path) -> None:
    out, result = convert(tmp_path, SEED000)
    assert result.exit_code == 0
    docs = docs_by_address(out)
    assert set(docs) == {
        "FineTuningJob.example_fine_tuning_job",
        "CheckpointPermission.example_fine_tuning_checkpoint_permission",
        "data.FineTuningJob.example_fine_tuning_job",
        "data.FineTuningJobs.example_fine_tuning_jobs",
        "data.FineTuningJobCheckpoints.example_fine_tuning_job_checkpoints",
        "data.CheckpointPermissions.example_fine_tuning_checkpoint_permission",
        "data.CheckpointPermissions.example_fine_tuning_checkpoint_permissions",
    }
    job = docs["FineTuningJob.example_fine_tuning_job"]["spec"]
    # attribute-style objects kept; the method blocks that do not match method.type are dropped
    assert job["method"] == {"type": "supervised", "supervised": {"hyperparameters": {
        "batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto"}}}
    assert job["integrations"] == [{"type": "wandb", "wandb": {
        "project": "my-wandb-project", "entity": "entity", "name": "name", "tags": ["custom-tag"]}}]
    assert job["hyperparameters"] == {"batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto"}
    assert job["metadata"] == {"foo": "string"}
    assert (job["seed"], job["suffix"], job["validation_file"]) == (42, "x", "file-abc123")
    assert "status" not in job
    assert docs["CheckpointPermission.example_fine_tuning_checkpoint_permission"]["spec"] == {
        "fine_tuned_model_checkpoint": "ft:gpt-4o-mini-2024-07-18:org:weather:B7R9VjQd",
        "project_ids": ["string"], "exclusive": False}
    assert docs["data.FineTuningJob.example_fine_tuning_job"]["spec"] == {"id": "ft-AF1WoRqd3aJAHsqc9NY7iL8F"}
    assert docs["data.FineTuningJobs.example_fine_tuning_jobs"]["spec"] == {"metadata": {"foo": "string"}}
    assert docs["data.FineTuningJobCheckpoints.example_fine_tuning_job_checkpoints"]["spec"] == {
        "fine_tuning_job_id": "ft-AF1WoRqd3aJAHsqc9NY7iL8F"}
    assert docs["data.CheckpointPermissions.example_fine_tuning_checkpoint_permission"]["spec"] == {
        "fine_tuned_model_checkpoint": "ft-AF1WoRqd3aJAHsqc9NY7iL8F", "order": "ascending",
        "project_id": "project_id"}
    # the dropped method blocks and the pagination arguments are listed with file:line
    job_tf = f"{SEED000 / 'resource_fine_tuning_job.tf'}"
    assert f"{job_tf}:23: method.type is 'supervised', so the dpo settings do not apply; " \
           "block method.dpo of resource openai_fine_tuning_job.example_fine_tuning_job left out" in result.stdout
    assert f"{job_tf}:31: method.type is 'supervised', so the reinforcement settings" in result.stdout
    perm_tf = f"{SEED000 / 'data_fine_tuning_checkpoint_permission.tf'}"
    assert f"{perm_tf}:3: pagination is handled by reconciler" in result.stdout
    assert f"{perm_tf}:4: limit = 0 bounds nothing (max_items must be at least 1)" in result.stdout


def test_seed001_blocks_files_and_references(tmp_path: Path) -> None:
    out, result = convert(tmp_path, FIXTURES / "seed001")
    assert result.exit_code == 0
    docs = load_docs(out / "main.yaml")
    assert [f"{d['kind']}.{d['name']}" for d in docs] == [
        "File.training_data", "File.validation_data", "FineTuningJob.custom_model",
        "FineTuningJob.simple_model", "FineTuningJob.reproducible_model"]
    files = {d["name"]: d["spec"] for d in docs if d["kind"] == "File"}
    train = files["training_data"]
    assert train["purpose"] == "fine-tune"
    assert (out / train["path"]).resolve() == (FIXTURES / "seed001" / "training_data.jsonl").resolve()
    assert train["allow_outside_spec_dir"] is True
    custom = docs[2]["spec"]
    assert custom["training_file"] == "${File.training_data.id}"
    assert custom["validation_file"] == "${File.validation_data.id}"
    assert custom["hyperparameters"] == {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 0.1}
    assert custom["metadata"]["version"] == "2.0"
    assert f"{FIXTURES / 'seed001' / 'main.tf'}:72: outputs are not converted" in result.stdout
    assert "allow_outside_spec_dir: true set on resource openai_file.training_data" in result.stdout


def test_seed003_block_style(tmp_path: Path) -> None:
    out, result = convert(tmp_path, FIXTURES / "seed003")
    assert result.exit_code == 0
    docs = docs_by_address(out)
    assert docs["FineTuningJob.supervised"]["spec"]["method"] == {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": 3, "batch_size": 8, "learning_rate_multiplier": 0.1}}}
    assert docs["FineTuningJob.dpo"]["spec"]["method"] == {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}
    assert docs["FineTuningJob.with_wandb"]["spec"]["integrations"] == [{"type": "wandb", "wandb": {
        "project": "my-wandb-project", "name": "ft-run-display-name", "tags": ["first-experiment", "v2"]}}]
    assert docs["FineTuningJob.with_timeout"]["spec"]["cancel_after_timeout"] == 3600
    assert docs["FineTuningJob.basic"]["spec"] == {"model": "gpt-4o-mini", "training_file": "file-abc123",
                                                   "suffix": "my-custom-model-v1"}
    assert "0 items not converted" in result.stdout


def test_seed004_legacy(tmp_path: Path) -> None:
    out, result = convert(tmp_path, FIXTURES / "seed004")
    assert result.exit_code == 0
    docs = docs_by_address(out)
    legacy = docs["LegacyFineTune.legacy"]["spec"]
    assert legacy == {"model": "babbage-002", "training_file": "${File.legacy_train.id}",
                      "validation_file": "file-legacyval001", "n_epochs": 4, "batch_size": 8,
                      "learning_rate_multiplier": 0.1, "suffix": "legacy-v1"}
    tf = FIXTURES / "seed004" / "main.tf"
    for key, line in [("prompt_loss_weight", 15), ("compute_classification_metrics", 16),
                      ("classification_n_classes", 17), ("classification_positive_class", 18),
                      ("classification_betas", 19)]:
        assert f"{tf}:{line}: {key} no longer exists in the fine-tuning API; argument {key} of resource " \
               f"openai_finetune.legacy left out" in result.stdout


def test_json_report(tmp_path: Path) -> None:
    out, result = convert(tmp_path, SEED000 / "resource_fine_tuning_job.tf", extra=("--json",))
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["written"] == [str(out / "resource_fine_tuning_job.yaml")]
    assert [c["address"] for c in report["converted"]] == ["FineTuningJob.example_fine_tuning_job"]
    assert {(n["line"], n["what"].split()[1]) for n in report["not_converted"]} == {
        (23, "method.dpo"), (31, "method.reinforcement")}
    assert set(report["not_converted"][0]) == {"file", "line", "what", "reason"}


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out, first = convert(tmp_path, FIXTURES / "seed003")
    assert first.exit_code == 0
    (out / "dpo.yaml").write_text("# mine\n")
    _, second = convert(tmp_path, FIXTURES / "seed003")
    assert second.exit_code == 1
    assert "already exist" in second.stderr and "--force" in second.stderr
    assert (out / "dpo.yaml").read_text() == "# mine\n"  # nothing written at all
    _, third = convert(tmp_path, FIXTURES / "seed003", extra=("--force",))
    assert third.exit_code == 0
    assert (out / "dpo.yaml").read_text().startswith("# converted from dpo.tf")


def test_default_out_is_the_spec_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_DIR", raising=False)
    result = run_cli("convert", "terraform", str(FIXTURES / "seed003" / "basic.tf"))
    assert result.exit_code == 0
    assert (tmp_path / "specs" / "basic.yaml").is_file()
