"""`{{item.X}}` in a reinforcement job's grader must name a field of its training examples:
`reconciler validate` (the real CLI) refuses an unknown one with one `file:line: Kind.name: field:
message` line naming the field and the fields the data has, instead of a job that is paid for and
fails on its first grader call."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.kinds.job.grader_fields import check_grader_fields
from reconciler.loading import collect_specs

RFT_RECORD = {
    "messages": [
        {"role": "developer", "content": "Return the ICD-10-CM code."},
        {"role": "user", "content": "Essential hypertension."},
    ],
    "reference_code": "I10",
}


def rft_lines(n: int = 10, **extra: object) -> str:
    return "".join(json.dumps({**RFT_RECORD, **extra}) + "\n" for _ in range(n))


def job(grader: str, training: str = "${File.train.id}", validation: str | None = None) -> str:
    """A reinforcement job with this grader, and the Files it references (an unreferenced File would
    be checked in chat format)."""
    text = "kind: File\nname: train\nspec:\n  path: data/train.jsonl\n---\n" if "File.train" in training else ""
    if validation:
        text += "kind: File\nname: valid\nspec:\n  path: data/valid.jsonl\n---\n"
    text += "kind: FineTuningJob\nname: coder\nspec:\n  model: o4-mini-2025-04-16\n" f"  training_file: {training}\n"
    if validation:
        text += f"  validation_file: {validation}\n"
    text += "  method:\n    type: reinforcement\n    reinforcement:\n      grader:\n"
    return text + "".join(f"        {line}\n" for line in grader.strip("\n").splitlines())


MULTI = """
type: multi
name: exact or close
calculate_output: "0.7 * exact + 0.3 * close"
graders:
  exact:
    type: string_check
    name: exact
    input: "{{sample.output_text}}"
    reference: "{{item.REF}}"
    operation: eq
  close:
    type: text_similarity
    name: close
    input: "{{sample.output_text}}"
    reference: "{{item.reference_code}}"
    evaluation_metric: fuzzy_match
"""


def validate(root: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["validate", "-C", str(root)], env={"NO_COLOR": "1"}, catch_exceptions=False)
    assert "Traceback" not in result.output
    return result.exit_code, [line.replace(str(root) + "/", "") for line in result.output.splitlines()]


def test_unknown_item_field_is_one_error_naming_the_fields_the_data_has(
    spec_dir: Callable[..., Path],
) -> None:
    spec = job(MULTI.replace("REF", "nope"), validation="${File.valid.id}")
    root = spec_dir({"s.yaml": spec, "data/train.jsonl": rft_lines(), "data/valid.jsonl": rft_lines()})
    code, lines = validate(root)
    assert code == 1
    errors = [line for line in lines if "nope" in line]
    assert len(errors) == 1, lines
    line_no = next(i for i, text in enumerate(spec.splitlines(), start=1) if "item.nope" in text)
    assert errors[0].startswith(
        f"s.yaml:{line_no}: FineTuningJob.coder: spec.method.reinforcement.grader.graders.exact.reference: "
        "{{item.nope}}: no training example has 'nope' (all 10 examples of data/train.jsonl read; "
        "their fields: messages, reference_code)"
    ), errors[0]
    assert lines[-1] == "1 error in 1 file."


def test_fields_the_examples_have_pass(spec_dir: Callable[..., Path]) -> None:
    root = spec_dir(
        {
            "s.yaml": job(MULTI.replace("REF", "reference_code"), validation="${File.valid.id}"),
            "data/train.jsonl": rft_lines(),
            "data/valid.jsonl": rft_lines(),
        }
    )
    assert validate(root) == (0, ["Success! 3 documents in 1 file are valid."])


def test_validation_file_is_checked_too(spec_dir: Callable[..., Path]) -> None:
    """Graders also run on the validation examples: a field only the training data has fails there."""
    other = {"messages": RFT_RECORD["messages"], "answer": "I10"}
    root = spec_dir(
        {
            "s.yaml": job(MULTI.replace("REF", "reference_code"), validation="${File.valid.id}"),
            "data/train.jsonl": rft_lines(),
            "data/valid.jsonl": "".join(json.dumps(other) + "\n" for _ in range(10)),
        }
    )
    code, lines = validate(root)
    assert code == 1
    assert len(lines) == 2, lines
    assert "{{item.reference_code}}: no validation example has 'reference_code' (all 10 examples of " \
           "data/valid.jsonl read; their fields: answer, messages)" in lines[0]


def test_a_field_some_examples_lack_names_the_first_line(spec_dir: Callable[..., Path]) -> None:
    lacking = json.dumps({"messages": RFT_RECORD["messages"]}) + "\n"
    root = spec_dir(
        {
            "s.yaml": job(MULTI.replace("REF", "reference_code")),
            "data/train.jsonl": rft_lines(6) + lacking + rft_lines(4) + lacking,
            "data/valid.jsonl": rft_lines(),
        }
    )
    code, lines = validate(root)
    assert code == 1
    assert len(lines) == 2, lines
    assert ("{{item.reference_code}}: 2 of all 12 training examples of data/train.jsonl have no "
            "'reference_code' (first: line 7)") in lines[0]


def test_templates_in_score_model_messages_and_with_spaces_are_read(spec_dir: Callable[..., Path]) -> None:
    grader = """
