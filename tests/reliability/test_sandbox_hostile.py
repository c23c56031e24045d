"""The sandbox under hostile clients: a hypothesis-driven, schemathesis-like run over every
operation of tests/contract/openai-fine-tuning.openapi.yaml. Requests are generated from the
document (path parameters from real ids or junk, query parameters from their schemas or junk,
JSON bodies from the request schemas, mutated, or replaced by junk; admin, project or no key).
Every answer must be < 500 and match the contract (tests/sandbox/contract.py: openapi-core for
successes, the OpenAI ErrorResponse schema for errors). Then every JSON endpoint gets malformed
and oversized bodies: 400 / 413 with the OpenAI error body.

Examples: RECONCILER_API_FUZZ (default 400; `-m slow` runs 5000).
Existing sandbox HTTP tests (tests/sandbox/test_sandbox_http.py) cover auth, chunked uploads and
the huge declared body; this adds the generated run and the per-endpoint matrix."""

from __future__ import annotations

import collections
import json
import os
import re
import socket
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox.contract import load_spec, problems_for

from .helpers import ADMIN_KEY, PROJECT_KEY, chat_jsonl, report

EXAMPLES = int(os.environ.get("RECONCILER_API_FUZZ", "400"))

JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4), max_leaves=15)
JUNK_TEXT = st.sampled_from(["", " ", "..", "../..", "%2e%2e", "%00", "a/b", "ftjob-", "file-abc", "null", "-1",
                             "\u202e", "x" * 5000, "ft:gpt-4o-mini:x::y", "0x10", "1e9", "true", "[]", "{}"]) | \
    st.text(max_size=30)


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def from_schema(schema: dict, spec: dict, depth: int = 0) -> st.SearchStrategy:
    schema = _resolve(schema, spec)
    if depth > 6:
        return st.none()
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return st.one_of([from_schema(s, spec, depth + 1) for s in schema[key]])
    if "allOf" in schema:
        merged: dict = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = _resolve(part, spec)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return from_schema(merged, spec, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": k}, spec, depth + 1) for k in kind])
    base: st.SearchStrategy
    if kind == "string":
        base = st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 80))
    elif kind == "integer":
        base = st.integers(schema.get("minimum", -10), schema.get("maximum", 10**6))
    elif kind == "number":   # sometimes NaN / Infinity / 1e999: json.dumps writes them, strict JSON has none
        base = st.floats(schema.get("minimum", -100), schema.get("maximum", 100), allow_nan=False) | \
            st.sampled_from([float("nan"), float("inf"), float("-inf")])
    elif kind == "boolean":
        base = st.booleans()
    elif kind == "array":
        base = st.lists(from_schema(schema.get("items", {}), spec, depth + 1), max_size=3)
    elif kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = [k for k in schema.get("required", []) if k in props]
        base = st.fixed_dictionaries({k: from_schema(props[k], spec, depth + 1) for k in required},
                                     optional={k: from_schema(v, spec, depth + 1) for k, v in props.items()
                                               if k not in required})
    else:
        base = JSON_VALUE
    if schema.get("nullable"):
        base = base | st.none()
    return base


def operations(spec: dict) -> list[tuple[str, str, dict, dict]]:
    ops = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            params = [_resolve(p, spec) for p in item.get("parameters", []) + op.get("parameters", [])]
            ops.append((method.upper(), path, {p["name"]: p for p in params}, op))
    return ops


@pytest.fixture(scope="module")
def world():
    """A sandbox holding a file, a finished job with checkpoints, a permission, an active job."""
    import openai

    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox() as sb:
        client = openai.OpenAI(base_url=sb.base_url, api_key=ADMIN_KEY, max_retries=0)
        f = client.files.create(file=("t.jsonl", chat_jsonl().encode()), purpose="fine-tune")
        done = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=f.id, suffix="fuzz")
        sb.advance(3600)
        done = client.fine_tuning.jobs.retrieve(done.id)
        perm = client.fine_tuning.checkpoints.permissions.create(done.fine_tuned_model, project_ids=["proj_x"])
        active = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=f.id, suffix="live")
        pool = {"fine_tuning_job_id": [done.id, active.id], "file_id": [f.id],
                "fine_tuned_model_checkpoint": [done.fine_tuned_model],
                "permission_id": [perm.data[0].id], "after": [done.id, f.id, perm.data[0].id]}
        yield sb, pool


SPEC = load_spec()
OPS = operations(SPEC)
_stats: collections.Counter = collections.Counter()


