"""`reconciler validate` and `reconciler schema` through the real CLI: one line per problem with
file:line, exit 1, never a traceback; the repository's specs/ and every examples/ folder validate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

from .conftest import chat_lines

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(
    p
    for p in (ROOT / "examples").iterdir()
    if p.is_dir() and p.name not in ("ci", "terraform") and any(p.glob("*.yaml"))
)


def run(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)
    return result.exit_code, result.output


JOB = "kind: FineTuningJob\nname: j\nspec:\n  model: gpt-4o-mini\n  training_file: file-abc\n"

CASES = [
    ("malformed YAML", "kind: File\nname: [x\n", 3, "invalid YAML"),
    ("wrong type", JOB + "  seed: three\n", 6, "FineTuningJob.j: spec.seed: expected an integer"),
    (
        "unknown field",
        JOB + "  sufix: v1\n",
        6,
        "FineTuningJob.j: spec: unknown field 'sufix' (did you mean 'suffix'?)",
    ),
    ("unknown kind", "kind: Job\nname: j\nspec: {}\n", 1, "unknown kind 'Job'"),
    ("duplicate address", JOB + "---\n" + JOB, 8, "FineTuningJob.j: declared twice (first at "),
    (
        "bad reference",
        JOB.replace("file-abc", "${File.train.id}"),
        5,
        "FineTuningJob.j: spec.training_file: reference to undeclared File.train",
    ),
    (
        "missing file",
        "kind: File\nname: t\nspec:\n  path: data/missing.jsonl\n",
        4,
        "File.t: spec.path: data/missing.jsonl does not exist",
    ),
    (
        "cycle",
        "kind: File\nname: a\nspec: {path: t.jsonl}\ndepends_on: [FineTuningJob.j]\n---\n"
        + JOB.replace("file-abc", "${File.a.id}"),
        1,
        "dependency cycle: File.a → FineTuningJob.j → File.a",
    ),
    ("undefined var", JOB + "  suffix: ${var.release}\n", 6, "undefined variable 'release'"),
    (
        "python tag",
        "kind: File\nname: t\nspec: !!python/object/apply:os.system ['true']\n",
        3,
        "tag !!python/object/apply:os.system is not allowed",
    ),
    (
        "lone surrogate",
        JOB + '  metadata: {team: "a\\ud800b"}\n',
        6,
        "spec.metadata.team: not Unicode text: a lone surrogate (\\ud800, from a YAML \\u escape)",
    ),
]


@pytest.mark.parametrize("text,line,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_line_per_problem(tmp_path: Path, text: str, line: int, message: str) -> None:
    (tmp_path / "s.yaml").write_text(text)
    (tmp_path / "t.jsonl").write_text(chat_lines())
    code, output = run("validate", "-C", str(tmp_path))
    assert code == 1, output
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert lines[-1] == "1 error in 1 file.", output
    assert len(lines) == 2, output
    assert lines[0].startswith(f"{tmp_path}/s.yaml:{line}: "), output
    assert message in lines[0], output


def test_all_errors_at_once_and_summary(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(JOB + "  seed: three\n  suffix: ''\n")
    (tmp_path / "b.yaml").write_text("kind: Job\nname: j\nspec: {}\n")
    code, output = run("validate", "-C", str(tmp_path))
    assert code == 1
    lines = output.strip().splitlines()
    assert lines[-1] == "3 errors in 2 files."
    assert [re.match(r".*?\.yaml:\d+", line).group(0).rsplit("/", 1)[1] for line in lines[:-1]] == [
        "a.yaml:6",
        "a.yaml:7",
        "b.yaml:1",
    ]


def test_success_and_warning(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(JOB + "  hyperparameters: {n_epochs: 2}\n")
    code, output = run("validate", "-C", str(tmp_path))
    assert code == 0, output
    assert output.startswith(f"Warning: {tmp_path}/s.yaml:6: FineTuningJob.j: spec.hyperparameters:")
    assert output.strip().endswith("Success! 1 document in 1 file is valid (1 warning).")


def test_json_output(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(JOB + "  suffix: " + "x" * 65 + "\n")
    code, output = run("validate", "--json", "-C", str(tmp_path))
    assert code == 1
    data = json.loads(output)
    assert data["valid"] is False and data["documents"] == 0
    assert data["errors"] == [
        {
            "file": f"{tmp_path}/s.yaml",
            "line": 6,
            "address": "FineTuningJob.j",
            "field": "spec.suffix",
            "message": "longer than 64 characters",
            "severity": "error",
        }
    ]
    (tmp_path / "s.yaml").write_text(JOB)
    code, output = run("validate", "--json", "-C", str(tmp_path))
    assert code == 0 and json.loads(output) == {"valid": True, "errors": [], "documents": 1, "files": 1}


def test_variables_from_flag_env_and_file(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "s.yaml").write_text(JOB + "  suffix: ${var.release}\n  seed: ${var.seed}\n")
    (tmp_path / "vars.yaml").write_text("seed: 7\n")
    spec = str(tmp_path / "specs")
    code, output = run(
        "validate", "-C", spec, "--var", "release=v1", "--var-file", str(tmp_path / "vars.yaml")
    )
    assert code == 0, output
    code, output = run(
        "validate", "-C", spec, env={"RECONCILER_VAR_release": "v1", "RECONCILER_VAR_seed": "3"}
    )
    assert code == 0, output
    code, output = run("validate", "-C", spec, "--var", "seed=x", "--var", "release=v1")
    assert code == 1 and "spec.seed: expected an integer" in output


def test_bad_training_data_is_reported_with_record_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    lines = chat_lines(11).splitlines()
    lines[6] = '{"prompt": "x", "completion": "y"}'
    (tmp_path / "data" / "train.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "s.yaml").write_text("kind: File\nname: train\nspec:\n  path: data/train.jsonl\n")
    code, output = run("validate", "-C", str(tmp_path))
    assert code == 1
    assert (
        f"{tmp_path}/s.yaml:4: File.train: spec.path: data/train.jsonl line 7: missing key 'messages' "
        "(chat format)" in output
    )


def test_missing_spec_folder(tmp_path: Path) -> None:
    code, output = run("validate", "-C", str(tmp_path / "nope"))
    assert code == 1 and "no such folder" in output and "Traceback" not in output


def test_repository_specs_validate() -> None:
    code, output = run("validate", "-C", str(ROOT / "specs"))
    assert code == 0, output
    assert "Success!" in output


@pytest.mark.parametrize("folder", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_validate(folder: Path) -> None:
    code, output = run("validate", "-C", str(folder))
    assert code == 0, output


def test_expected_example_folders_exist() -> None:
    assert {p.name for p in EXAMPLES} >= {
        "supervised",
        "dpo",
        "reinforcement",
        "shared-checkpoints",
        "legacy",
        "seeds",
    }
    for folder in EXAMPLES:
        assert (folder / "README.md").is_file()
        for spec in folder.glob("*.yaml"):
            assert spec.read_text().startswith(
                "# yaml-language-server: $schema=../../reconciler/config/schema/"
            )


def test_schema_command(tmp_path: Path) -> None:
    code, output = run("schema")
    assert code == 0 and json.loads(output)["title"] == "reconciler spec document"
    code, output = run("schema", "FineTuningJob")
    assert code == 0 and json.loads(output)["title"] == "FineTuningJob"
    code, output = run("schema", "Nope")
    assert code == 1 and "unknown kind" in output
    code, output = run("schema", "--out", str(tmp_path / "schemas"))
    assert code == 0
    names = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert (
        "spec.schema.json" in names
        and "data.FineTuningJobCheckpoints.schema.json" in names
        and len(names) == 10  # one per kind (Deployment included) and spec.schema.json
    )


def test_file_of_a_job_with_errors_is_not_checked_in_a_guessed_format(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text(chat_lines())
    (tmp_path / "s.yaml").write_text(
        "kind: File\nname: t\nspec: {path: t.jsonl}\n---\n"
        + JOB.replace("file-abc", "${File.t.id}")
        + "  seed: x\n  method: {type: dpo}\n"
    )
    code, output = run("validate", "-C", str(tmp_path))
    assert code == 1 and output.strip().splitlines()[-1] == "1 error in 1 file.", output
