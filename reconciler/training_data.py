"""Checks of fine-tuning JSONL, shared by `reconciler validate` and the sandbox.

One record per line, checked against the format the fine-tuning method expects, the way the
real service does before a job starts:

- supervised (chat):  {"messages": [{"role": ..., "content": ...}, ...]} with an assistant turn
  (legacy completion models babbage-002 / davinci-002: {"prompt": str, "completion": str})
- dpo (preference):   {"input": {"messages": [...]}, "preferred_output": [assistant message],
                       "non_preferred_output": [assistant message]}
- reinforcement:      {"messages": [...], ...fields the grader reads}, ending on a non-assistant turn

Files are read line by line, so a file of any size is checked in bounded memory.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = [
    "METHODS",
    "MIN_EXAMPLES",
    "CheckResult",
    "RecordProblem",
    "check_file",
    "check_lines",
    "format_for",
]

MIN_EXAMPLES = 10
METHODS = ("supervised", "dpo", "reinforcement")
COMPLETION_MODELS = ("babbage-002", "davinci-002")
ROLES = {"system", "user", "assistant", "tool", "developer", "function"}
MAX_PROBLEMS = 20
# A line longer than this is not read whole (so a broken file - one huge line, a minified JSON
# array, a binary - cannot take memory in proportion to its size); it is reported instead.
MAX_LINE_BYTES = 32 * 1024 * 1024
_TOO_LONG = object()


@dataclass(frozen=True)
class RecordProblem:
    line: int  # 1-based line number in the file; 0 for a problem with the file as a whole
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class CheckResult:
    format: str
    examples: int = 0
    problems: list[RecordProblem] = field(default_factory=list)
    truncated: bool = False  # more problems than were kept

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"{self.examples} {self.format} examples"
        first = self.problems[0]
        more = len(self.problems) - 1
        tail = f" (and {more}{'+' if self.truncated else ''} more)" if more or self.truncated else ""
        return f"{first}{tail}"


def format_for(method: str | None, model: str | None = None) -> str:
    """The record format a job with this method (and base model) needs."""
    method = method or "supervised"
    if method == "dpo":
        return "preference"
    if method == "reinforcement":
        return "reinforcement"
    if model and any(model.startswith(m) for m in COMPLETION_MODELS):
        return "completion"
    return "chat"


def _content_ok(content: Any) -> bool:
    if content is None or isinstance(content, str):
        return True
    if isinstance(content, list):
        return all(isinstance(part, dict) and isinstance(part.get("type"), str) for part in content)
    return False


def _messages_problem(messages: Any, where: str) -> str | None:
    if not isinstance(messages, list) or not messages:
        return f"{where} must be a non-empty list of messages"
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"{where}[{i}] must be an object"
        role = message.get("role")
        if role not in ROLES:
            close = difflib.get_close_matches(role, sorted(ROLES), n=1) if isinstance(role, str) else []
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"{where}[{i}].role must be one of {', '.join(sorted(ROLES))}{hint}"
        if "content" not in message and "tool_calls" not in message and "function_call" not in message:
            return f"{where}[{i}] has no content"
        if not _content_ok(message.get("content")):
            return f"{where}[{i}].content must be a string or a list of content parts"
        weight = message.get("weight")
        if weight is not None and weight not in (0, 1):
            return f"{where}[{i}].weight must be 0 or 1"
    return None


def _check_record(record: Any, fmt: str) -> str | None:
    if not isinstance(record, dict):
        return "each line must be a JSON object"
    if fmt == "completion":
        if not isinstance(record.get("prompt"), str) or not isinstance(record.get("completion"), str):
            return "a completion example needs string fields 'prompt' and 'completion'"
        return None
    if fmt == "chat":
        if "messages" not in record:
            return "missing key 'messages' (chat format)"
        problem = _messages_problem(record["messages"], "messages")
        if problem:
            return problem
        if not any(m.get("role") == "assistant" for m in record["messages"]):
            return "messages has no assistant message to learn from"
        return None
    if fmt == "preference":
        missing = [k for k in ("input", "preferred_output", "non_preferred_output") if k not in record]
        if missing and "chosen" in record and "rejected" in record:
            return ("the chosen/rejected shape is not what the API reads: write {\"input\": {\"messages\": [...]}, "
                    "\"preferred_output\": [assistant message], \"non_preferred_output\": [assistant message]} "
                    "(preference format for DPO)")
        if missing:
            return f"missing key {', '.join(repr(k) for k in missing)} (preference format for DPO)"
        inp = record["input"]
        if not isinstance(inp, dict):
            return "input must be an object with 'messages'"
        problem = _messages_problem(inp.get("messages"), "input.messages")
        if problem:
            return problem
        for key in ("preferred_output", "non_preferred_output"):
            problem = _messages_problem(record[key], key)
            if problem:
                return problem
            if any(m.get("role") != "assistant" for m in record[key]):
                return f"{key} may only hold assistant messages"
        return None
    if fmt == "reinforcement":
        if "messages" not in record:
            return "missing key 'messages' (reinforcement format)"
        problem = _messages_problem(record["messages"], "messages")
        if problem:
            return problem
        if record["messages"][-1].get("role") == "assistant":
            return "the last message must not be an assistant message: the model writes that turn"
        return None
    raise ValueError(f"unknown format {fmt!r}")


def check_lines(lines: Iterable[bytes | str], fmt: str, *, max_problems: int = MAX_PROBLEMS) -> CheckResult:
    result = CheckResult(format=fmt)
    for number, raw in enumerate(lines, start=1):
        if raw is _TOO_LONG:
            _add(result, RecordProblem(number, f"longer than {MAX_LINE_BYTES // (1024 * 1024)} MB: not one "
                                               "example per line (is this a JSONL file?)"), max_problems)
            continue
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                _add(result, RecordProblem(number, "not valid UTF-8"), max_problems)
                continue
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError as exc:
            _add(result, RecordProblem(number, json_problem(exc)), max_problems)
            continue
        problem = _check_record(record, fmt)
        if problem:
            _add(result, RecordProblem(number, problem), max_problems)
        else:
            result.examples += 1
    if not result.problems and result.examples < MIN_EXAMPLES:
        result.problems.append(
            RecordProblem(0, f"has {result.examples} example(s); fine-tuning needs at least {MIN_EXAMPLES}")
        )
    return result


_JSON_REASONS = {
    "Invalid control character at": "control character (a raw tab or newline) inside a string",
    "Unterminated string starting at": "a string is not closed (a missing \")",
    "Expecting value": "a value is missing or is not JSON (strings need double quotes; true, false, null "
                       "in lower case)",
    "Expecting ',' delimiter": "a comma is missing between two items",
    "Expecting ':' delimiter": "a colon is missing after a key",
    "Expecting property name enclosed in double quotes": "a key is not in double quotes (or a comma is "
                                                          "left before a closing brace)",
    "Extra data": "more than one JSON value on the line (one example per line)",
    "Invalid \\escape": "an invalid backslash escape inside a string",
}


def json_problem(exc: ValueError) -> str:
    """One line about JSON that does not parse, with the column: "not valid JSON: control character
    (a raw tab or newline) inside a string at column 17" rather than Python's "Invalid control
    character at"."""
    if not isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc}"
    reason = _JSON_REASONS.get(exc.msg)
    if reason is None:
        reason = next((text for key, text in _JSON_REASONS.items() if exc.msg.startswith(key)), exc.msg)
    if exc.lineno > 1:  # past the record's own line: the line ended before the value did
        end = len(exc.doc.split("\n", 1)[0].rstrip("\r")) + 1
        return f"not valid JSON: {reason} at the end of the line (column {end})"
    return f"not valid JSON: {reason} at column {exc.colno}"


def _add(result: CheckResult, problem: RecordProblem, limit: int) -> None:
    if len(result.problems) < limit:
        result.problems.append(problem)
    else:
        result.truncated = True


def check_file(path: str | Path | IO[bytes], fmt: str, *, max_problems: int = MAX_PROBLEMS) -> CheckResult:
    """Check a JSONL file streaming, line by line."""
    if hasattr(path, "read"):
        return check_lines(path, fmt, max_problems=max_problems)  # type: ignore[arg-type]
    with open(path, "rb") as fh:
        return check_lines(_bounded_lines(fh), fmt, max_problems=max_problems)


def _bounded_lines(fh: IO[bytes], limit: int | None = None) -> Iterable[Any]:
    """The file's lines; one longer than `limit` bytes is skipped in chunks and yielded as _TOO_LONG."""
    limit = MAX_LINE_BYTES if limit is None else limit
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            line = b""
            while True:
                chunk = fh.readline(1024 * 1024)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield _TOO_LONG
        else:
            yield line
