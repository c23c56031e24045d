"""The `/v1` routes: path templates, who may call them, and the handlers over the World."""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

from reconciler_sandbox import uploads
from reconciler_sandbox.azure import check_training_open
from reconciler_sandbox.errors import ApiError, bad_request
from reconciler_sandbox.grader_run import ROUTE as RUN_GRADER_ROUTE
from reconciler_sandbox.graders import validate_grader
from reconciler_sandbox.model_delete import ROUTE as DELETE_MODEL_ROUTE
from reconciler_sandbox.model_routes import MODEL_ROUTES, check_creation_open
from reconciler_sandbox.multipart import stream_multipart
from reconciler_sandbox.persist import Staged
from reconciler_sandbox.projects import check_file, check_job, check_job_files, job_filter, listing_filter
from reconciler_sandbox.world import DEFAULT_PROJECT, World

ADMIN_PREFIX = "sk-admin-"
SCOPE_MESSAGE = ("You have insufficient permissions for this operation. Missing scopes: {scope}. Check that you "
                 "have the correct role in your organization (Reader, Writer, Owner) and project (Member, "
                 "Owner), and if you're using a restricted API key, that it has the necessary scopes.")


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]            # path parameters, unquoted
    query: dict[str, list[str]]
    headers: dict[str, str]           # lower-case names
    body: bytes
    api_key: str = ""
    project: str = DEFAULT_PROJECT
    extra: dict[str, Any] = field(default_factory=dict)
    # A route that `streams_body` reads its body from here, a piece at a time (body stays b"").
    stream: Callable[[int], bytes] | None = None

    @property
    def is_admin(self) -> bool:
        return self.api_key.startswith(ADMIN_PREFIX)

    def json(self) -> Any:
        if not self.body.strip():
            raise bad_request("We could not parse the JSON body of your request. (HINT: This likely means you "
                              "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
                              "but what was sent was not valid JSON.)", code="invalid_json")
        try:
            # Strict JSON, as the real API parses it: no NaN / Infinity, and no number that
            # overflows to one (it would be stored and then break every later answer's JSON).
            return json.loads(self.body, parse_constant=_not_json, parse_float=_finite_float)
        except (ValueError, RecursionError):
            raise bad_request("We could not parse the JSON body of your request. (HINT: This likely means you "
                              "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
                              "but what was sent was not valid JSON.)", code="invalid_json") from None

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def int_q(self, name: str, default: int, low: int, high: int, *, refuse_above: bool = False) -> int:
        """`refuse_above`: a value over `high` is a 400 (else it is served as `high`)."""
        raw = self.q(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(f"Invalid '{name}': expected an integer, got {raw!r}.", param=name,
                              code="invalid_type") from None
        if value < low:
            raise bad_request(f"Invalid '{name}': must be at least {low}.", param=name, code="integer_below_min_value")
        if value > high and refuse_above:
            raise bad_request(f"Invalid '{name}': must be at most {high}.", param=name, code="integer_above_max_value")
        return min(value, high)

    def enum_q(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.q(name) or default
        if value not in allowed:
            raise bad_request(f"Invalid '{name}': expected one of {', '.join(allowed)}, got {value!r}.",
                              param=name, code="invalid_value")
        return value


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


Handler = Callable[[World, Request], "dict[str, Any] | tuple[bytes | BinaryIO, str]"]


def _require_admin(req: Request, scope: str) -> None:
    if not req.is_admin:
        raise ApiError(401, SCOPE_MESSAGE.format(scope=scope))


# ---- files -------------------------------------------------------------------------------------

def upload_file(world: World, req: Request) -> dict[str, Any]:
    ctype = req.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise bad_request("Uploads must be multipart/form-data with fields 'file' and 'purpose'.",
                          code="invalid_content_type")
    staged: list[tuple[BinaryIO, Path]] = []

    def sink() -> BinaryIO:
        staged.append(world.blobs.stage())
        return staged[-1][0]

    try:
        return _upload(world, req, ctype, sink, staged)
    finally:
        for fh, path in staged:   # what was not adopted (an error, a repeated part, a replay)
            fh.close()
            path.unlink(missing_ok=True)


def _upload(world: World, req: Request, ctype: str, sink: Callable[[], BinaryIO],
            staged: list[tuple[BinaryIO, Path]]) -> dict[str, Any]:
    """The upload streamed to disk: the body is never held in memory (docs/SANDBOX.md)."""
    parts = stream_multipart(ctype, req.stream or io.BytesIO(req.body).read, sink)
    if "file" not in parts or parts["file"].filename is None:
        raise bad_request("Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
    if "purpose" not in parts:
        raise bad_request("Missing required parameter: 'purpose'.", param="purpose",
                          code="missing_required_parameter")
    purpose = parts["purpose"].data.decode("utf-8", "replace").strip()
    expires = None
    if "expires_after[seconds]" in parts:
        try:
            seconds = int(parts["expires_after[seconds]"].data)
        except ValueError:
            raise bad_request("Invalid 'expires_after.seconds': expected an integer.",
                              param="expires_after.seconds") from None
        if not 3600 <= seconds <= 2592000:
            raise bad_request("Invalid 'expires_after.seconds': must be between 3600 and 2592000.",
                              param="expires_after.seconds", code="invalid_value")
        expires = {"anchor": "created_at", "seconds": seconds}
    file_part = parts["file"]
    filename = file_part.filename or "upload.jsonl"
    fh = file_part.sink
    assert fh is not None
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()
    path = next(p for f, p in staged if f is fh)
    return world.idempotent(req.headers.get("idempotency-key"), "POST /files",
                            lambda: world.upload_file(filename=filename, purpose=purpose,
                                                      content=Staged(path, file_part.size),
                                                      expires_after=expires, project=listing_filter(req)))


def list_files(world: World, req: Request) -> dict[str, Any]:
    unscoped = job_filter(req) is None
    return world.list_files(purpose=req.q("purpose"), limit=req.int_q("limit", 10000, 1, 10000, refuse_above=True),
                            order=req.enum_q("order", "desc", ("asc", "desc")), after=req.q("after"),
                            project=listing_filter(req), unowned=DEFAULT_PROJECT if unscoped else None)


def get_file(world: World, req: Request) -> dict[str, Any]:
    check_file(world, req, req.params["file_id"])
    return world.get_file(req.params["file_id"])


def delete_file(world: World, req: Request) -> dict[str, Any]:
    check_file(world, req, req.params["file_id"])
    return world.delete_file(req.params["file_id"])


def file_content(world: World, req: Request) -> tuple[bytes | BinaryIO, str]:
    check_file(world, req, req.params["file_id"])
    return world.file_content(req.params["file_id"]), "application/octet-stream"


# ---- jobs --------------------------------------------------------------------------------------

def create_job(world: World, req: Request) -> dict[str, Any]:
    body = req.json()
    if world.flavor == "azure":
        check_training_open(world, body)
        if not world.keep_metadata and isinstance(body, dict):
            body.pop("metadata", None)   # the api-version contract has no job metadata (docs/SANDBOX.md Z13)
    else:
        check_creation_open(world, body)
    check_job_files(world, req, body)
    return world.idempotent(req.headers.get("idempotency-key"), "POST /fine_tuning/jobs",
                            lambda: world.create_job(body, project=req.project))


def _metadata_filter(req: Request) -> dict[str, str] | bool | None:
    pairs: dict[str, str] = {}
    for key, values in req.query.items():
        m = re.fullmatch(r"metadata\[(.+)\]", key)
        if m:
            pairs[m.group(1)] = values[-1]
    if pairs:
        return pairs
    if req.q("metadata") in ("null", ""):
        return None
    return False


def list_jobs(world: World, req: Request) -> dict[str, Any]:
    return world.list_jobs(after=req.q("after"), limit=req.int_q("limit", 20, 1, 100),
                           metadata=_metadata_filter(req), project=listing_filter(req))


def get_job(world: World, req: Request) -> dict[str, Any]:
    check_job(world, req, req.params["job_id"])
    return world.get_job(req.params["job_id"])


def cancel_job(world: World, req: Request) -> dict[str, Any]:
    check_job(world, req, req.params["job_id"])
    return world.cancel_job(req.params["job_id"])


def pause_job(world: World, req: Request) -> dict[str, Any]:
    check_job(world, req, req.params["job_id"])
    return world.pause_job(req.params["job_id"])


def resume_job(world: World, req: Request) -> dict[str, Any]:
    check_job(world, req, req.params["job_id"])
    return world.resume_job(req.params["job_id"])


def list_events(world: World, req: Request) -> dict[str, Any]:
    check_job(world, req, req.params["job_id"])
    return world.list_events(req.params["job_id"], after=req.q("after"), limit=req.int_q("limit", 20, 1, 100))


def list_checkpoints(world: World, req: Request) -> dict[str, Any]:
    check_job(world, req, req.params["job_id"])
    return world.list_checkpoints(req.params["job_id"], after=req.q("after"),
                                  limit=req.int_q("limit", 10, 1, 100))


# ---- permissions -------------------------------------------------------------------------------

def list_permissions(world: World, req: Request) -> dict[str, Any]:
    _require_admin(req, "api.fine_tuning.checkpoints.read")
    return world.list_permissions(req.params["ckpt"], project_id=req.q("project_id"), after=req.q("after"),
                                  limit=req.int_q("limit", 10, 1, 100),
                                  order=req.enum_q("order", "descending", ("ascending", "descending")))


def create_permissions(world: World, req: Request) -> dict[str, Any]:
    _require_admin(req, "api.fine_tuning.checkpoints.write")
    return world.create_permissions(req.params["ckpt"], req.json())


def delete_permission(world: World, req: Request) -> dict[str, Any]:
    _require_admin(req, "api.fine_tuning.checkpoints.write")
    return world.delete_permission(req.params["ckpt"], req.params["permission_id"])


# ---- graders -----------------------------------------------------------------------------------

def validate_grader_route(world: World, req: Request) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict) or "grader" not in body:
        raise bad_request("Missing required parameter: 'grader'.", param="grader", code="missing_required_parameter")
    return {"grader": validate_grader(body["grader"])}


# ---- chat completions ---------------------------------------------------------------------------

def chat_completion(world: World, req: Request) -> dict[str, Any]:
    return world.chat_completion(req.json())


# ---- the table ---------------------------------------------------------------------------------

ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/v1/files", upload_file),
    ("GET", "/v1/files", list_files),
    ("GET", "/v1/files/{file_id}", get_file),
    ("DELETE", "/v1/files/{file_id}", delete_file),
    ("GET", "/v1/files/{file_id}/content", file_content),
    ("POST", "/v1/fine_tuning/jobs", create_job),
    ("GET", "/v1/fine_tuning/jobs", list_jobs),
    ("GET", "/v1/fine_tuning/jobs/{job_id}", get_job),
    ("POST", "/v1/fine_tuning/jobs/{job_id}/cancel", cancel_job),
    ("POST", "/v1/fine_tuning/jobs/{job_id}/pause", pause_job),
    ("POST", "/v1/fine_tuning/jobs/{job_id}/resume", resume_job),
    ("GET", "/v1/fine_tuning/jobs/{job_id}/events", list_events),
    ("GET", "/v1/fine_tuning/jobs/{job_id}/checkpoints", list_checkpoints),
    ("GET", "/v1/fine_tuning/checkpoints/{ckpt}/permissions", list_permissions),
    ("POST", "/v1/fine_tuning/checkpoints/{ckpt}/permissions", create_permissions),
    ("DELETE", "/v1/fine_tuning/checkpoints/{ckpt}/permissions/{permission_id}", delete_permission),
    ("POST", "/v1/fine_tuning/alpha/graders/validate", validate_grader_route),
    *MODEL_ROUTES,
    DELETE_MODEL_ROUTE,
    ("POST", "/v1/chat/completions", chat_completion),
    RUN_GRADER_ROUTE,
    *uploads.ROUTES,
]

# JSON bodies are small; uploads may be up to 512 MB (plus multipart framing).
JSON_LIMIT = 1024 * 1024
UPLOAD_LIMIT = 512 * 1024 * 1024 + 64 * 1024


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", template)
    return re.compile(pattern + "/?")


def compile_routes(table: Sequence[tuple[str, str, Handler]]) -> list[tuple[str, str, re.Pattern[str], Handler]]:
    return [(method, template, _compile(template), handler) for method, template, handler in table]


COMPILED = compile_routes(ROUTES)


def match(method: str, path: str, compiled: list[tuple[str, str, re.Pattern[str], Handler]] | None = None,
          ) -> tuple[str | None, Handler | None, dict[str, str], bool]:
    """(template, handler, params, path_known) in `compiled` (default: the `/v1` routes). path_known
    without handler means 405."""
    table = COMPILED if compiled is None else compiled
    known = False
    for route_method, template, regex, handler in table:
        m = regex.fullmatch(path)
        if m:
            known = True
            if route_method == method:
                return template, handler, {k: unquote(v) for k, v in m.groupdict().items()}, True
    if known:
        for _method, template, regex, _ in table:
            if regex.fullmatch(path):
                return template, None, {}, True
    return None, None, {}, False


def streams_body(method: str, path: str) -> bool:
    """An upload: its body is read as it is parsed (`Request.stream`), never whole."""
    return (method == "POST" and path.rstrip("/") == "/v1/files") or uploads.is_part(method, path)


def body_limit(method: str, path: str) -> int:
    if uploads.is_part(method, path):
        return uploads.PART_BODY_LIMIT
    return UPLOAD_LIMIT if streams_body(method, path) else JSON_LIMIT
