"""`reconciler validate --run-graders`: the real CLI (a subprocess) with --sandbox, the graders run
over HTTP by the sandbox's graders/run; the trial's pieces table-driven."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.kinds.job.grader_trial import _reference_field, _sample

ROOT = Path(__file__).resolve().parents[2]


def _validate(specs: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "reconciler", "validate", "-C", str(specs), "--sandbox",
                           "--state", str(tmp_path / "state" / "default.json"), *args],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    target = tmp_path / "reinforcement"
    shutil.copytree(ROOT / "examples" / "reinforcement", target)
    return target


def test_example_prints_scores(example: Path, tmp_path: Path) -> None:
    run = _validate(example, tmp_path, "--run-graders", "--rows", "3")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "FineTuningJob.icd10_coder: grader 'exact or close' on the first 3 rows of data/icd10_valid.jsonl " \
           "(graded answer: item.reference_code (the reference answer))" in run.stdout
    assert "  scores  1.00 1.00 1.00\n  min 1.00  median 1.00  mean 1.00  max 1.00\n" in run.stdout
    assert "FineTuningJob.icd10_coder_judged: grader 'judge' on the first 3 rows" in run.stdout
    assert "Success!" in run.stdout


def test_json_carries_scores(example: Path, tmp_path: Path) -> None:
    run = _validate(example, tmp_path, "--run-graders", "--rows", "2", "--json")
    assert run.returncode == 0, run.stderr
    graders = {g["address"]: g for g in json.loads(run.stdout)["graders"]}
    assert graders["FineTuningJob.icd10_coder"]["scores"] == [1.0, 1.0]
    assert graders["FineTuningJob.icd10_coder"]["summary"]["mean"] == 1.0


def test_without_the_flag_nothing_is_sent(example: Path, tmp_path: Path) -> None:
    run = _validate(example, tmp_path)
    assert run.returncode == 0 and "scores" not in run.stdout
    assert not (tmp_path / "state" / "sandbox-world.json").exists()


def test_a_missing_item_field_names_the_row_and_field(example: Path, tmp_path: Path) -> None:
    valid = example / "data" / "icd10_valid.jsonl"
    lines = valid.read_text().splitlines()
    row = json.loads(lines[2])
    row["code"] = row.pop("reference_code")
    lines[2] = json.dumps(row)
    valid.write_text("\n".join(lines) + "\n")
    run = _validate(example, tmp_path, "--run-graders")
    assert run.returncode == 1
    assert "{{item.reference_code}}" in run.stdout and "data/icd10_valid.jsonl" in run.stdout
    assert "(first: line 3)" in run.stdout


def test_a_grader_error_fails_naming_the_row_and_flag(example: Path, tmp_path: Path) -> None:
    specs = example / "specs.yaml"
    specs.write_text(specs.read_text().replace('calculate_output: "0.7 * exact + 0.3 * close"',
                                               'calculate_output: "0.7 * exact + nope"'))
    run = _validate(example, tmp_path, "--run-graders", "--rows", "2")
    assert run.returncode == 1, run.stdout
    assert "data/icd10_valid.jsonl:1: the grader failed (formula_parse_error)" in run.stdout
    assert "2 grader errors." in run.stdout


@pytest.mark.parametrize(("record", "reference", "sample", "source"), [
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "A"}], "ref": "B"}, "ref",
     "A", "the row's last assistant message"),
    ({"messages": [{"role": "user", "content": "q"}], "ref": "B"}, "ref", "B", "item.ref (the reference answer)"),
    ({"messages": [{"role": "user", "content": "q"}], "ref": {"k": 1}}, "ref", '{"k": 1}',
     "item.ref (the reference answer)"),
    ({"messages": []}, None, "", "an empty answer"),
    ({"messages": []}, "ref", "", "an empty answer"),
])
def test_sample_graded(record, reference, sample, source) -> None:
    assert _sample(record, reference) == (sample, source)


@pytest.mark.parametrize(("grader", "field"), [
    ({"type": "string_check", "reference": "{{item.label}}"}, "label"),
    ({"type": "string_check", "reference": "fixed"}, None),
    ({"type": "multi", "graders": {"a": {"reference": "x"}, "b": {"reference": "{{ item.gold }}"}}}, "gold"),
    ({"type": "multi", "graders": {"type": "text_similarity", "reference": "{{item.ans}}"}}, "ans"),
    ({"type": "score_model", "input": [{"role": "user", "content": "{{item.q}}"}]}, None),
])
def test_reference_field(grader, field) -> None:
    assert _reference_field(grader) == field