type: score_model
name: judge
model: gpt-4o-2024-08-06
input:
  - role: user
    content:
      - type: input_text
        text: "Reference: {{ item.gold }}  Candidate: {{sample.output_text}}"
"""
    spec = job(grader)
    root = spec_dir({"s.yaml": spec, "data/train.jsonl": rft_lines(), "data/valid.jsonl": rft_lines()})
    code, lines = validate(root)
    assert code == 1
    line_no = next(i for i, text in enumerate(spec.splitlines(), start=1) if "item.gold" in text)
    assert lines[0].startswith(
        f"s.yaml:{line_no}: FineTuningJob.coder: spec.method.reinforcement.grader.input[0].content[0].text: "
        "{{item.gold}}: no training example has 'gold'"
    ), lines[0]


def test_a_literal_file_id_is_not_read(spec_dir: Callable[..., Path]) -> None:
    """An uploaded file named by id cannot be read locally: nothing to check, no error."""
    root = spec_dir(
        {
            "s.yaml": job(MULTI.replace("REF", "nope"), training="file-abc123"),
            "data/train.jsonl": rft_lines(),
            "data/valid.jsonl": rft_lines(),
        }
    )
    assert validate(root) == (0, ["Success! 1 document in 1 file is valid."])


def test_only_the_first_examples_are_read(spec_dir: Callable[..., Path]) -> None:
    """Streaming: with max_examples=5 a field first seen on line 6 is unknown, and the lines after
    the fifth example are never parsed (a broken tail does not matter to this check)."""
    root = spec_dir(
        {
            "s.yaml": job(MULTI.replace("REF", "late"), validation="${File.valid.id}"),
            "data/train.jsonl": rft_lines(5) + rft_lines(5, late="x") + "not json\n" * 3,
            "data/valid.jsonl": rft_lines(),
        }
    )
    errors = check_grader_fields(collect_specs(root, {}).specset, max_examples=5)
    assert [e.message for e in errors] == [
        "{{item.late}}: no training example has 'late' (first 5 examples of data/train.jsonl read; their "
        "fields: messages, reference_code); no validation example has 'late' (first 5 examples of "
        "data/valid.jsonl read; their fields: messages, reference_code): the grader would fail on them; "
        "fix the template or add the field to the data"
    ]


def test_the_reinforcement_example_validates() -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / "reinforcement"
    assert check_grader_fields(collect_specs(root, {}).specset) == []