@st.composite
def requests(draw, pool: dict) -> dict:
    method, template, params, op = draw(st.sampled_from(OPS))
    path = template
    for name in re.findall(r"{(\w+)}", template):
        # never empty: `/jobs/` is the list's URL with a trailing slash (the sandbox answers the list),
        # not a job with an empty id
        value = draw((st.sampled_from(pool.get(name, ["x"])) | JUNK_TEXT).filter(lambda v: v.strip(" /")))
        path = path.replace("{" + name + "}", quote(value, safe=":-_.~" if draw(st.booleans()) else ""))
    query = {}
    for name, p in params.items():
        if p.get("in") != "query" or not draw(st.booleans()):
            continue
        if name in pool and draw(st.booleans()):
            query[name] = draw(st.sampled_from(pool[name]))
        else:
            value = draw(from_schema(p.get("schema", {}), SPEC) | JUNK_TEXT)
            query[name] = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    headers = {}
    auth = draw(st.sampled_from(["admin", "admin", "admin", "project", "project", "none", "garbage"]))
    if auth != "none":
        headers["Authorization"] = {"admin": f"Bearer {ADMIN_KEY}", "project": f"Bearer {PROJECT_KEY}",
                                    "garbage": draw(st.sampled_from(["Bearer", "Basic abc", "Bearer x y", "bearer x", "Token sk-x"]))}[auth]
    content = None
    body = op.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        how = draw(st.sampled_from(["schema", "schema", "mutated", "junk", "empty"]))
        value: Any = None
        if how in ("schema", "mutated"):
            value = draw(from_schema(body["application/json"]["schema"], SPEC))
            if how == "mutated" and isinstance(value, dict):
                if value and draw(st.booleans()):
                    value.pop(draw(st.sampled_from(sorted(value))))
                value[draw(st.text(max_size=8))] = draw(JSON_VALUE)
            for key, ids in pool.items():   # sometimes point at real objects
                if isinstance(value, dict) and key in ("file_id",) and draw(st.booleans()):
                    value["training_file"] = draw(st.sampled_from(ids))
            content = json.dumps(value).encode()
        elif how == "junk":
            content = draw(st.binary(max_size=64))
        else:
            content = b""
        headers["Content-Type"] = "application/json"
    elif "multipart/form-data" in body:
        fields = {}
        if draw(st.booleans()):
            fields["purpose"] = draw(st.sampled_from(["fine-tune", "batch", "", "vision"]) | st.text(max_size=5))
        files = {}
        if draw(st.booleans()):
            files["file"] = (draw(st.sampled_from(["t.jsonl", "", "../x.jsonl", "a\"b.jsonl"])),
                             draw(st.binary(max_size=200)))
        return {"method": method, "path": "/v1" + path, "params": query, "headers": headers, "data": fields,
                "files": files or None}
    return {"method": method, "path": "/v1" + path, "params": query, "headers": headers, "content": content}


def _send(http: httpx.Client, req: dict) -> httpx.Response:
    if "files" in req:
        if req["files"] is None and not req["data"]:
            return http.request(req["method"], req["path"], params=req["params"], headers=req["headers"])
        return http.request(req["method"], req["path"], params=req["params"], headers=req["headers"],
                            data=req["data"], files=req["files"] or {"none": ("", b"")})
    return http.request(req["method"], req["path"], params=req["params"], headers=req["headers"],
                        content=req["content"])


def _reject(name: str) -> None:
    raise ValueError(f"{name} in the answer")


def strict_json(data: bytes) -> Any:
    """json.loads as a strict parser (the JSON RFC): no NaN, Infinity, -Infinity."""
    return json.loads(data, parse_constant=_reject)


def _fuzz(world, examples: int) -> collections.Counter:
    sb, pool = world
    stats: collections.Counter = collections.Counter()
    violations: list[str] = []
    with httpx.Client(base_url=sb.url, timeout=30) as http:
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(req=requests(pool))
        def run(req: dict) -> None:
            response = _send(http, req)
            stats["requests"] += 1
            stats[f"status {response.status_code // 100}xx"] += 1
            stats[f"{req['method']} {response.status_code}"] += 1
            where = f"{req['method']} {response.request.url} -> {response.status_code}: {response.text[:300]}"
            # after every request, the job list (everyone's view of the world) is still strict JSON
            listing = http.get("/v1/fine_tuning/jobs", params={"limit": 100},
                               headers={"Authorization": f"Bearer {ADMIN_KEY}"})
            try:
                strict_json(listing.content)
            except ValueError as exc:
                violations.append(f"the job list is no longer strict JSON ({exc}) after " + where)
            if response.status_code >= 500:
                violations.append("5xx: " + where)
            try:
                strict_json(response.content)
            except ValueError as exc:
                if response.headers.get("content-type", "").startswith("application/json"):
                    violations.append(f"not strict JSON ({exc}): " + where)
            problems = problems_for(response, check_request=False)
            if problems:
                violations.append("; ".join(problems) + " :: " + where)
            assert not violations, violations[-1]

        run()
    stats["violations"] = len(violations)
    stats["operations"] = len(OPS)
    return stats


