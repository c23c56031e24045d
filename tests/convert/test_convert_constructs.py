"""References, variables, locals, templates, meta-arguments; every unsupported construct is listed
with its file and line; malformed HCL is one line `file:line: message` and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.convert import HclParseError, convert_terraform, parse_text

from .helpers import FIXTURES, docs_by_address, load_docs, run_cli

UNSUPPORTED = FIXTURES / "unsupported" / "main.tf"
REFERENCES = FIXTURES / "references"


def test_references_variables_locals_and_meta_arguments(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    result = run_cli("convert", "terraform", str(REFERENCES), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    docs = load_docs(out / "main.yaml")
    by = docs_by_address(out)
    job = by["FineTuningJob.bot"]
    assert job["spec"]["model"] == "gpt-4o-mini-2024-07-18"  # var with a default: inlined
    assert job["spec"]["training_file"] == "${File.train.id}"  # reference
    assert job["spec"]["suffix"] == "acme-${var.team}-v3"  # template: local, var without default, var
    assert job["spec"]["method"]["supervised"]["hyperparameters"]["n_epochs"] == 3  # keeps its type
    assert job["spec"]["integrations"][0]["wandb"]["tags"] == ["support", "v2"]  # literal local
    assert job["spec"]["metadata"] == {"team": "${var.team}"}
    assert job["lifecycle"] == {"prevent_destroy": True, "create_before_destroy": True,
                                "ignore_changes": ["metadata.team", "method.supervised", "suffix"]}
    assert job["depends_on"] == ["File.train", "data.FineTuningJobs.previous"]
    assert list(job) == ["kind", "name", "spec", "lifecycle", "depends_on"]
    assert by["data.FineTuningJobCheckpoints.bot"]["spec"]["fine_tuning_job_id"] == "${FineTuningJob.bot.id}"
    assert by["CheckpointPermission.share"]["spec"]["fine_tuned_model_checkpoint"] == \
        "${data.FineTuningJobCheckpoints.bot.items.0.fine_tuned_model_checkpoint}"
    assert {"import": {"to": "FineTuningJob.bot", "id": "ftjob-abc123"}} in docs
    assert {"moved": {"from": "File.old_train", "to": "File.train"}} in docs
    assert by["File.train"]["spec"]["path"].endswith("references/train.jsonl")
    # the variable without a default is a listed warning naming the flag to pass
    assert f"{REFERENCES / 'variables.tf'}:10: variable 'team' has no default: pass --var team=..." in result.stdout
    assert "0 items not converted" in result.stdout
    # and the output is valid once the variable is given
    check = run_cli("validate", "-C", str(out), "--var", "team=support")
    assert check.exit_code == 0, check.stdout + check.stderr


EXPECTED_UNSUPPORTED = [
    (1, 'provider configuration is not converted', 'provider "openai" block left out'),
    (12, "count is not supported", "resource openai_fine_tuning_job.many left out"),
    (18, "for_each is not supported", "resource openai_fine_tuning_job.each left out"),
    (23, "resource type 'aws_s3_object' is not managed by reconciler", "resource aws_s3_object.data left out"),
    (31, 'function call `upper("shout")` is not supported', "argument suffix of resource openai_fine_tuning_job.partial left out"),
    (32, "conditional expression `var.n > 1 ? 1 : 2` is not supported", "argument seed of resource"),
    (33, "local.computed", "argument validation_file of resource openai_fine_tuning_job.partial left out"),
    (34, "'status' is not an argument", "argument status of resource openai_fine_tuning_job.partial left out"),
    (36, "dynamic blocks are not supported", "dynamic block integrations of resource"),
    (48, "modules are not converted", 'module "nested" block left out'),
    (52, "outputs are not converted", 'output "id" block left out'),
    (56, "data source type 'openai_something_else' is not managed", "data.openai_something_else.x left out"),
]


def test_unsupported_constructs_are_listed_with_lines(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    result = run_cli("convert", "terraform", str(UNSUPPORTED), "--out", str(out), "--json")
    assert result.exit_code == 0  # listed, not fatal
    report = json.loads(result.stdout)
    items = report["not_converted"]
    assert len(items) == len(EXPECTED_UNSUPPORTED)
    for item, (line, reason, what) in zip(items, EXPECTED_UNSUPPORTED):
        assert item["file"] == str(UNSUPPORTED)
        assert item["line"] == line, item
        assert reason in item["reason"], item
        assert what in item["what"], item
    # what could be converted is still written, and says what was left out
    text = (out / "main.yaml").read_text()
    assert "# Not converted (left out of this file):" in text
    partial = docs_by_address(out)["FineTuningJob.partial"]
    assert partial["spec"] == {"model": "gpt-4o-mini", "training_file": "file-abc123"}
    # ignore_changes = all becomes the explicit list of the job's fields (a listed warning)
    assert partial["lifecycle"]["ignore_changes"][:3] == ["model", "training_file", "validation_file"]
    assert "status" not in partial["lifecycle"]["ignore_changes"]
    assert any(w["line"] == 44 and "ignore_changes = all" in w["reason"] for w in report["warnings"])


def test_summary_lines_match_the_documented_form(tmp_path: Path) -> None:
    result = run_cli("convert", "terraform", str(UNSUPPORTED), "--out", str(tmp_path / "o"))
    assert f"  {UNSUPPORTED}:12: count is not supported; resource openai_fine_tuning_job.many left out" \
        in result.stdout.splitlines()
    assert "1 resource converted, 0 data sources, 12 items not converted." in result.stdout


@pytest.mark.parametrize("source, line, fragment", [
    ('resource "openai_file" "x" {\n  file = "a.jsonl"\n  purpose =\n}\n', 3, "unexpected"),
    ('resource "openai_file" "x" {\n  file = "a.jsonl"\n', 3, "unexpected end of file"),
    ('resource "openai_file" "x" {\n  file = "a.jsonl\n}\n', 2, "unexpected"),
    ('resource "openai_file" "x" {\n  file = "a"\n  file = "b"\n}\n', 3, "attribute 'file' redefined"),
])
def test_malformed_tf_is_one_line_with_file_and_line(tmp_path: Path, source: str, line: int, fragment: str) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text(source)
    result = run_cli("convert", "terraform", str(tf), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{tf}:{line}: "), lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "o").exists()


def test_parse_error_in_one_file_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.tf").write_text('resource "openai_file" "x" {\n  file = "a.jsonl"\n}\n')
    (tmp_path / "b.tf").write_text('resource "openai_file" "y" {\n  file = \n')
    result = run_cli("convert", "terraform", str(tmp_path), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path / 'b.tf'}:2: ")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "no such file or folder"),
    (lambda p: p, "no .tf files in this folder"),
])
def test_nothing_to_read_is_exit_1(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("convert", "terraform", str(make(tmp_path)), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert message in result.stderr


def test_parser_keeps_lines_and_expression_kinds() -> None:
    body = parse_text('resource "openai_fine_tuning_job" "x" {\n'
                      '  model = "m-${var.v}"\n'
                      '  seed  = -3\n'
                      '  training_file = openai_file.t.id\n'
                      '  metadata = { "a b" = "c", d = 1.5 }\n'
                      '}\n', "main.tf")
    block = body.blocks[0]
    assert (block.type, block.labels, block.line) == ("resource", ("openai_fine_tuning_job", "x"), 1)
    attrs = block.body.attributes
    assert [attrs[k].line for k in ("model", "seed", "training_file", "metadata")] == [2, 3, 4, 5]
    assert attrs["seed"].expr.value == -3  # type: ignore[union-attr]
    assert attrs["training_file"].expr.dotted == "openai_file.t.id"  # type: ignore[union-attr]


def test_parse_error_type() -> None:
    with pytest.raises(HclParseError) as info:
        parse_text('a = [1,,2]\n', "x.tf")
    assert str(info.value).startswith("x.tf:1: unexpected")


def test_name_collision_between_data_types_is_listed(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'data "openai_fine_tuning_checkpoint_permission" "p" {\n  fine_tuned_model_checkpoint = "ft:x"\n}\n'
        'data "openai_fine_tuning_checkpoint_permissions" "p" {\n  fine_tuned_model_checkpoint = "ft:y"\n}\n')
    conv = convert_terraform([tmp_path], tmp_path / "o")
    assert [d.address for d in conv.converted] == ["data.CheckpointPermissions.p"]
    assert [(n.line, n.reason.split(",")[0]) for n in conv.notes] == [
        (4, "it converts to data.CheckpointPermissions.p")]


def test_reference_to_a_left_out_resource_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "openai_file" "f" {\n  count = 1\n  file = "a.jsonl"\n}\n'
        'resource "openai_fine_tuning_job" "j" {\n  model = "gpt-4o-mini"\n'
        '  training_file = openai_file.f.id\n}\n')
    conv = convert_terraform([tmp_path], tmp_path / "o")
    notes = [(n.line, n.severity, n.reason) for n in conv.notes]
    assert (2, "not_converted", "count is not supported") in notes
    assert (7, "warning", "openai_file.f was left out of the conversion") in notes


def test_method_blocks_dropped_only_when_type_is_known(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "openai_fine_tuning_job" "j" {\n  model = "gpt-4o-mini"\n  training_file = "file-1"\n'
        '  method = {\n    type = "dpo"\n    supervised = {}\n    dpo = { hyperparameters = { beta = 0.2 } }\n  }\n}\n')
    conv = convert_terraform([tmp_path], tmp_path / "o")
    assert conv.converted[0].spec["method"] == {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}}
    expected = "block method.supervised of resource openai_fine_tuning_job.j left out"
    assert [(n.line, n.what) for n in conv.notes] == [(6, expected)]


def test_metadata_over_the_limit_leaves_the_job_out(tmp_path: Path) -> None:
    pairs = "\n".join(f"    k{i} = \"v\"" for i in range(15))
    (tmp_path / "main.tf").write_text(
        'resource "openai_fine_tuning_job" "j" {\n  model = "gpt-4o-mini"\n  training_file = "file-1"\n'
        f'  metadata = {{\n    reconciler_x = "y"\n{pairs}\n  }}\n}}\n')
    conv = convert_terraform([tmp_path], tmp_path / "o")
    reasons = [n.reason for n in conv.notes if n.severity == "warning"]
    assert any("reserved" in r for r in reasons) and any("at most 12" in r for r in reasons)
    # a job the API would refuse is not written: it is listed with validate's message
    assert conv.converted == []
    (left_out,) = [n for n in conv.notes if n.severity == "not_converted"]
    assert (left_out.line, left_out.what) == (1, 'resource "openai_fine_tuning_job" "j" left out')
    assert "metadata" in left_out.reason


def test_tfvars_values_replace_defaults_like_terraform(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "model" {\n  default = "gpt-4o-mini"\n}\nvariable "suffix" {}\n'
        'resource "openai_fine_tuning_job" "j" {\n  model = var.model\n  training_file = "file-1"\n'
        '  suffix = var.suffix\n}\n')
    (tmp_path / "terraform.tfvars").write_text('model = "gpt-4.1-mini-2025-04-14"\n')
    (tmp_path / "x.auto.tfvars").write_text('suffix = "from-auto"\nunknown = 1\n')
    conv = convert_terraform([tmp_path], tmp_path / "o")
    assert conv.converted[0].spec == {"model": "gpt-4.1-mini-2025-04-14", "training_file": "file-1",
                                      "suffix": "from-auto"}
    assert [(n.file.endswith("x.auto.tfvars"), n.line, n.severity) for n in conv.notes] == [(True, 2, "warning")]


def test_legacy_reference_to_nested_fine_tune_attributes(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "openai_finetune" "old" {\n  model = "babbage-002"\n  training_file = "file-1"\n}\n'
        'resource "openai_fine_tuning_checkpoint_permission" "p" {\n'
        '  fine_tuned_model_checkpoint = openai_finetune.old.fine_tune.fine_tuned_model\n'
        '  project_ids = ["proj_a"]\n}\n')
    conv = convert_terraform([tmp_path], tmp_path / "o")
    assert conv.converted[1].spec["fine_tuned_model_checkpoint"] == "${LegacyFineTune.old.fine_tuned_model}"


def test_example_converts_and_validates(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "terraform"
    out = tmp_path / "specs"
    result = run_cli("convert", "terraform", str(example), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "3 resources converted, 0 data sources, 3 items not converted." in result.stdout
    check = run_cli("validate", "-C", str(out), "--var", "partner_project=proj_partner")
    assert check.exit_code == 0, check.stdout + check.stderr


ODDITIES = [
    (1, "top-level argument top_level_attr left out"),
    (2, 'resource "openai_file" left out'),
    (9, "depends_on entry `openai_file.unquoted.id`"),
    (9, "depends_on entry `module.x`"),
    (9, "depends_on entry `openai_file.*.id`"),
    (10, "provider argument of resource openai_fine_tuning_job.j left out"),
    (11, "argument integrations of resource openai_fine_tuning_job.j left out"),
    (12, "argument metadata of resource openai_fine_tuning_job.j left out"),
    (13, "argument suffix of resource openai_fine_tuning_job.j left out"),
    (14, "argument seed of resource openai_fine_tuning_job.j left out"),
    (19, "block method of resource openai_fine_tuning_job.j left out"),
    (23, "block hyperparameters of resource openai_fine_tuning_job.j left out"),
    (26, "timeouts block of resource openai_fine_tuning_job.j left out"),
    (30, "lifecycle.ignore_changes entry of resource openai_fine_tuning_job.j left out"),
    (31, "lifecycle.replace_triggered_by of resource openai_fine_tuning_job.j left out"),
    (32, "lifecycle.prevent_destroy of resource openai_fine_tuning_job.j left out"),
    (33, "lifecycle precondition block of resource openai_fine_tuning_job.j left out"),
    (39, "left out"),
    (41, "argument find_one_by of data source data.openai_fine_tuning_job.q left out"),
    (48, "argument model of resource openai_fine_tuning_job.loop left out"),
    (49, "argument training_file of resource openai_fine_tuning_job.loop left out"),
    (53, 'check "c" block left out'),
    (54, "terraform block left out"),
]


def test_oddities_never_crash_and_are_all_listed(tmp_path: Path) -> None:
    conv = convert_terraform([FIXTURES / "oddities"], tmp_path / "o")
    invalid = "the converted spec would not validate: "
    listed = [(n.line, n.what) for n in conv.notes if n.severity == "not_converted" and invalid not in n.reason]
    # what converted but would not validate is left out too, with the loader's own message
    rejected = {n.line: n.reason.removeprefix(invalid) for n in conv.notes if invalid in n.reason}
    assert set(rejected) == {6, 40, 47}
    todo = {n.line: n.reason for n in conv.notes if n.severity == "todo"}
    assert "put the data file at" in todo[3] and "x.jsonl" in todo[3]  # written, the missing file flagged
    assert "reference to undeclared data.FineTuningJobs.nope" in rejected[6]
    assert "missing required field 'model'" in rejected[47]
    assert len(listed) == len(ODDITIES)
    for (line, what), (want_line, want) in zip(listed, ODDITIES):
        assert line == want_line and want in what, (line, what)
    warnings = [(n.line, n.reason) for n in conv.notes if n.severity == "warning"]
    assert (15, "data.openai_fine_tuning_jobs.nope is not declared in the converted files") in warnings
    assert "FineTuningJob.j" not in [d.address for d in conv.converted]
