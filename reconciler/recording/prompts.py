"""The prompt set: every example of a chat JSONL file up to its last user turn.

A prompt's id is the sha256 of its messages' canonical JSON, so a recording and a comparison made
from the same file agree on which answer belongs to which prompt, whatever their order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError

__all__ = ["Prompt", "dump_prompts", "prompt_id", "prompts_from_lines", "read_prompts"]

MAX_LINE = 16 * 1024 * 1024   # one example; a longer line is refused, not read into memory whole


@dataclass(frozen=True)
class Prompt:
    index: int                          # position in the prompt set
    id: str                             # sha256 of the canonical messages
    messages: tuple[dict[str, Any], ...]
    line: int                           # where it came from, for messages

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.id, "messages": list(self.messages)}


def prompt_id(messages: Iterable[dict[str, Any]]) -> str:
    text = json.dumps(list(messages), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _prompt_messages(record: Any) -> list[dict[str, Any]] | None:
    """The messages up to and including the last user turn (what the model is asked)."""
    if not isinstance(record, dict):
        return None
    messages = record.get("messages")
    if messages is None and isinstance(record.get("input"), dict):   # a preference (DPO) example
        messages = record["input"].get("messages")
    if not isinstance(messages, list):
        return None
    last_user = max((i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"),
                    default=None)
    if last_user is None:
        return None
    kept = []
    for message in messages[:last_user + 1]:
        if not isinstance(message, dict):
            return None
        kept.append({k: v for k, v in message.items() if k != "weight"})
    return kept


def prompts_from_lines(lines: Iterable[bytes], where: str, limit: int | None = None) -> Iterator[Prompt]:
    """Prompts in file order, duplicates skipped, at most `limit`; ConfigError names the line."""
    seen: set[str] = set()
    index = 0
    for number, raw in enumerate(lines, start=1):
        if limit is not None and index >= limit:
            return
        if len(raw) > MAX_LINE:
            raise ConfigError(f"{where}:{number}: a line of more than {MAX_LINE // (1024 * 1024)} MiB")
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"{where}:{number}: not JSON ({exc})") from None
        messages = _prompt_messages(record)
        if messages is None:
            raise ConfigError(f"{where}:{number}: messages: expected a chat example with at least one user turn")
        pid = prompt_id(messages)
        if pid in seen:
            continue
        seen.add(pid)
        yield Prompt(index=index, id=pid, messages=tuple(messages), line=number)
        index += 1


def read_prompts(path: Path, limit: int | None = None) -> list[Prompt]:
    if not path.is_file():
        raise ConfigError(f"{path}: no such prompt file")
    with open(path, "rb") as fh:
        prompts = list(prompts_from_lines(fh, str(path), limit))
    if not prompts:
        raise ConfigError(f"{path}: no prompt in it (a chat example with a user turn per line)")
    return prompts


def dump_prompts(prompts: Iterable[Prompt]) -> bytes:
    """prompts.jsonl as a recording keeps it (one canonical line per prompt)."""
    return b"".join(json.dumps(p.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
                    + b"\n" for p in prompts)