def test_generated_requests_get_no_5xx_and_match_the_contract(world):
    stats = _fuzz(world, EXAMPLES)
    report("sandbox_fuzz_short", {k: v for k, v in stats.items() if not k[0].isupper() or k.startswith("status")}
           | {"by_method_status": {k: v for k, v in stats.items() if k[0].isupper()}})
    assert stats["requests"] >= EXAMPLES * 0.9 and stats["status 2xx"] > 0 and stats["status 4xx"] > 0


@pytest.mark.slow
def test_generated_requests_many(world):
    stats = _fuzz(world, int(os.environ.get("RECONCILER_API_FUZZ_SLOW", "5000")))
    report("sandbox_fuzz", dict(stats))


MALFORMED = [b"{", b"[1, 2", b'{"a": }', b"\xff\xfe\x00", b"nul", b"{'single': 1}", b'{"a": 1}{"b": 2}',
             b"[" * 100_000 + b"]" * 100_000, b'{"n": 1e999999}', b'{"n": NaN}', b'{"n": -Infinity}', b"", b" \n "]
NOT_OBJECT = [b"null", b'"text"', b"[]", b"42", b"true"]


def test_non_finite_numbers_are_refused_and_never_stored(world):
    """Found by this suite: `Infinity` (or 1e999) as learning_rate_multiplier made a job whose every
    later answer - and every job list - was no longer JSON for a strict parser."""
    sb, pool = world
    for value in ("Infinity", "-Infinity", "NaN", "1e999", "-1e999"):
        body = (f'{{"model": "gpt-4o-mini", "training_file": "{pool["file_id"][0]}", "method": {{"type": "supervised", '
                f'"supervised": {{"hyperparameters": {{"learning_rate_multiplier": {value}}}}}}}}}')
        r = httpx.post(sb.base_url + "/fine_tuning/jobs", content=body,
                       headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json", (value, r.text)
    strict_json(httpx.get(sb.base_url + "/fine_tuning/jobs", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).content)


def test_malformed_and_oversized_bodies_get_400_or_413_with_the_error_body(world):
    sb, pool = world
    job, checkpoint = pool["fine_tuning_job_id"][1], pool["fine_tuned_model_checkpoint"][0]
    endpoints = ["/v1/fine_tuning/jobs", f"/v1/fine_tuning/checkpoints/{checkpoint}/permissions",
                 "/v1/fine_tuning/alpha/graders/validate"]
    stats: collections.Counter = collections.Counter()
    with httpx.Client(base_url=sb.url, timeout=30, headers={"Authorization": f"Bearer {ADMIN_KEY}",
                                                            "Content-Type": "application/json"}) as http:
        for path in endpoints:
            for body in MALFORMED + NOT_OBJECT:
                r = http.post(path, content=body)
                stats[f"{r.status_code}"] += 1
                assert r.status_code == 400, (path, body[:20], r.status_code, r.text[:200])
                assert not problems_for(r, check_request=False), (path, body[:20], r.text[:200])
                error = r.json()["error"]
                assert set(error) >= {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
                if body in MALFORMED:
                    assert error["code"] == "invalid_json", (path, body[:20], error)
            big = b'{"model": "' + b"x" * (1024 * 1024 + 1) + b'"}'
            r = http.post(path, content=big)
            stats[f"{r.status_code}"] += 1
            assert r.status_code == 413 and not problems_for(r, check_request=False), (path, r.status_code)
            assert r.json()["error"]["code"] == "request_too_large"
            # chunked, no length announced
            r = http.post(path, content=iter([b'{"model": "', b"y" * (1024 * 1024 + 10), b'"}']))
            stats[f"{r.status_code}"] += 1
            assert r.status_code == 413 and r.json()["error"]["message"]
        # an upload far over 512 MB, announced: refused before reading it
        host, port = sb.url.split("//")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN_KEY.encode() +
                      b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 900000000\r\n\r\n--b\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), head
        assert json.loads(payload)["error"]["code"] == "request_too_large"
        stats["413"] += 1
        # cancel with a body that is not JSON: the endpoint takes no body; still never a 5xx
        r = http.post(f"/v1/fine_tuning/jobs/{job}/cancel", content=b"{")
        assert r.status_code < 500
    report("sandbox_malformed", {"requests": sum(stats.values()), **stats})
