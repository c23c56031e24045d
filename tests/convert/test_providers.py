"""Each public OpenAI Terraform provider's own examples (tests/convert/providers/<provider>/<version>,
sources in SOURCE.md) convert into specs that `reconciler validate` accepts, and what is left out
is listed with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.convert import convert_terraform

from .helpers import docs_by_address, run_cli

PROVIDERS = Path(__file__).resolve().parent / "providers"
VERSIONS = sorted(p.relative_to(PROVIDERS).as_posix() for p in PROVIDERS.glob("*/*") if p.is_dir())

# (line, start of the reason) of every item left out, per provider version
LEFT_OUT = {
    "happypathway/v5": [(5, "reconciler uploads the file under its own name"),
                        (11, "reconciler uploads the file under its own name"),
                        (18, "purpose 'assistants'"), (23, "inline content cannot be uploaded"),
                        (33, "no longer exists in the fine-tuning API")],
    "mkdev-me/v1": [(54, "reconciler reads the admin key from OPENAI_ADMIN_KEY")],
    "mkdev-me/v2": [],
    # the upstream example trains 'ada' (retired): the job is left out, and then its
    # prompt/completion files are no longer used by any job (a File alone is checked as chat)
    "skyscrapr/v0": [(1, "terraform settings"), (9, "provider configuration"),
                     (23, "compute_classification_metrics no longer exists"),
                     (24, "classification_positive_class no longer exists"),
                     (25, "reconciler apply returns once the job is created"),
                     (28, "the fine-tunes API it reads was retired")],
    "skyscrapr/v1": [(1, "terraform settings"), (9, "provider configuration"),
                     (23, "reconciler apply returns once the job is created")],
}
# written, with what is left to do by hand (v0: the retired base model ada; v1: a data file that
# is not in the example's folder)
TODO = {"skyscrapr/v0": [19], "skyscrapr/v1": [28]}

# what each version's aliases turn into
EXPECTED = {
    "happypathway/v5": {"FineTuningJob.custom_model": {
        "model": "gpt-4o-mini-2024-07-18", "training_file": "${File.training_data.id}",
        "validation_file": "${File.validation_data.id}", "suffix": "customer-service-assistant",
        "hyperparameters": {"n_epochs": 4}}},
    "mkdev-me/v1": {
        "CheckpointPermission.checkpoint_permission": {
            "fine_tuned_model_checkpoint": "ft:gpt-4o-2024-08-06:fodoj-gmbh::BGscDbx0",
            "project_ids": ["proj_BkBLUjk3B5HZM4XD0uyuypfS"], "exclusive": False},
        "data.FineTuningJobs.all": {"max_items": 10},
        "FineTuningJob.my_model": {"training_file": "${File.training_file.id}", "model": "gpt-3.5-turbo",
                                   "hyperparameters": {"n_epochs": 3}},
        "data.FineTuningJobCheckpoints.example": {"fine_tuning_job_id": "ftjob-j3Ikg9y0PHP5LzSrltydhf0P",
                                                  "max_items": 20}},
    "mkdev-me/v2": {"FineTuningJob.method_example": {
        "model": "gpt-4o-mini-2024-07-18", "training_file": "${File.training_data.id}", "seed": 7,
        "method": {"type": "supervised", "supervised": {"hyperparameters": {
            "n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": 0.1}}}}},
    "skyscrapr/v1": {"FineTuningJob.example": {
        "training_file": "${File.training_file.id}", "validation_file": "${File.validation_file.id}",
        "model": "babbage-002"}, "data.FineTuningJobs.test": {}},
}


def test_every_version_has_a_source_note() -> None:
    assert set(VERSIONS) == set(LEFT_OUT)
    for version in VERSIONS:
        text = (PROVIDERS / version / "SOURCE.md").read_text()
        assert "commit" in text and ("licence" in text.lower())


@pytest.mark.parametrize("version", VERSIONS)
def test_provider_examples_convert_and_validate(tmp_path: Path, version: str) -> None:
    out = tmp_path / "specs"
    result = run_cli("convert", "terraform", str(PROVIDERS / version), "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    conv = convert_terraform([PROVIDERS / version], out)
    assert sorted(n.line for n in conv.notes if n.severity == "todo") == TODO.get(version, [])
    check = run_cli("validate", "-C", str(out))
    # validate passes, or names what is left to do (a missing data file, a retired base model)
    assert check.exit_code == (1 if version in TODO else 0), check.stdout + check.stderr
    if version in TODO:
        assert "does not exist" in check.stdout + check.stderr or "was retired" in check.stdout + check.stderr
    left_out = [(n.line, n.reason) for n in conv.notes if n.severity == "not_converted"]
    assert [line for line, _ in left_out] == [line for line, _ in LEFT_OUT[version]], left_out
    for (_, reason), (_, want) in zip(left_out, LEFT_OUT[version]):
        assert reason.startswith(want), (reason, want)
    docs = docs_by_address(out)
    for address, spec in EXPECTED.get(version, {}).items():
        assert docs[address]["spec"] == spec, address


def test_ignore_changes_all_becomes_the_field_list(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    assert run_cli("convert", "terraform", str(PROVIDERS / "mkdev-me/v1"), "--out", str(out)).exit_code == 0
    docs = docs_by_address(out)
    assert docs["FineTuningJob.basic_example"]["lifecycle"]["ignore_changes"][:3] == [
        "model", "training_file", "validation_file"]
    assert docs["CheckpointPermission.checkpoint_permission"]["lifecycle"]["ignore_changes"] == [
        "fine_tuned_model_checkpoint", "project_ids"]


@pytest.mark.parametrize("written, spec", [
    ('seed = "42"', {"seed": 42}),
    ('seed = "4.5e1"', {"seed": 45.0}),
    ('suffix = "42"', {"suffix": "42"}),  # a string field stays a string
    ('metadata = { n = "3" }', {"metadata": {"n": "3"}}),
    ('hyperparameters { n_epochs = "auto" }', {"hyperparameters": {"n_epochs": "auto"}}),
])
def test_quoted_numbers_in_number_fields(tmp_path: Path, written: str, spec: dict) -> None:  # type: ignore[type-arg]
    (tmp_path / "main.tf").write_text(
        f'resource "openai_fine_tuning_job" "j" {{\n  model = "gpt-4o-mini"\n  training_file = "file-1"\n'
        f'  {written}\n}}\n')
    conv = convert_terraform([tmp_path], tmp_path / "o")
    (doc,) = conv.converted
    assert {k: v for k, v in doc.spec.items() if k not in ("model", "training_file")} == spec
