"""Check real HTTP exchanges against the shared OpenAPI contract (reusable by every test).

    from tests.sandbox.contract import Contract
    contract = Contract()
    http = httpx.Client(event_hooks=contract.hooks())     # or contract.check(response) yourself
    client = openai.OpenAI(base_url=..., api_key=..., http_client=http)
    ...
    contract.assert_clean(min_checked=1)

Responses with status < 400 are validated by openapi-core against
tests/contract/openai-fine-tuning.openapi.yaml (operation found by method + path); error
responses by jsonschema against `ErrorResponse` in openai-errors.supplement.openapi.yaml. Requests
the client sends are validated too (`check_requests=True`).

Known, deliberate allowances (each matches the real API, not a sandbox shortcut):
- `paused` is added to FineTuningJob.status: the pause endpoint's own example answers it, the
  enum omits it (see tests/contract/README.md).
- FineTuningJob.error's `code`/`message` may be null and FineTuningJob.hyperparameters may be
  null, OpenAIFile.status_details and an event's `data` may be null: the contract's own examples and captured real
  answers show them (docs/SANDBOX.md, fidelity table).
- `GET /files/{id}/content` is declared as a JSON string; the real API (and the sandbox) answer
  the raw bytes, so a non-JSON body there is checked only for status 200.
Violations are collected, not raised inside the hook: the SDK would turn an exception raised in
a hook into a connection error and retry.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.exceptions import OpenAPIError
from werkzeug.datastructures import Headers, ImmutableMultiDict

CONTRACT = Path(__file__).resolve().parents[1] / "contract"  # the repository's own copy (see its README)
SPEC_PATH = CONTRACT / "openai-fine-tuning.openapi.yaml"
ERRORS_PATH = CONTRACT / "openai-errors.supplement.openapi.yaml"


@functools.lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    spec = copy.deepcopy(spec)
    spec["servers"] = [{"url": "/v1"}]
    job = spec["components"]["schemas"]["FineTuningJob"]["properties"]
    status = job["status"]
    if "paused" not in status["enum"]:
        status["enum"] = [*status["enum"], "paused"]
    # Real answers the schema omits (docs/SANDBOX.md's fidelity table, with sources): a job that has
    # not failed has an error object of nulls; DPO and reinforcement jobs a null top-level
    # `hyperparameters`; a file a null `status_details`.
    for field in ("code", "message"):
        job["error"]["anyOf"][0]["properties"][field] = {"type": ["string", "null"]}
    job["hyperparameters"] = {"anyOf": [job["hyperparameters"], {"type": "null"}]}
    spec["components"]["schemas"]["OpenAIFile"]["properties"]["status_details"] = {"type": ["string", "null"]}
    spec["components"]["schemas"]["FineTuningJobEvent"]["properties"]["data"] = {"type": ["object", "null"]}
    return spec


@functools.lru_cache(maxsize=1)
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(load_spec())


@functools.lru_cache(maxsize=1)
def error_validator() -> jsonschema.protocols.Validator:
    supplement = yaml.safe_load(ERRORS_PATH.read_text(encoding="utf-8"))
    schema = {"$ref": "#/components/schemas/ErrorResponse", "components": supplement["components"]}
    return jsonschema.Draft202012Validator(schema)


class _Req:
    """httpx.Request as openapi-core's Request protocol."""

    def __init__(self, request: httpx.Request) -> None:
        url = urlsplit(str(request.url))
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.path = url.path
        self.method = request.method.lower()
        try:
            self.body: bytes | None = request.content or None
        except httpx.RequestNotRead:
            self.body = None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict([(k, v) for k, vs in parse_qs(url.query, keep_blank_values=True).items()
                                      for v in vs]),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )


class _Resp:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data = response.content
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(dict(response.headers))


class ContractViolation(AssertionError):
    pass


def problems_for(response: httpx.Response, *, check_request: bool = True) -> list[str]:
    """What is wrong with this exchange; [] if it matches the contract."""
    request = response.request
    where = f"{request.method} {request.url.path} -> {response.status_code}"
    out: list[str] = []
    response.read()
    if not request.url.path.startswith("/v1/"):
        return out
    if response.status_code >= 400:
        try:
            body = json.loads(response.content)
        except ValueError:
            return [f"{where}: error body is not JSON: {response.content[:200]!r}"]
        for err in error_validator().iter_errors(body):
            out.append(f"{where}: error body: {err.message}")
        return out
    req = _Req(request)
    if check_request and "multipart/form-data" not in req.content_type:
        try:
            openapi().validate_request(req)
        except OpenAPIError as exc:
            out.append(f"{where}: request: {_describe(exc)}")
    if request.url.path.endswith("/content") and not response.headers.get("content-type", "").startswith(
            "application/json"):
        return out
    try:
        openapi().validate_response(req, _Resp(response))
    except OpenAPIError as exc:
        out.append(f"{where}: response: {_describe(exc)}")
    return out


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    for sub in getattr(exc, "schema_errors", None) or []:
        parts.append(f"  - {getattr(sub, 'message', sub)} at {list(getattr(sub, 'absolute_path', []))}")
    cause = exc.__cause__
    if cause is not None:
        parts.append(f"  caused by {type(cause).__name__}: {cause}")
        for sub in getattr(cause, "schema_errors", None) or []:
            parts.append(f"  - {getattr(sub, 'message', sub)} at {list(getattr(sub, 'absolute_path', []))}")
    return "\n".join(parts)


class Contract:
    """Collects contract checks of every exchange seen through `hooks()` / `check()`."""

    def __init__(self, *, check_requests: bool = True) -> None:
        self.check_requests = check_requests
        self.checked = 0
        self.violations: list[str] = []
        self.seen: list[str] = []  # "METHOD path status" of every checked exchange
        self._lock = threading.Lock()

    def check(self, response: httpx.Response) -> None:
        found = problems_for(response, check_request=self.check_requests)
        with self._lock:
            self.checked += 1
            self.seen.append(f"{response.request.method} {response.request.url.path} {response.status_code}")
            self.violations.extend(found)

    def hooks(self) -> dict[str, list[Callable[[httpx.Response], None]]]:
        return {"response": [self.check]}

    def http_client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(event_hooks=self.hooks(), **kwargs)

    def assert_clean(self, min_checked: int = 1) -> None:
        if self.violations:
            raise ContractViolation("contract violations:\n" + "\n".join(self.violations))
        if self.checked < min_checked:
            raise ContractViolation(f"only {self.checked} exchanges were checked (expected >= {min_checked})")
