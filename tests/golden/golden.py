"""Golden-file comparison and the normaliser for output that carries run-specific values.

`check(name, text)` compares `text` byte for byte with `tests/golden/files/<name>`; with
`UPDATE_GOLDENS=1` in the environment it (re)writes the file instead. A mismatch fails with a
unified diff (escape characters shown as `\\x1b`, so colour codes are readable).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from reconciler import __version__

FILES = Path(__file__).resolve().parent / "files"
UPDATE = os.environ.get("UPDATE_GOLDENS", "") not in ("", "0")

__all__ = ["FILES", "UPDATE", "Normaliser", "check", "check_all", "diff"]


def _visible(text: str) -> str:
    return text.replace("\x1b", "\\x1b")


def diff(expected: str, actual: str, name: str) -> str:
    lines = difflib.unified_diff(_visible(expected).splitlines(keepends=True),
                                 _visible(actual).splitlines(keepends=True),
                                 fromfile=f"tests/golden/files/{name} (golden)", tofile=f"{name} (actual)")
    text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return text or "(the texts differ only in line endings or invisible characters)\n"


def _mismatch(name: str, actual: str) -> str | None:
    """None when `actual` matches the golden file (or was written to it); else the reason."""
    path = FILES / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        return None
    if not path.exists():
        return f"{name}: no golden file; run `UPDATE_GOLDENS=1 .venv/bin/python -m pytest tests/golden` to create it"
    expected = path.read_bytes().decode("utf-8")
    if expected == actual:
        return None
    return f"{name} differs from its golden file:\n{diff(expected, actual, name)}"


def check(name: str, actual: str) -> None:
    problem = _mismatch(name, actual)
    if problem is not None:
        pytest.fail(problem, pytrace=False)


def check_all(items: Iterable[tuple[str, str]]) -> None:
    """Check several goldens and report every mismatch at once (one run of a slow flow)."""
    problems = [p for name, text in items if (p := _mismatch(name, text)) is not None]
    if problems:
        pytest.fail(f"{len(problems)} golden file(s) differ\n\n" + "\n".join(problems), pytrace=False)


# ---- normalising run-specific values ------------------------------------------------------------

# Sandbox ids: the sandbox is seeded, but which object gets which id depends on the order the
# executor happens to create them in (an implementation detail a refactor may change), so ids
# become <prefix-N>, N counted per prefix in order of first appearance in the output. Only the
# exact shapes the sandbox generates (reconciler_sandbox/world.py, lifecycle.py) are replaced: ids
# written in specs (examples/seeds' `ftjob-abc123def456`) stay as they are.
_IDS = re.compile(r"\b(?:(file)(-)[A-Za-z0-9]{22}|(ftjob|ftevent)(-)[A-Za-z0-9]{24}|(cp|ftckpt)(_)[A-Za-z0-9]{24})\b")
# The last part of a sandbox fine-tuned model name is derived from its job's id
# (ft:MODEL:sandbox:SUFFIX:TOKEN, TOKEN 8 characters).
_MODEL_TOKEN = re.compile(r"(\bft:[^:\s\"'`]+:sandbox:[^:\s\"'`]*:)([A-Za-z0-9]{8})\b")
# State lineage (uuid4, fresh for every new state file).
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
# Wall-clock instants written by the CLI: drift report times (ISO, with or without Z) ... These
# are not numbered: whether two runs fall in the same second is luck, not meaning.
_ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?\b")
# ... and the plan's own creation time (`created_at` of the plan, one level deep in the JSON; the
# `created_at` of API objects is the sandbox's clock, which the tests start at a fixed instant).
_PLAN_CREATED = re.compile(r'^( {1,2}"created_at": )\d+(?:\.\d+)?(,?)$', re.MULTILINE)
# Wall-clock durations of apply actions ("Creation complete after 0s", "Still waiting... [1m3s elapsed]").
_DURATION = re.compile(r"(\bcomplete after |\[)\d+(?:s|m\d+s|h\d+m)(?=\s|\]| elapsed|$)")
_VERSION = re.compile(r'("reconciler_version": ?)"' + re.escape(__version__) + '"')
# A saved plan's seal: the sha256 of its text, which holds the lineage and the plan's creation time.
_PLAN_DIGEST = re.compile(r'("plan_digest": )"sha256:[0-9a-f]{64}"')


class Normaliser:
    """Replaces run-specific values with stable placeholders. One instance per flow, so the same
    id gets the same placeholder in every output of that flow (plan, apply, drift, ...).

    Explicit on purpose: every rule is listed above and nothing else changes; no line is dropped."""

    def __init__(self, *paths: Path) -> None:
        self.paths = sorted({str(p) for path in paths for p in (path, path.resolve())}, key=len, reverse=True)
        self.seen: dict[str, dict[str, str]] = {}
        self.literals: dict[str, str] = {}  # exact text -> placeholder (e.g. the sandbox's URL and port)

    def _number(self, kind: str, value: str, make: Callable[[int], str]) -> str:
        table = self.seen.setdefault(kind, {})
        if value not in table:
            table[value] = make(len(table) + 1)
        return table[value]

    def _id(self, match: re.Match[str]) -> str:
        prefix, sep = (g for g in match.groups() if g is not None)
        return self._number(prefix, match.group(0), lambda n: f"<{prefix}{sep}{n}>")

    def __call__(self, text: str) -> str:
        for literal, placeholder in self.literals.items():
            text = text.replace(literal, placeholder)
        for path in self.paths:
            text = text.replace(path, "<TMP>")
        text = _MODEL_TOKEN.sub(lambda m: m.group(1) + self._number("model", m.group(2), lambda n: f"<model-{n}>"),
                                text)
        text = _IDS.sub(self._id, text)
        text = _UUID.sub(lambda m: self._number("uuid", m.group(0), lambda n: f"<uuid-{n}>"), text)
        text = _ISO.sub("<time>", text)
        text = _PLAN_CREATED.sub(r'\1"<plan-created-at>"\2', text)
        text = _DURATION.sub(r"\1<duration>", text)
        text = _PLAN_DIGEST.sub(r'\1"<plan-digest>"', text)
        return version_free(text)


def version_free(text: str) -> str:
    """`"reconciler_version": "<version>"`: a release must not need new goldens."""
    return _VERSION.sub(r'\1"<version>"', text)
