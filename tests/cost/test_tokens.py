"""Token counts equal OpenAI's own counting rule, computed here independently with bpe-openai's
tiktoken-compatible `Encoding.encode` (reconciler counts with the Rust extension directly).

Reference rule: OpenAI cookbook, "Data preparation and analysis for chat model fine-tuning"
(https://cookbook.openai.com/examples/chat_finetuning_data_prep, `num_tokens_from_messages`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.cost.tokens import count_file, count_record, encoding_for

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def encodings() -> dict[str, Any]:
    import bpe_openai

    return {name: bpe_openai.get_encoding(name) for name in ("o200k_base", "cl100k_base")}


def cookbook_num_tokens_from_messages(encoding: Any, messages: list[dict[str, Any]],
                                      tokens_per_message: int = 3, tokens_per_name: int = 1) -> int:
    # From the cookbook notebook cited above (its `encoding` is tiktoken's; here bpe-openai's twin).
    num_tokens = 0
    for message in messages:
        num_tokens += tokens_per_message
        for key, value in message.items():
            num_tokens += len(encoding.encode(value))
            if key == "name":
                num_tokens += tokens_per_name
    num_tokens += 3
    return num_tokens


def _reference_messages(encoding: Any, messages: list[dict[str, Any]], extras: dict[str, Any]) -> int:
    """The cookbook rule, with the documented extensions: non-string values as compact JSON, `weight`
    not counted, `tools`/`functions` as compact JSON once per example."""
    as_text = [{k: (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":")))
                for k, v in m.items() if k != "weight" and v is not None} for m in messages]
    total = cookbook_num_tokens_from_messages(encoding, as_text)
    for key in ("tools", "functions"):
        if extras.get(key):
            total += len(encoding.encode(json.dumps(extras[key], ensure_ascii=False, separators=(",", ":"))))
    return total


def reference(encoding: Any, record: dict[str, Any], fmt: str) -> int:
    if fmt == "completion":
        return len(encoding.encode(record["prompt"])) + len(encoding.encode(record["completion"]))
    if fmt == "preference":
        source = record["input"]
        return sum(_reference_messages(encoding, source["messages"] + record[key], source)
                   for key in ("preferred_output", "non_preferred_output"))
    return _reference_messages(encoding, record["messages"], record)


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("encoding_name", ["o200k_base", "cl100k_base"])
def test_cookbook_toy_file_counts_exactly_as_the_cookbook_function(encodings: dict[str, Any],
                                                                  encoding_name: str) -> None:
    path = FIXTURES / "toy_chat_fine_tuning.jsonl"
    enc = encodings[encoding_name]
    expected = [cookbook_num_tokens_from_messages(enc, r["messages"]) for r in _records(path)]
    assert [count_record(r, "chat", encoding_name) for r in _records(path)] == expected
    counted = count_file(path, "chat", encoding_name)
    assert (counted.examples, counted.tokens) == (4, sum(expected))


@pytest.mark.parametrize(("name", "fmt", "encoding_name"), [
    ("tools_and_names.jsonl", "chat", "o200k_base"),
    ("preference.jsonl", "preference", "o200k_base"),
    ("completion.jsonl", "completion", "cl100k_base"),
])
def test_names_tools_preference_and_completion(encodings: dict[str, Any], name: str, fmt: str,
                                               encoding_name: str) -> None:
    path = FIXTURES / name
    expected = sum(reference(encodings[encoding_name], r, fmt) for r in _records(path))
    assert count_file(path, fmt, encoding_name).tokens == expected


def test_a_name_costs_one_token_more(encodings: dict[str, Any]) -> None:
    plain = {"messages": [{"role": "user", "content": "hi"}]}
    named = {"messages": [{"role": "user", "content": "hi", "name": "bo"}]}
    enc = encodings["o200k_base"]
    assert count_record(named, "chat", "o200k_base") - count_record(plain, "chat", "o200k_base") == \
        len(enc.encode("bo")) + 1


EXAMPLE_FILES = [
    ("supervised/data/sql_train.jsonl", "chat"),
    ("supervised/data/sql_valid.jsonl", "chat"),
    ("shared-checkpoints/data/sql_train.jsonl", "chat"),
    ("terraform/data/support_train.jsonl", "chat"),
    ("dpo/data/shop_prefs.jsonl", "preference"),
    ("reinforcement/data/icd10_train.jsonl", "chat"),
    ("legacy/data/taglines.jsonl", "completion"),
]


@pytest.mark.parametrize(("relative", "fmt"), EXAMPLE_FILES)
def test_the_project_examples_count_exactly(encodings: dict[str, Any], relative: str, fmt: str) -> None:
    path = EXAMPLES / relative
    for encoding_name in ("o200k_base", "cl100k_base"):
        expected = sum(reference(encodings[encoding_name], r, fmt) for r in _records(path))
        counted = count_file(path, fmt, encoding_name)
        assert (counted.examples, counted.tokens) == (len(_records(path)), expected), encoding_name


@pytest.mark.parametrize(("model", "encoding"), [
    ("gpt-4o-mini-2024-07-18", "o200k_base"), ("gpt-4o", "o200k_base"), ("gpt-4.1-nano-2025-04-14", "o200k_base"),
    ("o4-mini-2025-04-16", "o200k_base"), ("ft:gpt-4.1-2025-04-14:acme:x:abc123", "o200k_base"),
    ("gpt-3.5-turbo-0125", "cl100k_base"), ("gpt-4-0613", "cl100k_base"), ("babbage-002", "cl100k_base"),
    ("davinci-002", "cl100k_base"), ("llama-3", None), (None, None),
])
def test_encoding_of_each_model_family(model: str | None, encoding: str | None) -> None:
    assert encoding_for(model) == encoding


def test_counting_is_streamed_and_hashes_the_bytes(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "t.jsonl"
    line = json.dumps({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]})
    path.write_text((line + "\n") * 1000 + "\n", encoding="utf-8")
    counted = count_file(path, "chat", "o200k_base")
    assert counted.examples == 1000
    assert counted.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert counted.bytes == path.stat().st_size
