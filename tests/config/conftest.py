"""Helpers for the spec-language tests: write a spec folder, load it, list the problems as lines."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.loading import collect_specs

CHAT_RECORD = {
    "messages": [
        {"role": "user", "content": "Where is my order?"},
        {"role": "assistant", "content": "It ships tomorrow."},
    ]
}


def chat_lines(n: int = 10) -> str:
    return "".join(json.dumps(CHAT_RECORD) + "\n" for _ in range(n))


@pytest.fixture
def spec_dir(tmp_path: Path) -> Callable[..., Path]:
    """spec_dir({"s.yaml": text, "data/t.jsonl": text}) -> folder with those files (text dedented)."""

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "specs"
        root.mkdir(exist_ok=True)
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return root

    return make


@pytest.fixture
def problems(spec_dir: Callable[..., Path]) -> Callable[..., list[str]]:
    """problems(yaml_text, variables=None, extra_files=None) -> ["specs/s.yaml:LINE: ...", ...] with the
    folder prefix removed, errors only; warnings via problems(..., warnings=True)."""

    def run(
        text: str,
        variables: dict[str, Any] | None = None,
        extra: dict[str, str] | None = None,
        warnings: bool = False,
    ) -> list[str]:
        root = spec_dir({"s.yaml": text, **(extra or {})})
        collected = collect_specs(root, variables or {})
        found = collected.warnings if warnings else collected.errors
        return [str(e).replace(str(root) + "/", "") for e in found]

    return run
