"""The contract checker itself can fail: broken answers are reported."""

from __future__ import annotations

import json

import httpx
import pytest

from .contract import Contract, ContractViolation, problems_for


def _exchange(method: str, path: str, status: int, body: object) -> httpx.Response:
    request = httpx.Request(method, f"http://127.0.0.1:1{path}", headers={"Authorization": "Bearer x"})
    return httpx.Response(status, content=json.dumps(body).encode(), request=request,
                          headers={"content-type": "application/json"})


GOOD_JOB = {"object": "fine_tuning.job", "id": "ftjob-1", "created_at": 1, "error": None, "fine_tuned_model": None,
            "finished_at": None, "hyperparameters": {"n_epochs": "auto"}, "model": "gpt-4o-mini-2024-07-18",
            "organization_id": "org-1", "result_files": [], "status": "queued", "trained_tokens": None,
            "training_file": "file-1", "validation_file": None, "seed": 1}


def test_good_answers_pass():
    assert problems_for(_exchange("GET", "/v1/fine_tuning/jobs/ftjob-1", 200, GOOD_JOB)) == []
    assert problems_for(_exchange("GET", "/v1/fine_tuning/jobs/ftjob-1", 200, {**GOOD_JOB, "status": "paused"})) == []
    error = {"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": None}}
    assert problems_for(_exchange("GET", "/v1/fine_tuning/jobs/x", 404, error)) == []


def _reported(response: httpx.Response, *fragments: str) -> None:
    """The exchange is reported, and for the reason the test broke it (each fragment once)."""
    problems = problems_for(response)
    assert len(problems) == len(fragments), problems
    for problem, fragment in zip(problems, fragments):
        assert fragment in problem, (fragment, problem)


def test_broken_answers_are_reported():
    missing = {k: v for k, v in GOOD_JOB.items() if k != "seed"}
    _reported(_exchange("GET", "/v1/fine_tuning/jobs/ftjob-1", 200, missing), "'seed' is a required property")
    _reported(_exchange("GET", "/v1/fine_tuning/jobs/ftjob-1", 200, {**GOOD_JOB, "status": "done"}),
              "'done' is not one of")
    _reported(_exchange("GET", "/v1/fine_tuning/jobs/ftjob-1", 200, {**GOOD_JOB, "error": {}}),
              "{} is not valid under any of the given schemas")
    _reported(_exchange("GET", "/v1/files", 200, {"object": "list", "data": [], "has_more": False}),
              "'first_id' is a required property")
    _reported(_exchange("GET", "/v1/fine_tuning/jobs/x", 404, {"error": {"message": "m"}}),
              "error body: 'type' is a required property", "error body: 'param' is a required property",
              "error body: 'code' is a required property")
    _reported(_exchange("GET", "/v1/fine_tuning/jobs/x", 400, {"detail": "nope"}),
              "error body: 'error' is a required property")
    contract = Contract()
    contract.check(_exchange("GET", "/v1/fine_tuning/jobs/ftjob-1", 200, missing))
    with pytest.raises(ContractViolation, match="'seed' is a required property"):
        contract.assert_clean()
