"""Training tokens of a fine-tuning file, counted the way OpenAI counts them, offline.

The rule for chat examples is the one in OpenAI's cookbook notebook "Data preparation and analysis
for chat model fine-tuning" (https://cookbook.openai.com/examples/chat_finetuning_data_prep,
`num_tokens_from_messages`): every message costs 3 tokens plus the tokens of each of its values, a
`name` costs 1 more, and every example 3 more for the priming of the reply. The notebook counts
string values only; what it leaves open is settled here, and the sandbox counts the same way:

- a value that is not a string (`tool_calls`, `function_call`, a list of content parts) counts as
  its compact JSON text; a message's `weight` (0 or 1, a training switch) counts nothing;
- `tools` / `functions` beside `messages` count as their compact JSON text, once per example;
- a preference (DPO) example is two sequences, each counted as a chat example: the input messages
  with the preferred output, and the input messages with the non-preferred output;
- a legacy completion example (babbage-002, davinci-002) is the tokens of `prompt` + `completion`.

Encodings are the base model's own (o200k_base for gpt-4o, gpt-4.1, gpt-4.5, gpt-5 and the o-series;
cl100k_base for gpt-3.5, gpt-4 and the legacy completion models), from `bpe-openai`, whose wheel
carries them (tiktoken downloads them at first use). Files are read line by line, so memory stays
bounded whatever the file's size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

__all__ = [
    "TOKENS_PER_MESSAGE",
    "TOKENS_PER_NAME",
    "TOKENS_REPLY_PRIMING",
    "FileCount",
    "base_model",
    "count_file",
    "count_in_process",
    "count_lines",
    "count_record",
    "count_text",
    "encoding_for",
]

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_REPLY_PRIMING = 3
_O200K = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")
_CL100K = ("gpt-3.5", "gpt-4", "babbage-002", "davinci-002", "gpt-35")


def base_model(model: str) -> str:
    """`ft:gpt-4o-mini-2024-07-18:org:suffix:id` (OpenAI) or `gpt-4o-mini-2024-07-18.ft-<hex>`
    (Azure) -> `gpt-4o-mini-2024-07-18`."""
    if model.startswith("ft:"):
        return model.split(":", 2)[1]
    if ".ft-" in model:
        return model.split(".ft-", 1)[0]
    return model


def encoding_for(model: str | None) -> str | None:
    """The encoding name of a base model (or a fine-tuned model's base), None when unknown."""
    if not model:
        return None
    name = base_model(model)
    if name.startswith(_O200K):
        return "o200k_base"
    if name.startswith(_CL100K):
        return "cl100k_base"
    return None


@lru_cache(maxsize=4)
def _counter(name: str) -> Callable[[str], int]:
    """`text -> number of tokens` for an encoding: the Rust tokenizer's own count (no list of token
    ids is built, and the Python wrapper's rank tables — 60 MB for o200k_base — are not loaded)."""
    bindings = _bindings()
    if bindings is not None:
        return cast("Callable[[str], int]", bindings.tokenizer_for_encoding(name).count)
    import bpe_openai  # pragma: no cover - a bpe-openai laid out differently

    encoding = bpe_openai.get_encoding(name)
    return lambda text: len(encoding.encode_ordinary(text))


@lru_cache(maxsize=1)
def _bindings() -> Any:
    """bpe-openai's Rust extension, loaded on its own. `import bpe_openai` builds its tiktoken-style
    tables for every encoding it ships (3 s of CPU and 60 MB of Python objects) before anything is
    counted; the extension alone loads in 0.2 s and counts the same (tests/cost compare both)."""
    import importlib.util
    import sys

    loaded = sys.modules.get("bpe_openai._bindings")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("bpe_openai")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        for candidate in sorted(Path(folder).glob("_bindings*.so")) + sorted(Path(folder).glob("_bindings*.pyd")):
            ext = importlib.util.spec_from_file_location("bpe_openai._bindings", candidate)
            if ext is None or ext.loader is None:
                continue
            module = importlib.util.module_from_spec(ext)
            ext.loader.exec_module(module)
            return module
    return None


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


Count = Callable[[str], int]


def _messages_tokens(messages: Any, count: Count, repeated: Count) -> int:
    if not isinstance(messages, list):
        return 0
    total = 0
    for message in messages:
        total += TOKENS_PER_MESSAGE
        if not isinstance(message, dict):
            continue
        # system and developer prompts repeat from example to example: counted once each
        counter = repeated if message.get("role") in ("system", "developer") else count
        for key, value in message.items():
            if type(value) is str:
                total += counter(value)
            elif key == "weight" or value is None:
                continue
            else:
                total += count(_json_text(value))
            if key == "name":
                total += TOKENS_PER_NAME
    return total


def _chat_tokens(messages: Any, extras: Mapping[str, Any], count: Count, repeated: Count) -> int:
    total = _messages_tokens(messages, count, repeated) + TOKENS_REPLY_PRIMING
    for key in ("tools", "functions"):
        if extras.get(key):
            total += repeated(_json_text(extras[key]))
    return total


def _record_tokens(record: Any, fmt: str, count: Count, repeated: Count) -> int:
    if not isinstance(record, dict):
        return 0
    if fmt == "completion":
        return sum(count(record[k]) for k in ("prompt", "completion") if isinstance(record.get(k), str))
    if fmt == "preference":
        raw = record.get("input")
        source: dict[str, Any] = raw if isinstance(raw, dict) else {}
        prompt: list[Any] = source["messages"] if isinstance(source.get("messages"), list) else []
        total = 0
        for key in ("preferred_output", "non_preferred_output"):
            output = record.get(key)
            total += _chat_tokens(prompt + (output if isinstance(output, list) else []), source, count, repeated)
        return total
    return _chat_tokens(record.get("messages"), record, count, repeated)


def count_record(record: Any, fmt: str, encoding: str) -> int:
    """Tokens of one example (parsed JSON)."""
    count = _counter(encoding)
    return _record_tokens(record, fmt, count, count)


def count_text(text: str, encoding: str) -> int:
    """Tokens of a plain text (a model's answer: `completion_tokens`)."""
    return _counter(encoding)(text)


class _Repeated:
    """Counts of texts that come back in example after example, a bounded number of them."""

    def __init__(self, count: Count, size: int = 1024, max_chars: int = 65536) -> None:
        self._count, self._size, self._max_chars = count, size, max_chars
        self._seen: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        n = self._seen.get(text)
        if n is None:
            n = self._count(text)
            if len(text) <= self._max_chars:
                if len(self._seen) >= self._size:
                    self._seen.clear()
                self._seen[text] = n
        return n


@dataclass(frozen=True)
class FileCount:
    examples: int
    tokens: int          # tokens per epoch
    sha256: str
    bytes: int
    encoding: str
    format: str

    def to_dict(self) -> dict[str, Any]:
        return {"examples": self.examples, "tokens": self.tokens, "sha256": self.sha256, "bytes": self.bytes,
                "encoding": self.encoding, "format": self.format}


def _count_records(lines: Iterable[bytes], fmt: str, count: Count, repeated: Count) -> tuple[int, int]:
    examples = tokens = 0
    loads = json.loads
    for raw in lines:
        if not raw or raw.isspace():
            continue
        try:
            record = loads(raw)
        except ValueError:
            continue
        examples += 1
        tokens += _record_tokens(record, fmt, count, repeated)
    return examples, tokens


def count_lines(lines: Iterable[bytes], fmt: str, encoding: str) -> FileCount:
    """Count a JSONL stream (bytes lines). A line that is not JSON is skipped (validation reports
    it; the count is only ever asked for files that passed it)."""
    count = _counter(encoding)
    sha = hashlib.sha256()
    size = 0

    def hashed() -> Iterator[bytes]:
        nonlocal size
        for raw in lines:
            sha.update(raw)
            size += len(raw)
            yield raw

    examples, tokens = _count_records(hashed(), fmt, count, _Repeated(count))
    return FileCount(examples, tokens, sha.hexdigest(), size, encoding, fmt)


_BLOCK = 1 << 20


def count_file(path: Path, fmt: str, encoding: str) -> FileCount:
    """Count a file read in 1 MiB blocks (hashed as they come), line by line within them: memory
    stays bounded by the block size and the longest line."""
    count = _counter(encoding)
    repeated = _Repeated(count)
    sha = hashlib.sha256()
    size = examples = tokens = 0
    tail = b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            if not block:
                break
            sha.update(block)
            size += len(block)
            lines = (tail + block).split(b"\n")
            tail = lines.pop()
            n, t = _count_records(lines, fmt, count, repeated)
            examples, tokens = examples + n, tokens + t
    n, t = _count_records([tail], fmt, count, repeated)
    return FileCount(examples + n, tokens + t, sha.hexdigest(), size, encoding, fmt)


def count_in_process(requests: Sequence[tuple[str, str, str]]) -> list[FileCount | str]:
    """count_file for each (path, format, encoding), or the line saying why it could not be read."""
    results: list[FileCount | str] = []
    for path, fmt, encoding in requests:
        try:
            results.append(count_file(Path(path), fmt, encoding))
        except OSError as exc:
            results.append(f"cannot read {path}: {exc.strerror or exc}")
    return results
