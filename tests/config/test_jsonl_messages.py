"""A JSONL problem names the place a reader can find: the real column of a line that ended before
its value did, and the role a typo meant."""

from __future__ import annotations

import io
import json

import pytest

from reconciler.training_data import check_file

OK = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def _problems(text: str) -> list[str]:
    result = check_file(io.BytesIO(text.encode()), "chat")
    return [p.message for p in result.problems]


@pytest.mark.parametrize(("line", "expected"), [
    (json.dumps(OK)[:-1], "at the end of the line (column 92)"),     # the closing } is missing
    ('{"messages": [}', "at column 15"),                               # inside the line: its own column
])
def test_the_column_of_a_json_error(line, expected):
    problems = _problems(line + "\n")
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_role_typo_gets_a_did_you_mean():
    record = {"messages": [{"role": "user", "content": "hi"}, {"role": "assitant", "content": "hello"}]}
    problems = _problems(json.dumps(record) + "\n")
    assert problems and "did you mean 'assistant'?" in problems[0], problems
    unlike = {"messages": [{"role": "zzz", "content": "hi"}]}
    assert "did you mean" not in _problems(json.dumps(unlike) + "\n")[0]
