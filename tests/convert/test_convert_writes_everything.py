"""Migration writes everything it can map: a resource whose data file is not beside the .tf is
written with the missing file flagged (a TODO in the YAML and in the output; `validate` names it),
`content = file(...)` becomes the file's path, a retired base model is written and flagged, and no
`$schema` line points into the installed package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .helpers import FIXTURES, docs_by_address, run_cli

EXPECTED = {
    "seed001": {"File.training_data", "File.validation_data", "FineTuningJob.custom_model",
                "FineTuningJob.simple_model", "FineTuningJob.reproducible_model"},
    "seed004": {"File.legacy_train", "LegacyFineTune.legacy"},
}


def _alone(tmp_path: Path, seed: str) -> Path:
    """The seed's .tf files alone in a folder: no data file beside them."""
    folder = tmp_path / "tf"
    folder.mkdir()
    for tf in (FIXTURES / seed).glob("*.tf"):
        shutil.copy(tf, folder / tf.name)
    return folder


@pytest.mark.parametrize("seed", sorted(EXPECTED))
def test_the_seeds_tf_alone_writes_every_resource(tmp_path: Path, seed: str) -> None:
    out = tmp_path / "specs"
    result = run_cli("convert", "terraform", str(_alone(tmp_path, seed)), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "Nothing to write" not in result.stdout
    assert set(docs_by_address(out)) == EXPECTED[seed]
    assert "To do (written, but validate fails until done):" in result.stdout
    assert "put the data file at" in result.stdout
    text = "".join(p.read_text() for p in out.glob("*.yaml"))
    assert "# TODO: put the data file at ../tf/" in text
    assert str(tmp_path / "tf" / "training_data.jsonl") not in text  # the TODO names no machine's path
    check = run_cli("validate", "-C", str(out))
    assert check.exit_code == 1 and "does not exist" in check.stdout + check.stderr


def test_json_lists_the_todo(tmp_path: Path) -> None:
    result = run_cli("convert", "terraform", str(_alone(tmp_path, "seed001")), "--out", str(tmp_path / "o"), "--json")
    data = json.loads(result.stdout)
    assert data["summary"]["todo"] == 2 and len(data["todo"]) == 2 and data["summary"]["resources"] == 5
    assert all("put the data file" in n["reason"] for n in data["todo"])


MKDEV = """\
resource "openai_file" "training_data" {
  filename = "training.jsonl"
  purpose  = "fine-tune"
  content  = %s
}

resource "openai_fine_tuning_job" "model" {
  model         = "gpt-4o-mini-2024-07-18"
  training_file = openai_file.training_data.id
  suffix        = "custom-model-v1"
}
"""


@pytest.mark.parametrize("content", ['file("${path.module}/data/training.jsonl")', 'file("data/training.jsonl")',
                                     'filebase64("${path.module}/data/training.jsonl")'])
def test_content_read_from_a_file_becomes_its_path(tmp_path: Path, content: str) -> None:
    """mkdev-me/terraform-provider-openai's documented form (its docs' complete workflow example)."""
    tf = tmp_path / "tf"
    (tf / "data").mkdir(parents=True)
    (tf / "main.tf").write_text(MKDEV % content)
    shutil.copy(FIXTURES / "seed001" / "training_data.jsonl", tf / "data" / "training.jsonl")
    out = tf  # beside the .tf: the path stays as written
    result = run_cli("convert", "terraform", str(tf / "main.tf"), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    docs = docs_by_address(out)
    assert docs["File.training_data"]["spec"]["path"] == "data/training.jsonl"
    assert "FineTuningJob.model" in docs
    assert "inline content" not in result.stdout
    assert run_cli("validate", "-C", str(out)).exit_code == 0


def test_inline_content_is_still_refused(tmp_path: Path) -> None:
    tf = tmp_path / "tf"
    tf.mkdir()
    (tf / "main.tf").write_text(MKDEV % '"{\\"messages\\": []}"')
    result = run_cli("convert", "terraform", str(tf), "--out", str(tmp_path / "o"))
    assert "inline content cannot be uploaded" in result.stdout


def test_a_retired_base_model_is_written_and_flagged(tmp_path: Path) -> None:
    tf = tmp_path / "tf"
    tf.mkdir()
    (tf / "main.tf").write_text((FIXTURES / "seed004" / "main.tf").read_text().replace('"babbage-002"', '"ada"'))
    shutil.copy(FIXTURES / "seed004" / "legacy_train.jsonl", tf / "legacy_train.jsonl")
    out = tmp_path / "specs"
    result = run_cli("convert", "terraform", str(tf), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    docs = docs_by_address(out)
    assert docs["LegacyFineTune.legacy"]["spec"]["model"] == "ada"
    assert "File.legacy_train" in docs
    assert "base model 'ada' was retired" in result.stdout.split("Not converted")[0]
    assert "# TODO: spec.model: base model 'ada' was retired" in (out / "main.yaml").read_text()


def test_schema_line_points_at_the_repositorys_schema_only(tmp_path: Path) -> None:
    tf = FIXTURES / "seed001"
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    out = repo / "specs" / "migrated"
    first = run_cli("convert", "terraform", str(tf), "--out", str(out))
    assert first.exit_code == 0
    text = (out / "main.yaml").read_text()
    assert "$schema=" not in text and "reconciler schema --out .schemas" in text
    assert run_cli("schema", "--out", str(repo / ".schemas")).exit_code == 0
    assert run_cli("convert", "terraform", str(tf), "--out", str(out), "--force").exit_code == 0
    assert "# yaml-language-server: $schema=../../.schemas/spec.schema.json" in (out / "main.yaml").read_text()


def test_examples_terraform_ships_a_state_to_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/terraform/README.md's steps 1 and 2, as written, with its terraform.tfstate."""
    example = FIXTURES.parents[2] / "examples" / "terraform"
    state = json.loads((example / "terraform.tfstate").read_text())
    assert state["version"] == 4 and state["terraform_version"].startswith("1.11")
    monkeypatch.chdir(tmp_path)
    assert run_cli("convert", "terraform", str(example), "--out", "specs-migrated").exit_code == 0
    flags = ("-C", "specs-migrated", "-w", "example-terraform", "--var", "partner_project=proj_partner")
    result = run_cli("state", "import-terraform", str(example / "terraform.tfstate"), *flags)
    assert result.exit_code == 0, result.stderr
    assert "3 resources adopted into state/example-terraform.json." in result.stdout, result.stdout
