"""Fixtures for the API client tests: a client on the real sandbox, a valid training file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.api import ApiClient

ADMIN_KEY = "sk-admin-test-0123456789abcdef"  # as in tests/conftest.py
PROJECT_KEY = "sk-proj-test-0123456789abcdef"

MODEL = "gpt-4o-mini-2024-07-18"


class SleepRecorder:
    """Injected in place of time.sleep: records the delays, sleeps for none of them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def client(sandbox: Any, sleeps: SleepRecorder) -> Iterator[ApiClient]:
    with ApiClient(sandbox.base_url, PROJECT_KEY, ADMIN_KEY, sleep=sleeps) as api:
        yield api


@pytest.fixture
def training_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    lines = [json.dumps({"messages": [{"role": "user", "content": f"question {i}"},
                                      {"role": "assistant", "content": f"answer {i}"}]}) for i in range(12)]
    path.write_text("\n".join(lines) + "\n")
    return path
