"""Issue 20's messages, through the real CLI: a quoted number, a training file's bad lines (in
numeric order, with a useful JSON reason), a refused key naming its variable, a base URL missing
/v1."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import chat_jsonl

SEED_SPEC = """\
kind: File
name: train
spec:
  path: data/train.jsonl
---
kind: FineTuningJob
name: bot
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  seed: "1"
"""


def test_a_quoted_seed_says_it_is_a_string(world):
    world.write("jobs.yaml", SEED_SPEC)
    result = world.run("validate")
    assert result.exit_code == 1
    assert 'spec.seed: expected an integer from 0 to 2147483647, got the string "1" (remove the quotes)' \
        in result.output
    assert "Traceback" not in result.output


def test_training_file_errors_are_listed_by_line_number_with_a_useful_json_reason(world):
    lines = chat_jsonl(25).splitlines()
    for i in (1, 2, 9, 10, 11, 20):  # 0-based: file lines 2, 3, 10, 11, 12, 21
        lines[i] = '{"messages": 1}'
    lines[2] = '{"messages": [{"role": "user", "content": "a\tb"}]}'  # a raw tab inside a string
    (world.specs / "data" / "train.jsonl").write_text("\n".join(lines) + "\n")
    world.write("jobs.yaml", SEED_SPEC.replace('seed: "1"', "seed: 1"))
    result = world.run("validate")
    assert result.exit_code == 1
    numbers = [int(line.split(" line ", 1)[1].split(":", 1)[0]) for line in result.output.splitlines()
               if "data/train.jsonl line " in line]
    assert numbers == [2, 3, 10, 11, 12, 21]
    assert ("line 3: not valid JSON: control character (a raw tab or newline) inside a string at column 45"
            in result.output)
    assert "Invalid control character at" not in result.output


class _Refusing(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"error": {"message": "Incorrect API key provided: sk-...cdef.",
                                     "type": "invalid_request_error", "code": "invalid_api_key"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("keys, named", [
    ({}, "OPENAI_API_KEY"),
    ({"OPENAI_API_KEY": ""}, "OPENAI_ADMIN_KEY"),  # no project key: the admin key was sent
])
def test_a_401_names_the_variable_holding_the_refused_key(world, refusing_server, keys, named):
    world.write("jobs.yaml", SEED_SPEC.replace('seed: "1"', "seed: 1"))
    result = world.run("plan", "--insecure-http", OPENAI_BASE_URL=refusing_server, **keys)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert "→ 401" in errors[0] and f"(the key in {named} was refused: check it)" in errors[0]
    assert "Traceback" not in result.output


def test_a_404_from_a_base_url_without_v1_asks_about_v1(world):
    world.write("jobs.yaml", SEED_SPEC.replace('seed: "1"', "seed: 1"))
    result = world.run("plan", "--insecure-http", OPENAI_BASE_URL=world.sandbox.url)
    assert result.exit_code == 1, result.output
    assert "→ 404" in result.output
    assert "(does OPENAI_BASE_URL need to end in /v1?)" in result.output
    assert "Traceback" not in result.output
    right = world.run("plan", "--insecure-http")  # with /v1: no such hint on any answer
    assert "end in /v1" not in right.output
