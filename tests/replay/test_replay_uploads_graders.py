"""The answers of the Uploads API, graders/run and the sourced refusals (fixtures/answers.json,
`writes` and `errors`, each with its source) replayed over a real socket to reconciler's client:
the shapes are read as the real API writes them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.api.client import ApiClient
from reconciler.api.uploads import send_in_parts
from reconciler.errors import ApiError
from reconciler.kinds.job.grader_trial import Trial

from .server import Replay, load_answers, serve

KEY = "sk-proj-replay-0123456789abcdef"
ADMIN = "sk-admin-replay-0123456789abcdef"


@pytest.fixture(scope="module")
def replay() -> Iterator[Replay]:
    with serve() as r:
        yield r


@pytest.fixture
def client(replay: Replay) -> Iterator[ApiClient]:
    with ApiClient(replay.base_url, KEY, ADMIN, max_retries=0) as c:
        yield c


def test_writes_name_their_source() -> None:
    assert all(entry["source"] for entry in load_answers()["writes"].values())


def test_an_upload_in_parts_reads_the_completed_file(client: ApiClient, replay: Replay, tmp_path: Path) -> None:
    data = tmp_path / "training_examples.jsonl"
    data.write_bytes(b"x" * 10)
    started: list[str] = []
    parts: list[tuple[int, str]] = []
    done = send_in_parts(client, data, filename=data.name, purpose="fine-tune", size=10, part_bytes=4, parallel=2,
                         md5="0" * 32, on_started=started.append, on_part=lambda i, p: parts.append((i, p)))
    assert started == ["upload_abc123"] and sorted(parts) == [(0, "part_def456"), (1, "part_def456"),
                                                              (2, "part_def456")]
    assert done["status"] == "completed" and done["file"]["id"] == "file-xyz321"
    assert replay.requests.count("POST /v1/uploads/upload_abc123/parts") >= 3


def test_resuming_sends_no_part_it_has(client: ApiClient, replay: Replay, tmp_path: Path) -> None:
    data = tmp_path / "t.jsonl"
    data.write_bytes(b"y" * 8)
    before = replay.requests.count("POST /v1/uploads/upload_abc123/parts")
    done = send_in_parts(client, data, filename=data.name, purpose="fine-tune", size=8, part_bytes=4, parallel=2,
                         md5="0" * 32, upload_id="upload_abc123", sent={0: "part_a", 1: "part_b"})
    assert done["file"]["id"] == "file-xyz321"
    assert replay.requests.count("POST /v1/uploads/upload_abc123/parts") == before


def test_cancel_reads_cancelled(client: ApiClient) -> None:
    assert client.cancel_upload("upload_abc123")["status"] == "cancelled"


def test_graders_run_example_is_read(client: ApiClient) -> None:
    answer = client.run_grader({"type": "string_check", "name": "g", "input": "a", "reference": "a",
                                "operation": "eq"}, {}, "a")
    # the contract's example writes token_usage as an object where its schema says integer|null
    assert answer["reward"] == 1.0 and isinstance(answer["metadata"]["token_usage"], dict)
    assert not any(v is True for v in answer["metadata"]["errors"].values())
    trial = Trial("FineTuningJob.x", "g", "data.jsonl", "", scores=[answer["reward"]])
    assert trial.summary() == {"min": 1.0, "median": 1.0, "mean": 1.0, "max": 1.0}


def test_owning_project_grant_refusal_is_reported_with_its_text(client: ApiClient) -> None:
    with pytest.raises(ApiError) as caught:
        client.create_permissions("ft:gpt-3.5-turbo-0125:openai-gtm:drone:9atiPjeC", ["proj_replayOwner"])
    assert caught.value.status == 400 and caught.value.code is None
    assert "Cannot modify checkpoint permissions for the owning project: proj_replayOwner" in str(caught.value)


def test_unknown_path_with_code_null_is_a_not_found(client: ApiClient) -> None:
    with pytest.raises(ApiError) as caught:
        client.validate_grader({"type": "string_check"})
    assert caught.value.status == 404 and caught.value.code is None
    assert "Invalid URL (POST /v1/fine_tuning/alpha/graders/validate)" in str(caught.value)
