"""load_specs: the SpecSet contract, normalisation, references, variables, order, warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import Document, SpecSet
from reconciler.config.refs import Ref, find_refs, resolve
from reconciler.errors import SpecError, SpecErrors
from reconciler.loading import load_specs
from reconciler.values import UNKNOWN

from .conftest import chat_lines

SPECS = """\
kind: CheckpointPermission
name: share
spec:
  fine_tuned_model_checkpoint: ${FineTuningJob.bot.fine_tuned_model}
  project_ids: [proj_a]
---
kind: FineTuningJob
name: bot
spec:
  model: gpt-4o-mini-2024-07-18
  training_file: ${File.train.id}
  suffix: bot-${var.release}
  seed: ${var.seed}
  cancel_after_timeout: 1h30m
  metadata: {team: support, note: "costs $${cents}"}
lifecycle:
  prevent_destroy: true
  ignore_changes: [metadata.team]
---
kind: File
name: train
spec:
  path: data/train.jsonl
"""


def test_specset_contract(spec_dir) -> None:
    root = spec_dir({"s.yaml": SPECS, "data/train.jsonl": chat_lines()})
    specset = load_specs(root, {"release": "v2", "seed": "42"})
    assert isinstance(specset, SpecSet)
    assert list(specset.documents) == ["File.train", "FineTuningJob.bot", "CheckpointPermission.share"]
    job = specset.documents["FineTuningJob.bot"]
    assert isinstance(job, Document)
    assert job.kind == job.type == "FineTuningJob" and job.address == "FineTuningJob.bot"
    assert job.spec["suffix"] == "bot-v2"
    assert job.spec["seed"] == 42  # a variable given as text, read as the integer the field needs
    assert job.spec["cancel_after_timeout"] == 5400
    assert job.spec["status"] == "running"
    assert job.spec["training_file"] == "${File.train.id}"
    assert job.spec["metadata"]["note"] == "costs $${cents}"  # escape kept; resolve() unescapes
    assert job.depends_on == ("File.train",)
    assert job.lifecycle.prevent_destroy and job.lifecycle.ignore_changes == ("metadata.team",)
    assert job.line == 7 and job.file == str(root / "s.yaml") and job.base_dir == root
    assert job.line_of("spec.suffix") == 12
    assert job.line_of("spec.metadata.unknown.deeper") == 15
    share = specset.documents["CheckpointPermission.share"]
    assert share.spec["exclusive"] is False
    assert share.depends_on == ("FineTuningJob.bot",)
    assert specset.documents["File.train"].spec["purpose"] == "fine-tune"
    assert specset.kinds() == {"File", "FineTuningJob", "CheckpointPermission"}
    assert specset.warnings == ()


def test_load_specs_raises_all_errors(spec_dir) -> None:
    root = spec_dir(
        {"a.yaml": "kind: File\nname: a\nspec: {path: nope.jsonl}\n", "b.yaml": "kind: Nope\nname: b\n"}
    )
    with pytest.raises(SpecErrors) as info:
        load_specs(root, {})
    assert len(info.value.errors) == 2
    assert all(isinstance(e, SpecError) for e in info.value.errors)
    messages = sorted(str(e).replace(str(root) + "/", "") for e in info.value.errors)
    assert messages[0].startswith("a.yaml:3: File.a: spec.path: nope.jsonl does not exist"), messages
    assert messages[1].startswith("b.yaml:1: unknown kind 'Nope'"), messages


def test_recursive_and_sorted_and_hidden_skipped(spec_dir) -> None:
    root = spec_dir(
        {
            "b/z.yml": "kind: data.FineTuningJobs\nname: z\nspec: {}\n",
            "a.yaml": "kind: data.FineTuningJobs\nname: a\nspec: {}\n",
            ".hidden/x.yaml": "broken: [\n",
            "notes.txt": "not yaml: [",
        }
    )
    specset = load_specs(root, {})
    assert list(specset.documents) == ["data.FineTuningJobs.a", "data.FineTuningJobs.z"]
    assert specset.documents["data.FineTuningJobs.a"].spec["max_items"] == 1000


def test_missing_folder() -> None:
    with pytest.raises(SpecErrors) as info:
        load_specs(Path("/nonexistent/specs"), {})
    assert "no such folder" in str(info.value)


def test_legacy_mapping_and_warning(spec_dir) -> None:
    root = spec_dir(
        {
            "l.yaml": """\
        kind: LegacyFineTune
        name: old
        spec:
          model: davinci-002
          training_file: file-1
          n_epochs: 4
          suffix: [tag]
        """
        }
    )
    specset = load_specs(root, {})
    doc = specset.documents["LegacyFineTune.old"]
    assert doc.kind == "LegacyFineTune" and doc.type == "FineTuningJob"
    assert doc.spec == {
        "model": "davinci-002",
        "training_file": "file-1",
        "suffix": "tag",
        "status": "running",
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 4}}},
    }
    # the deprecation, and davinci-002 not among the models the methods train (reconciler/lifecycle)
    assert len(specset.warnings) == 2 and {w.severity for w in specset.warnings} == {"warning"}
    assert (
        "deprecated" in specset.warnings[0].message and "kind: FineTuningJob" in specset.warnings[0].message
    )
    assert "davinci-002 is not a model reconciler knows can be fine-tuned" in specset.warnings[1].message


def test_deprecated_hyperparameters_warn(problems) -> None:
    text = ("kind: FineTuningJob\nname: j\nspec:\n  model: gpt-4o-mini\n  training_file: f\n"
            "  hyperparameters: {n_epochs: 2}\n")
    assert problems(text) == []
    warnings = problems(text, warnings=True)
    assert len(warnings) == 1 and "s.yaml:6:" in warnings[0]
    assert "move it to method.supervised.hyperparameters" in warnings[0]


def test_data_job_alias_and_checkpoint_default(spec_dir) -> None:
    root = spec_dir(
        {
            "d.yaml": "kind: data.FineTuningJob\nname: j\nspec: {fine_tuning_job_id: ftjob-1}\n---\n"
            "kind: data.FineTuningJobCheckpoints\nname: c\nspec:\n"
            "  fine_tuning_job_id: ${data.FineTuningJob.j.id}\n"
        }
    )
    specset = load_specs(root, {})
    assert specset.documents["data.FineTuningJob.j"].spec == {"id": "ftjob-1"}
    checkpoints = specset.documents["data.FineTuningJobCheckpoints.c"]
    assert checkpoints.spec["select"] == {"latest": True}
    assert checkpoints.depends_on == ("data.FineTuningJob.j",)


def test_explicit_depends_on_orders(spec_dir) -> None:
    root = spec_dir(
        {
            "s.yaml": "kind: data.FineTuningJobs\nname: a\nspec: {}\ndepends_on: [data.FineTuningJobs.b]\n"
            "---\nkind: data.FineTuningJobs\nname: b\nspec: {}\n"
        }
    )
    specset = load_specs(root, {})
    assert list(specset.documents) == ["data.FineTuningJobs.b", "data.FineTuningJobs.a"]


def test_import_and_moved_blocks(spec_dir) -> None:
    root = spec_dir(
        {
            "s.yaml": "kind: FineTuningJob\nname: new\nspec: {model: m, training_file: f}\n---\n"
            "import: {to: FineTuningJob.new, id: ftjob-1}\n---\n"
            "moved:\n  from: FineTuningJob.old\n  to: FineTuningJob.new\n"
        }
    )
    specset = load_specs(root, {})
    assert specset.imports[0].to == "FineTuningJob.new" and specset.imports[0].id == "ftjob-1"
    assert specset.imports[0].line == 5
    assert specset.moved[0].from_ == "FineTuningJob.old" and specset.moved[0].line == 7


def test_whole_value_variable_keeps_type_from_var_file(spec_dir) -> None:
    root = spec_dir(
        {
            "s.yaml": "kind: CheckpointPermission\nname: p\nspec:\n  fine_tuned_model_checkpoint: ft:x\n"
            "  project_ids: ${var.projects}\n  exclusive: ${var.exclusive}\n"
        }
    )
    specset = load_specs(root, {"projects": ["proj_a", "proj_b"], "exclusive": "true"})
    spec = specset.documents["CheckpointPermission.p"].spec
    assert spec["project_ids"] == ["proj_a", "proj_b"] and spec["exclusive"] is True


def test_variable_of_wrong_type_is_reported(problems) -> None:
    found = problems(
        "kind: FineTuningJob\nname: j\nspec:\n  model: m\n  training_file: f\n  seed: ${var.seed}\n",
        {"seed": "forty-two"},
    )
    assert found == [
        "s.yaml:6: FineTuningJob.j: spec.seed: expected an integer from 0 to 2147483647, got 'forty-two'"
    ]


def test_errors_in_a_file_that_failed_to_parse_do_not_cascade(problems) -> None:
    text = "kind: FineTuningJob\nname: j\nspec:\n  model: m\n  training_file: ${File.t.id}\n---\nkind: [\n"
    found = problems(text)
    assert len(found) == 1 and "invalid YAML" in found[0]


def test_refs_helpers() -> None:
    value = {"a": "${File.t.id}", "b": ["x-${FineTuningJob.j.metadata.team}-$${lit}", 3], "c": "${var.v}"}
    refs = find_refs(value)
    assert [r.address for r in refs] == ["File.t", "FineTuningJob.j", "var.v"]
    assert refs[1] == Ref("FineTuningJob.j", ("metadata", "team"), "${FineTuningJob.j.metadata.team}")
    data_ref = find_refs("${data.FineTuningJobCheckpoints.best.items[0].id}")[0]
    assert data_ref.address == "data.FineTuningJobCheckpoints.best" and data_ref.path == ("items", "0", "id")

    def lookup(ref: Ref):
        return {"File.t": 12, "FineTuningJob.j": "support", "var.v": UNKNOWN}[ref.address]

    assert resolve(value, lookup) == {"a": 12, "b": ["x-support-${lit}", 3], "c": UNKNOWN}
    assert resolve("id ${var.v}", lookup) is UNKNOWN


def test_seed_000_literal_example_explains_the_extra_method_blocks(problems) -> None:
    """Seed 000's HCL fills dpo and reinforcement blocks beside type = "supervised"; taken literally,
    each extra block is one clear error (examples/seeds keeps only the matching block)."""
    text = """\
kind: FineTuningJob
name: example_fine_tuning_job
spec:
  model: gpt-4o-mini
  training_file: file-abc123
  method:
    type: supervised
    dpo:
      hyperparameters: {batch_size: auto, beta: auto, learning_rate_multiplier: auto, n_epochs: auto}
    reinforcement:
      grader: {input: input, name: name, operation: eq, reference: reference, type: string_check}
    supervised:
      hyperparameters: {batch_size: auto, learning_rate_multiplier: auto, n_epochs: auto}
"""
    assert problems(text) == [
        "s.yaml:8: FineTuningJob.example_fine_tuning_job: spec.method.dpo: method.type is supervised but a 'dpo' "
        "block is given; put the settings under method.supervised (or set type: dpo)",
        "s.yaml:10: FineTuningJob.example_fine_tuning_job: spec.method.reinforcement: method.type is supervised but "
        "a 'reinforcement' block is given; put the settings under method.supervised (or set type: reinforcement)",
    ]
