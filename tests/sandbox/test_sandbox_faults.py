"""Fault injection: seeded 429s the SDK retries through (honouring Retry-After), 5xx, dropped
connections (after the work is done) and the Idempotency-Key that makes retrying them safe."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from reconciler_sandbox.faults import FaultConfig, FaultInjector
from reconciler_sandbox.testing import run_sandbox

from .conftest import PROJECT_KEY, chat_lines, make_client, upload

AUTH = {"Authorization": f"Bearer {PROJECT_KEY}"}


def statuses(url: str, n: int) -> list[int]:
    with httpx.Client(base_url=url, headers=AUTH) as http:
        return [http.get("/v1/fine_tuning/jobs").status_code for _ in range(n)]


def test_seeded_faults_reproduce():
    cfg = {"rate_429": 0.3, "rate_500": 0.1, "rate_503": 0.1, "seed": 42}
    with run_sandbox(faults=cfg) as sb:
        first = statuses(sb.url, 40)
        sb.set_faults(**cfg)  # same seed again: same dice
        second = statuses(sb.url, 40)
    assert first == second
    assert {200, 429, 500, 503} <= set(first)
    with run_sandbox(faults={**cfg, "seed": 43}) as sb:
        assert statuses(sb.url, 40) != first


def test_429_headers_and_error_body(sb):
    sb.set_faults(rate_429=1.0, retry_after=2)
    with httpx.Client(base_url=sb.url, headers=AUTH) as http:
        resp = http.get("/v1/fine_tuning/jobs")
        assert resp.status_code == 429
        assert resp.headers["retry-after"] == "2" and resp.headers["retry-after-ms"] == "2000"
        assert resp.headers["x-ratelimit-reset-requests"] == "2s"
        assert resp.headers["x-ratelimit-remaining-requests"] == "0"
        assert int(resp.headers["x-ratelimit-limit-requests"]) > 0
        assert resp.headers["x-request-id"].startswith("req_")
        assert set(resp.json()["error"]) == {"message", "type", "param", "code"}
        # control endpoints are never faulted
        assert http.get("/_sandbox/stats").status_code == 200


def test_sdk_retries_through_429s_and_honours_retry_after(sb, contract):
    sb.set_faults(rate_429=1.0, retry_after=1.5)
    with pytest.raises(openai.RateLimitError):
        make_client(sb, contract, max_retries=0).fine_tuning.jobs.list()
    # a seed whose dice limit the first request and pass the second
    seed = next(s for s in range(1000) if _sequence({"rate_429": 0.5, "seed": s}, 2) == [429, None])
    sb.set_faults(rate_429=0.5, retry_after=1.5, seed=seed)
    sb.reset_stats()
    started = time.monotonic()
    page = make_client(sb, contract, max_retries=2).fine_tuning.jobs.list()
    elapsed = time.monotonic() - started
    assert page.object == "list"
    assert sb.stats()["GET /v1/fine_tuning/jobs"] == 2  # one 429, one retry that succeeded
    # the SDK's own first backoff is at most 0.5 s: waiting 1.5 s shows Retry-After was honoured
    assert elapsed >= 1.4


def test_sdk_retries_5xx(sb, contract):
    cfg = {"rate_500": 0.4, "rate_503": 0.4}
    # a seed whose dice say 500, 503, then success: the SDK must retry twice and succeed
    seed = next(s for s in range(1000) if _sequence({**cfg, "seed": s}, 3) == [500, 503, None])
    sb.set_faults(**cfg, seed=seed)
    sb.reset_stats()
    assert make_client(sb, contract, max_retries=3).fine_tuning.jobs.list().object == "list"
    assert sb.stats()["GET /v1/fine_tuning/jobs"] == 3
    sb.set_faults(rate_500=1.0)
    with pytest.raises(openai.InternalServerError):
        make_client(sb, contract).fine_tuning.jobs.list()
    sb.set_faults(rate_503=1.0)
    with pytest.raises(openai.APIStatusError) as info:
        make_client(sb, contract).fine_tuning.jobs.list()
    assert info.value.status_code == 503


def _sequence(cfg: dict, n: int) -> list[int | None]:
    dice = FaultInjector(FaultConfig.from_dict(cfg))
    return [dice.decide("/v1/x").status for _ in range(n)]


def _drops(cfg: dict, n: int) -> list[bool]:
    dice = FaultInjector(FaultConfig.from_dict(cfg))
    return [dice.decide("/v1/x").drop for _ in range(n)]


def test_dropped_connection_after_mutation_and_idempotency(sb, contract):
    client = make_client(sb, contract)
    file_id = upload(client)
    sb.set_faults(drop_rate=1.0, paths=["/v1/fine_tuning/jobs"])
    with pytest.raises(openai.APIConnectionError):
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id,
                                       extra_headers={"Idempotency-Key": "k-1"})
    assert len(sb.world.jobs.items) == 1  # the job was created: only the answer was lost
    sb.clear_faults()
    again = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id,
                                           extra_headers={"Idempotency-Key": "k-1"})
    assert len(sb.world.jobs.items) == 1 and again.id in sb.world.jobs.items
    other = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id,
                                           extra_headers={"Idempotency-Key": "k-2"})
    assert other.id != again.id
    # the SDK's own retry after a drop, without a key, duplicates the job: the nasty real case
    seed = next(s for s in range(1000) if _drops({"drop_rate": 0.5, "seed": s}, 3) == [True, True, False])
    sb.set_faults(drop_rate=0.5, seed=seed, paths=["/v1/fine_tuning/jobs"])
    retrying = make_client(sb, contract, max_retries=10)
    before = len(sb.world.jobs.items)
    sb.reset_stats()
    retrying.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    attempts = sb.stats()["POST /v1/fine_tuning/jobs"]
    assert len(sb.world.jobs.items) - before == attempts  # every attempt made a job
    assert attempts == 3  # two dropped, the third answered


def test_idempotent_upload(sb, contract):
    client = make_client(sb, contract)
    a = client.files.create(file=("a.jsonl", chat_lines()), purpose="fine-tune",
                            extra_headers={"Idempotency-Key": "up-1"})
    b = client.files.create(file=("a.jsonl", chat_lines()), purpose="fine-tune",
                            extra_headers={"Idempotency-Key": "up-1"})
    assert a.id == b.id and len(sb.world.files.items) == 1


def test_latency_slow_and_path_filter(sb, contract):
    sb.set_faults(latency_ms=150)
    client = make_client(sb, contract)
    started = time.monotonic()
    client.fine_tuning.jobs.list()
    assert time.monotonic() - started >= 0.15
    sb.set_faults(slow_rate=1.0, slow_ms=800)
    impatient = make_client(sb, contract, timeout=0.2)
    with pytest.raises(openai.APITimeoutError):
        impatient.fine_tuning.jobs.list()
    sb.set_faults(rate_500=1.0, paths=["/v1/files"])
    assert client.fine_tuning.jobs.list().object == "list"  # not under /v1/files
    with pytest.raises(openai.InternalServerError):
        client.files.list()


def test_method_filter(sb):
    """`methods` narrows faults to some methods: creates answer 500 while listings still work."""
    sb.set_faults(rate_500=1.0, paths=["/v1/fine_tuning/jobs"], methods=["post"])
    with httpx.Client(base_url=sb.url, headers=AUTH) as http:
        assert http.get("/v1/fine_tuning/jobs").status_code == 200
        assert http.post("/v1/fine_tuning/jobs", json={"model": "gpt-4o-mini"}).status_code == 500
    assert FaultConfig.from_dict({"methods": "delete"}).methods == ["DELETE"]
    with pytest.raises(ValueError, match="methods must be a list of HTTP methods"):
        FaultConfig.from_dict({"methods": [1]})


def test_fault_control_endpoint(sb):
    with httpx.Client(base_url=sb.url, headers=AUTH) as http:
        assert http.post("/_sandbox/faults", json={"rate_500": 1.0}).status_code == 200
        assert http.get("/v1/files").status_code == 500
        assert http.get("/_sandbox/faults").json()["rate_500"] == 1.0
        assert http.delete("/_sandbox/faults").status_code == 200
        assert http.get("/v1/files").status_code == 200
        bad = http.post("/_sandbox/faults", json={"rate_500": 2})
        assert bad.status_code == 400 and bad.json()["error"]["message"] == "rate_500 must be between 0 and 1"
        unknown = http.post("/_sandbox/faults", json={"nonsense": 1})
        assert unknown.status_code == 400 and "unknown fault setting 'nonsense'" in unknown.json()["error"]["message"]
