"""The API client against the real sandbox over HTTP: every method, pagination, retries, errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from reconciler.api import ApiClient, map_bounded
from reconciler.errors import ApiError, AuthError, ConfigError, NotFoundError, RateLimitError

from .conftest import ADMIN_KEY, MODEL, PROJECT_KEY, SleepRecorder

JOBS = "GET /v1/fine_tuning/jobs"
CREATE = "POST /v1/fine_tuning/jobs"


def new_job(client: ApiClient, file_id: str, key: str, **extra: Any) -> dict[str, Any]:
    return client.create_job({"model": MODEL, "training_file": file_id, **extra}, idempotency_key=key)


def test_files_round_trip(client: ApiClient, training_file: Path) -> None:
    uploaded = client.upload_file(training_file, idempotency_key="upload-1")
    assert uploaded["id"].startswith("file-") and uploaded["purpose"] == "fine-tune"
    assert uploaded["filename"] == "train.jsonl" and uploaded["bytes"] == training_file.stat().st_size
    assert client.get_file(uploaded["id"])["id"] == uploaded["id"]
    assert client.download_file(uploaded["id"]) == training_file.read_bytes()
    assert [f["id"] for f in client.list_files(purpose="fine-tune")] == [uploaded["id"]]
    renamed = client.upload_file(training_file, filename="other.jsonl")
    assert renamed["filename"] == "other.jsonl"
    assert {f["id"] for f in client.list_files()} == {uploaded["id"], renamed["id"]}
    deleted = client.delete_file(uploaded["id"])
    assert deleted["deleted"] is True
    with pytest.raises(NotFoundError) as info:
        client.get_file(uploaded["id"])
    assert info.value.status == 404 and info.value.request_id


def test_jobs_round_trip(client: ApiClient, sandbox: Any, training_file: Path) -> None:
    file_id = client.upload_file(training_file)["id"]
    job = new_job(client, file_id, "job-1", metadata={"team": "support"}, suffix="bot")
    assert job["status"] == "validating_files"
    assert client.get_job(job["id"])["id"] == job["id"]
    sandbox.advance(25)  # validating 10 s + queued 10 s: running now
    assert client.get_job(job["id"])["status"] == "running"
    assert client.pause_job(job["id"])["status"] == "paused"
    assert client.get_job(job["id"])["status"] == "paused"
    assert client.resume_job(job["id"])["status"] == "running"
    other = new_job(client, file_id, "job-2")
    assert client.cancel_job(other["id"])["status"] == "cancelled"
    sandbox.advance(10**6)
    done = client.get_job(job["id"])
    assert done["status"] == "succeeded" and done["fine_tuned_model"]
    assert [j["id"] for j in client.list_jobs(metadata={"team": "support"})] == [job["id"]]
    assert {j["id"] for j in client.list_jobs()} == {job["id"], other["id"]}
    events = list(client.list_events(job["id"], page_size=2))
    assert len(events) > 2 and all(e["object"] == "fine_tuning.job.event" for e in events)
    checkpoints = list(client.list_checkpoints(job["id"], page_size=1))
    assert len(checkpoints) >= 2 and len({c["id"] for c in checkpoints}) == len(checkpoints)
    with pytest.raises(NotFoundError) as info:
        client.get_job("ftjob-doesnotexist")
    assert "GET /fine_tuning/jobs/ftjob-doesnotexist → 404" in str(info.value)


def test_idempotency_key_returns_the_same_job(client: ApiClient, sandbox: Any, training_file: Path) -> None:
    file_id = client.upload_file(training_file)["id"]
    first = new_job(client, file_id, "same-key")
    second = new_job(client, file_id, "same-key")
    assert first["id"] == second["id"]
    assert len(list(client.list_jobs())) == 1


def test_permissions_round_trip_with_colons_in_the_path(client: ApiClient, sandbox: Any,
                                                        training_file: Path) -> None:
    file_id = client.upload_file(training_file)["id"]
    job = new_job(client, file_id, "perm-job")
    sandbox.advance(10**6)
    model = client.get_job(job["id"])["fine_tuned_model"]
    checkpoint = next(iter(client.list_checkpoints(job["id"])))["fine_tuned_model_checkpoint"]
    for name in (model, checkpoint):
        assert ":" in name
        created = client.create_permissions(name, ["proj_a", "proj_b", "proj_c"])
        assert sorted(p["project_id"] for p in created) == ["proj_a", "proj_b", "proj_c"]
        listed = list(client.list_permissions(name, page_size=1))  # three pages via last_id
        assert sorted(p["project_id"] for p in listed) == ["proj_a", "proj_b", "proj_c"]
        only_b = list(client.list_permissions(name, project_id="proj_b"))
        assert [p["project_id"] for p in only_b] == ["proj_b"]
        ascending = list(client.list_permissions(name, order="ascending"))
        assert len(ascending) == 3
        deleted = client.delete_permission(name, only_b[0]["id"])
        assert deleted["deleted"] is True and deleted["id"] == only_b[0]["id"]
        assert sorted(p["project_id"] for p in client.list_permissions(name)) == ["proj_a", "proj_c"]
    stats = sandbox.stats()
    assert stats["GET /v1/fine_tuning/checkpoints/{ckpt}/permissions"] >= 3


def test_validate_grader(client: ApiClient) -> None:
    grader = {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
              "reference": "{{item.answer}}", "operation": "eq"}
    result = client.validate_grader(grader)
    assert result["grader"]["type"] == "string_check"
    with pytest.raises(ApiError, match="Invalid grader type 'nonsense'") as info:
        client.validate_grader({"type": "nonsense"})
    assert info.value.status == 400


def test_pagination_of_250_jobs_takes_exactly_three_requests(client: ApiClient, sandbox: Any,
                                                             training_file: Path) -> None:
    file_id = client.upload_file(training_file)["id"]
    created = map_bounded(lambda i: new_job(client, file_id, f"bulk-{i}")["id"], range(250), max_workers=4)
    assert len(set(created)) == 250
    sandbox.reset_stats()
    listed = [job["id"] for job in client.list_jobs(page_size=100)]
    assert sorted(listed) == sorted(created) and len(listed) == 250
    assert sandbox.stats() == {JOBS: 3}
    sandbox.reset_stats()
    pages = client.list_jobs(page_size=100)
    assert [next(pages)["id"] for _ in range(100)] == listed[:100]
    assert sandbox.stats() == {JOBS: 1}  # a generator: the next page only when needed


def test_injected_429_honours_retry_after_and_converges(sandbox: Any, training_file: Path) -> None:
    sleeps = SleepRecorder()
    client = ApiClient(sandbox.base_url, PROJECT_KEY, ADMIN_KEY, sleep=sleeps, max_retries=20)
    file_id = client.upload_file(training_file)["id"]
    sandbox.set_faults(rate_429=0.5, retry_after=1.5, seed=11)
    sandbox.reset_stats()
    jobs = [new_job(client, file_id, f"rl-{i}")["id"] for i in range(20)]
    assert len(set(jobs)) == 20
    sandbox.clear_faults()
    assert len(list(client.list_jobs())) == 20  # no duplicates from retried creates
    stats = client.stats.snapshot()
    assert stats["retries_by_reason"].get("429", 0) == len(sleeps.delays) > 0
    assert all(delay == pytest.approx(1.5) for delay in sleeps.delays)  # the server's delay, not backoff
    assert sandbox.stats()[CREATE] == 20 + stats["retries_by_reason"]["429"]
    assert stats["retries_by_call"]["POST /fine_tuning/jobs"] == stats["retries_by_reason"]["429"]


@pytest.mark.parametrize("faults, reason", [({"rate_500": 0.4}, "500"), ({"rate_503": 0.4}, "503"),
                                            ({"drop_rate": 0.4}, "connection")])
def test_server_errors_and_dropped_connections_converge(sandbox: Any, training_file: Path,
                                                        faults: dict[str, float], reason: str) -> None:
    sleeps = SleepRecorder()
    client = ApiClient(sandbox.base_url, PROJECT_KEY, ADMIN_KEY, sleep=sleeps, max_retries=20, timeout=5)
    file_id = client.upload_file(training_file)["id"]
    ids = [new_job(client, file_id, f"{reason}-{i}")["id"] for i in range(15)]
    # The client never re-sends a create that may have had its effect (AmbiguousCreateError; the
    # executor looks the job up: tests/reliability/test_hostile_api.py), so the faults hit the reads.
    sandbox.set_faults(seed=5, **faults)
    read = [client.get_job(job_id)["id"] for job_id in ids]
    listed = [job["id"] for job in client.list_jobs(page_size=4)]
    sandbox.clear_faults()
    assert read == ids and sorted(listed) == sorted(set(ids))
    assert len(list(client.list_jobs())) == 15
    stats = client.stats.snapshot()
    assert stats["retries_by_reason"].get(reason, 0) > 0
    assert set(stats["retries_by_reason"]) == {reason}
    assert len(sleeps.delays) == stats["retries"]
    assert all(0 <= d <= 20 for d in sleeps.delays)


def test_retries_exhausted_is_a_one_line_rate_limit_error_with_request_id(sandbox: Any) -> None:
    sleeps = SleepRecorder()
    client = ApiClient(sandbox.base_url, PROJECT_KEY, sleep=sleeps, max_retries=3)
    sandbox.set_faults(rate_429=1.0, retry_after=2)
    sandbox.reset_stats()
    with pytest.raises(RateLimitError) as info:
        client.get_job("ftjob-x")
    message = str(info.value)
    assert message.startswith("GET /fine_tuning/jobs/ftjob-x → 429: Rate limit reached")
    assert "gave up after 3 retries" in message and "(request id req_" in message and "\n" not in message
    assert info.value.request_id and info.value.request_id.startswith("req_")
    assert sleeps.delays == [2.0, 2.0, 2.0]
    assert sandbox.stats() == {"GET /v1/fine_tuning/jobs/{job_id}": 4}


def test_retry_time_budget_stops_early(sandbox: Any) -> None:
    sleeps = SleepRecorder()
    client = ApiClient(sandbox.base_url, PROJECT_KEY, sleep=sleeps, max_retries=10, max_retry_time=5)
    sandbox.set_faults(rate_429=1.0, retry_after=2)
    with pytest.raises(RateLimitError, match="gave up after 2 retries"):
        client.get_job("ftjob-x")
    assert sleeps.delays == [2.0, 2.0]


def test_on_retry_hook_can_report_waiting(sandbox: Any) -> None:
    seen: list[str] = []
    client = ApiClient(sandbox.base_url, PROJECT_KEY, sleep=lambda s: None, max_retries=2,
                       on_retry=lambda info: seen.append(str(info)))
    sandbox.set_faults(rate_429=1.0, retry_after=1)
    with pytest.raises(RateLimitError):
        client.list_files().__next__()
    assert seen == ["GET /files: 429 rate limited, retrying in 1.0s (retry 1)",
                    "GET /files: 429 rate limited, retrying in 1.0s (retry 2)"]


def test_wrong_key_for_permissions_is_an_auth_error(sandbox: Any) -> None:
    client = ApiClient(sandbox.base_url, PROJECT_KEY, admin_key=PROJECT_KEY)  # not an admin key
    with pytest.raises(AuthError) as info:
        list(client.list_permissions("ft:gpt-4o-mini-2024-07-18:org::abc"))
    assert info.value.status == 401 and info.value.request_id
    assert PROJECT_KEY not in str(info.value)
    assert client.stats.snapshot()["retries"] == 0


def test_missing_admin_key_is_a_config_error_before_any_request(sandbox: Any) -> None:
    client = ApiClient(sandbox.base_url, PROJECT_KEY)
    sandbox.reset_stats()
    with pytest.raises(ConfigError) as info:
        client.list_permissions("ft:m:org::abc")
    assert str(info.value) == ("checkpoint permissions need an admin key: set OPENAI_ADMIN_KEY "
                               "(needed to list permissions of ft:m:org::abc)")
    with pytest.raises(ConfigError, match="needed to grant access to ft:m:org::abc"):
        client.create_permissions("ft:m:org::abc", ["proj_a"])
    with pytest.raises(ConfigError, match="needed to revoke access to ft:m:org::abc"):
        client.delete_permission("ft:m:org::abc", "cp_1")
    assert sandbox.stats() == {}


def test_keys_never_appear_in_errors_reprs_or_debug_logs(sandbox: Any, training_file: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = ApiClient(sandbox.base_url, PROJECT_KEY, ADMIN_KEY, sleep=lambda s: None, max_retries=2)
    texts = [repr(client), str(client.stats.snapshot())]
    file_id = client.upload_file(training_file)["id"]
    client.get_file(file_id)
    sandbox.set_faults(rate_429=1.0)
    for call in (lambda: client.get_job("ftjob-nope"), lambda: list(client.list_permissions("ft:x:y::z"))):
        with pytest.raises(ApiError) as info:
            call()
        texts += [str(info.value), repr(info.value), repr(info.value.__dict__)]
    sandbox.clear_faults()
    with pytest.raises(NotFoundError) as missing:
        client.get_job("ftjob-nope")
    texts.append(str(missing.value))
    texts += [record.getMessage() for record in caplog.records]
    assert any("GET /fine_tuning/jobs/ftjob-nope → 404" in t for t in texts)
    assert any("request id req_" in record.getMessage() for record in caplog.records
               if record.name == "reconciler.api")
    for text in texts:
        assert PROJECT_KEY not in text and ADMIN_KEY not in text
        assert "Bearer" not in text


def test_connection_refused_is_connection_failed_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = SleepRecorder()
    client = ApiClient(f"http://127.0.0.1:{port}/v1", PROJECT_KEY, sleep=sleeps, max_retries=2)
    from reconciler.errors import ConnectionFailedError

    with pytest.raises(ConnectionFailedError) as info:
        client.get_job("ftjob-1")
    # Nothing has ever answered there: most likely a wrong URL, so one retry, not the full budget.
    assert "connection failed (ConnectError" in str(info.value) and "gave up after 1 retry" in str(info.value)
    assert f"nothing has answered at http://127.0.0.1:{port}/v1 yet: check OPENAI_BASE_URL" in str(info.value)
    assert len(sleeps.delays) == 1 and sleeps.delays[0] <= 0.5
    assert client.stats.snapshot()["retries_by_reason"] == {"connection": 1}


def test_refused_after_the_api_answered_is_retried_in_full() -> None:
    """A server that answered before and now refuses (a restart) is a blip: every retry is used."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from reconciler.errors import ConnectionFailedError

    class AnswerOnce(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the connection closes after the answer

        def do_GET(self) -> None:
            body = b'{"id": "ftjob-1", "object": "fine_tuning.job", "status": "running"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), AnswerOnce)
    serving = threading.Thread(target=server.handle_request)
    serving.start()
    sleeps = SleepRecorder()
    client = ApiClient(f"http://127.0.0.1:{server.server_address[1]}/v1", PROJECT_KEY, sleep=sleeps,
                       max_retries=3)
    assert client.get_job("ftjob-1")["status"] == "running"
    serving.join()
    server.server_close()  # nothing listens there any more
    with pytest.raises(ConnectionFailedError) as info:
        client.get_job("ftjob-1")
    assert "gave up after 3 retries" in str(info.value) and "nothing has answered" not in str(info.value)
    assert client.stats.snapshot()["retries_by_reason"] == {"connection": 3}


def test_read_timeouts_on_slow_answers_are_retried(sandbox: Any, training_file: Path) -> None:
    sleeps = SleepRecorder()
    client = ApiClient(sandbox.base_url, PROJECT_KEY, sleep=sleeps, max_retries=20, timeout=0.3)
    file_id = client.upload_file(training_file)["id"]
    job_id = new_job(client, file_id, "slow")["id"]
    sandbox.set_faults(slow_rate=0.5, slow_ms=1500, seed=2)
    assert [client.get_job(job_id)["id"] for _ in range(6)] == [job_id] * 6
    assert client.stats.snapshot()["retries_by_reason"].get("connection", 0) > 0


def test_organization_and_project_headers_reach_the_server(sandbox: Any, training_file: Path) -> None:
    client = ApiClient(sandbox.base_url, PROJECT_KEY, organization="org-abc", project="proj_scoped")
    file_id = client.upload_file(training_file)["id"]
    job = new_job(client, file_id, "scoped")
    assert sandbox.world.jobs.items[job["id"]]["project"] == "proj_scoped"
    plain = ApiClient(sandbox.base_url, PROJECT_KEY)
    other = new_job(plain, file_id, "unscoped")
    assert sandbox.world.jobs.items[other["id"]]["project"] == "proj_sandbox"  # the key's default project


def test_missing_api_key_is_a_config_error(sandbox: Any) -> None:
    client = ApiClient(sandbox.base_url, None, ADMIN_KEY)
    with pytest.raises(ConfigError, match="no API key: set OPENAI_API_KEY"):
        client.get_job("ftjob-1")


SCORE = {"type": "score_model", "name": "judge", "model": "gpt-4o-mini",
         "input": [{"role": "user", "content": "Rate {{sample.output_text}}"}]}


@pytest.mark.parametrize(("sampling_params", "refused"), [
    ({"seed": 3, "top_p": 0.5, "temperature": 0, "max_completions_tokens": 10, "reasoning_effort": "low"}, None),
    ({"seed": None, "reasoning_effort": None}, None),
    ({"seed": {"x": 1}}, "sampling_params.seed"),          # found by the hostile-request fuzz test
    ({"seed": 1.5}, "sampling_params.seed"),
    ({"seed": True}, "sampling_params.seed"),
    ({"top_p": "1"}, "sampling_params.top_p"),
    ({"max_completions_tokens": 0}, "sampling_params.max_completions_tokens"),
    ({"reasoning_effort": "extreme"}, "sampling_params.reasoning_effort"),
    ("fast", "sampling_params"),
])
def test_score_model_sampling_params_as_the_contract_types_them(client: ApiClient, sampling_params: object,
                                                                refused: str | None) -> None:
    """The validate endpoint echoes the grader: what it accepts must match the contract's
    GraderScoreModel (checked on every answer by the contract tests)."""
    grader = {**SCORE, "sampling_params": sampling_params}
    if refused is None:
        assert client.validate_grader(grader)["grader"]["sampling_params"] == sampling_params
    else:
        with pytest.raises(ApiError, match=refused):
            client.validate_grader(grader)


def test_a_score_range_of_booleans_is_refused(client: ApiClient) -> None:
    with pytest.raises(ApiError, match="range"):
        client.validate_grader({**SCORE, "range": [False, True]})
