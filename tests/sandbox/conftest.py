"""Fixtures for the sandbox tests: a sandbox, SDK clients whose every exchange is checked against
the OpenAPI contract, and JSONL builders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from reconciler_sandbox.testing import SandboxHandle, run_sandbox

from .contract import Contract

# the same keys as tests/conftest.py (not importable from here: `tests` is not a package)
ADMIN_KEY = "sk-admin-test-0123456789abcdef"
PROJECT_KEY = "sk-proj-test-0123456789abcdef"


def chat_lines(n: int = 12) -> bytes:
    return "\n".join(json.dumps({"messages": [{"role": "user", "content": f"question {i}"},
                                              {"role": "assistant", "content": f"answer {i}"}]})
                     for i in range(n)).encode() + b"\n"


def dpo_lines(n: int = 12) -> bytes:
    return "\n".join(json.dumps({"input": {"messages": [{"role": "user", "content": f"q{i}"}]},
                                 "preferred_output": [{"role": "assistant", "content": "good"}],
                                 "non_preferred_output": [{"role": "assistant", "content": "bad"}]})
                     for i in range(n)).encode() + b"\n"


def rft_lines(n: int = 12) -> bytes:
    return "\n".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"}], "label": "x"})
                     for i in range(n)).encode() + b"\n"


STRING_CHECK = {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
                "reference": "{{item.label}}", "operation": "eq"}


@pytest.fixture
def sb() -> Iterator[SandboxHandle]:
    with run_sandbox() as handle:
        yield handle


@pytest.fixture
def contract() -> Iterator[Contract]:
    checker = Contract()
    yield checker
    checker.assert_clean(min_checked=1)


def make_client(sb: SandboxHandle, contract: Contract, key: str = PROJECT_KEY, **kw: Any) -> openai.OpenAI:
    kw.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=sb.base_url, api_key=key, http_client=contract.http_client(), **kw)


@pytest.fixture
def client(sb: SandboxHandle, contract: Contract) -> openai.OpenAI:
    return make_client(sb, contract)


@pytest.fixture
def admin(sb: SandboxHandle, contract: Contract) -> openai.OpenAI:
    return make_client(sb, contract, ADMIN_KEY)


def upload(client: openai.OpenAI, content: bytes | None = None, name: str = "train.jsonl") -> str:
    return client.files.create(file=(name, content if content is not None else chat_lines()),
                               purpose="fine-tune").id


def succeeded_job(sb: SandboxHandle, client: openai.OpenAI, **kw: Any) -> Any:
    kw.setdefault("model", "gpt-4o-mini")
    kw.setdefault("training_file", upload(client))
    job = client.fine_tuning.jobs.create(**kw)
    sb.advance(1000)
    return client.fine_tuning.jobs.retrieve(job.id)
