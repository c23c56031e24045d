"""The HTTP surface without the SDK: auth, error bodies, limits, unknown routes, control endpoints,
request ids, stats by path template, keep-alive."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from .conftest import ADMIN_KEY, PROJECT_KEY, chat_lines
from .contract import problems_for

AUTH = {"Authorization": f"Bearer {PROJECT_KEY}"}
ERROR_KEYS = {"message", "type", "param", "code"}


@pytest.fixture
def http(sb):
    with httpx.Client(base_url=sb.url, headers=AUTH) as client:
        yield client


_ANY = object()


def assert_error(resp: httpx.Response, status: int, code: object = _ANY, param: object = _ANY) -> dict:
    """An OpenAI-shaped error with this status; with `code` / `param`, for that reason."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["x-request-id"].startswith("req_")
    assert problems_for(resp) == []
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS
    if code is not _ANY:
        assert body["error"]["code"] == code, body
    if param is not _ANY:
        assert body["error"]["param"] == param, body
    return body["error"]


def test_requires_bearer(sb):
    with httpx.Client(base_url=sb.url) as anon:
        assert_error(anon.get("/v1/fine_tuning/jobs"), 401)
        assert_error(anon.get("/v1/files", headers={"Authorization": "Basic abc"}), 401)
        assert_error(anon.get("/v1/files", headers={"Authorization": "Bearer"}), 401)
        assert anon.get("/v1/files", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 200


def test_malformed_json_unknown_route_and_method(http):
    err = assert_error(http.post("/v1/fine_tuning/jobs", content=b"{not json",
                                 headers={"Content-Type": "application/json"}), 400, "invalid_json")
    assert err["type"] == "invalid_request_error"
    assert_error(http.post("/v1/fine_tuning/jobs", content=b""), 400, "invalid_json")
    assert_error(http.post("/v1/fine_tuning/jobs", content=b"[" * 100_000), 400, "invalid_json")
    assert_error(http.post("/v1/fine_tuning/jobs", content=b'{"model": "\xff\xfe"}'), 400, "invalid_json")
    not_object = assert_error(http.post("/v1/fine_tuning/jobs", json=[1, 2]), 400)
    assert not_object["message"] == "The request body must be a JSON object."
    assert_error(http.get("/v1/nothing/here"), 404, None)
    assert_error(http.get("/nothing"), 404, None)
    assert_error(http.put("/v1/fine_tuning/jobs"), 405, "method_not_allowed")
    assert_error(http.delete("/v1/fine_tuning/jobs/ftjob-x"), 405, "method_not_allowed")
    assert_error(http.get("/v1/fine_tuning/jobs?limit=abc"), 400, "invalid_type", "limit")
    assert_error(http.get("/v1/fine_tuning/jobs?limit=0"), 400, "integer_below_min_value", "limit")
    assert_error(http.get("/v1/files?order=sideways"), 400, "invalid_value", "order")
    assert_error(http.post("/v1/files", content=b"x", headers={"Content-Type": "text/plain"}), 400,
                 "invalid_content_type")
    assert_error(http.post("/v1/files", files={"file": ("a.jsonl", b"{}")}), 400,  # no purpose
                 "missing_required_parameter", "purpose")
    assert_error(http.post("/v1/files", files={"file": ("a.txt", b"{}")}, data={"purpose": "fine-tune"}), 400,
                 "invalid_file_format", "file")
    assert_error(http.post("/v1/files", files={"file": ("a.jsonl", b"{}")}, data={"purpose": "nope"}), 400,
                 "invalid_value", "purpose")


def test_body_limits(http):
    big = b'{"model": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    assert_error(http.post("/v1/fine_tuning/jobs", content=big, headers={"Content-Type": "application/json"}), 413)
    # the connection is still usable after a drained over-limit body
    assert http.get("/v1/fine_tuning/jobs").status_code == 200


def test_huge_declared_body_closes_connection(sb):
    host, port = sb.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /v1/fine_tuning/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 999999999999\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["error"]["code"] == "request_too_large"


def _raw(sb, data: bytes) -> bytes:
    host, port = sb.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def test_stdlib_level_errors_have_error_bodies(sb):
    for raw, status in ((b"FROB /v1/files HTTP/1.1\r\nHost: x\r\n\r\n", b"405"),
                        (b"GARBAGE\r\n\r\n", b"400"),
                        ((b"POST /v1/fine_tuning/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"), b"400"),
                        (b"GET /v1/files HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n", b"431")):
        head, _, body = _raw(sb, raw).partition(b"\r\n\r\n")
        assert head.split(b" ")[1] == status, head
        assert set(json.loads(body)["error"]) == ERROR_KEYS


def test_chunked_upload(http):
    def gen():
        yield b"--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.jsonl\"\r\n"
        yield b"Content-Type: application/octet-stream\r\n\r\n" + chat_lines() + b"\r\n--b--\r\n"
    resp = http.post("/v1/files", content=gen(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert resp.status_code == 200, resp.text
    assert http.get(f"/v1/files/{resp.json()['id']}/content").content == chat_lines()


def test_request_ids_keepalive_and_stats(sb, http):
    ids = set()
    for _ in range(5):
        resp = http.get("/v1/fine_tuning/jobs")
        ids.add(resp.headers["x-request-id"])
        assert int(resp.headers["content-length"]) == len(resp.content)
    assert len(ids) == 5
    http.get("/v1/fine_tuning/jobs/ftjob-abc")
    http.get("/v1/fine_tuning/checkpoints/ft:gpt-4o-mini:sandbox::x:ckpt-step-1/permissions",
             headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    stats = http.get("/_sandbox/stats").json()
    assert stats["GET /v1/fine_tuning/jobs"] == 5
    assert stats["GET /v1/fine_tuning/jobs/{job_id}"] == 1
    assert stats["GET /v1/fine_tuning/checkpoints/{ckpt}/permissions"] == 1
    assert stats == sb.stats()
    assert http.post("/_sandbox/stats/reset").status_code == 200
    assert sb.stats() == {}


def test_advance_endpoint(sb, http):
    before = sb.now()
    resp = http.post("/_sandbox/advance", json={"seconds": 3600})
    assert resp.status_code == 200 and resp.json()["now"] >= before + 3600
    assert_error(http.post("/_sandbox/advance", json={"seconds": -1}), 400, param="seconds")
    assert_error(http.post("/_sandbox/advance", content=b"nope"), 400, "invalid_json")
    assert_error(http.get("/_sandbox/advance"), 405, "method_not_allowed")


def test_shared_conftest_fixture(sandbox):
    with httpx.Client(base_url=sandbox.base_url, headers=AUTH) as http:
        assert http.get("/fine_tuning/jobs").json() == {"object": "list", "data": [], "has_more": False}
