"""check_training_files: the format of each File follows the jobs that use it."""

from __future__ import annotations

import json

from reconciler.kinds.job.training_files import check_training_files, file_formats
from reconciler.loading import collect_specs

from .conftest import chat_lines

PREF = {
    "input": {"messages": [{"role": "user", "content": "Hi"}]},
    "preferred_output": [{"role": "assistant", "content": "Hello! How can I help?"}],
    "non_preferred_output": [{"role": "assistant", "content": "What."}],
}


def load(spec_dir, files):
    root = spec_dir(files)
    collected = collect_specs(root, {})
    assert not collected.errors, collected.errors
    return root, collected.specset


def job(name: str, method: str, file: str = "train", model: str = "gpt-4o-mini") -> str:
    extra = {
        "dpo": "  method: {type: dpo}\n",
        "reinforcement": "  method:\n    type: reinforcement\n    reinforcement:\n"
        "      grader: {type: python, name: p, source: x}\n",
        "supervised": "",
    }[method]
    return (
        f"---\nkind: FineTuningJob\nname: {name}\nspec:\n  model: {model}\n"
        f"  training_file: ${{File.{file}.id}}\n" + extra
    )


FILE = "kind: File\nname: train\nspec:\n  path: data/t.jsonl\n"


def test_chat_ok_and_format_map(spec_dir) -> None:
    _, specset = load(spec_dir, {"s.yaml": FILE + job("a", "supervised"), "data/t.jsonl": chat_lines()})
    assert check_training_files(specset) == []
    assert file_formats(specset) == {"File.train": {"chat": ["FineTuningJob.a"]}}


def test_dpo_file_needs_preference_format(spec_dir) -> None:
    root, specset = load(spec_dir, {"s.yaml": FILE + job("a", "dpo"), "data/t.jsonl": chat_lines()})
    errors = [str(e).replace(str(root) + "/", "") for e in check_training_files(specset)]
    assert errors[0] == (
        "s.yaml:4: File.train: spec.path: data/t.jsonl line 1: missing key 'input', "
        "'preferred_output', 'non_preferred_output' (preference format for DPO)"
    )
    _, specset = load(
        spec_dir, {"s.yaml": FILE + job("a", "dpo"), "data/t.jsonl": (json.dumps(PREF) + "\n") * 10}
    )
    assert check_training_files(specset) == []


def test_completion_models_need_prompt_completion(spec_dir) -> None:
    _root, specset = load(
        spec_dir, {"s.yaml": FILE + job("a", "supervised", model="davinci-002"), "data/t.jsonl": chat_lines()}
    )
    errors = check_training_files(specset)
    assert len(errors) == 10 and "'prompt' and 'completion'" in errors[0].message


def test_reinforcement_last_turn(spec_dir) -> None:
    _root, specset = load(spec_dir, {"s.yaml": FILE + job("a", "reinforcement", model="o4-mini"),
                                             "data/t.jsonl": chat_lines()})
    errors = check_training_files(specset)
    assert errors and "the last message must not be an assistant message" in errors[0].message


def test_conflicting_formats(spec_dir) -> None:
    _root, specset = load(
        spec_dir, {"s.yaml": FILE + job("a", "supervised") + job("b", "dpo"), "data/t.jsonl": chat_lines()}
    )
    errors = check_training_files(specset)
    assert len(errors) == 1
    assert (
        "used by jobs that need different formats (chat for FineTuningJob.a; preference for FineTuningJob.b)"
        in errors[0].message
    )


def test_too_few_examples_and_bad_json(spec_dir) -> None:
    _root, specset = load(spec_dir, {"s.yaml": FILE, "data/t.jsonl": chat_lines(3)})
    assert (
        "has 3 example(s); fine-tuning needs at least 10 (chat format)"
        in check_training_files(specset)[0].message
    )
    _, specset = load(spec_dir, {"s.yaml": FILE, "data/t.jsonl": chat_lines(10) + "{not json\n"})
    assert check_training_files(specset)[0].message.startswith("data/t.jsonl line 11: not valid JSON")


def test_seed_003_chosen_rejected_shape_gets_a_hint(spec_dir) -> None:
    record = {"messages": [{"role": "user", "content": "Hello!"}], "chosen": "Hi there!", "rejected": "Yo"}
    _, specset = load(
        spec_dir, {"s.yaml": FILE + job("a", "dpo"), "data/t.jsonl": (json.dumps(record) + "\n") * 10}
    )
    message = check_training_files(specset)[0].message
    assert "chosen/rejected" in message and "preferred_output" in message
