"""Turn an HTTP error answer or a transport failure into the matching `reconciler.errors` class."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.errors import ApiError, AuthError, ConnectionFailedError, NotFoundError, RateLimitError
from reconciler.secrets import redact

__all__ = [
    "AmbiguousCreateError",
    "AnswerTooLargeError",
    "DeadlineExceededError",
    "error_class_for",
    "error_from_exception",
    "error_from_response",
    "response_hint",
]


class AmbiguousCreateError(ApiError):
    """A creating POST (a job, a file) ended so that the object may or may not exist: a timeout, a
    dropped connection or a 5xx after the request was sent. The client never re-sends it; the
    caller looks the object up by its marks first (kinds/job/apply.py, kinds/file/apply.py)."""


class DeadlineExceededError(ConnectionFailedError):
    """No complete answer within the request's total deadline (a stalled or trickling server)."""


class AnswerTooLargeError(ApiError):
    """The answer's body is larger than the client accepts (JSON answers, file downloads)."""


def error_class_for(status: int) -> type[ApiError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    return ApiError


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error: dict[str, Any] = data["error"]
        return error
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return {"message": data["error"]}
    return {}


def _note(retries: int, elapsed: float) -> str:
    if retries <= 0:
        return ""
    return f" (gave up after {retries} {'retry' if retries == 1 else 'retries'} in {elapsed:.1f}s)"


def response_hint(status: int, *, key_source: str | None, base_url: str, base_url_source: str | None) -> str:
    """What to check after a 401 (the variable the refused key came from) or a 404 from a base URL
    that does not end in /v1. The sources are names the caller gives (the CLI's environment
    variables); without one, no hint."""
    if status == 401 and key_source:
        return f" (the key in {key_source} was refused: check it)"
    if status == 404 and base_url_source and not httpx.URL(base_url).path.rstrip("/").endswith("/v1"):
        return f" (does {base_url_source} need to end in /v1?)"
    return ""


def error_from_response(method: str, path: str, response: httpx.Response, *, retries: int = 0,
                        elapsed: float = 0.0, hint: str = "", credential: str | None = None) -> ApiError:
    body = _error_body(response)
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        text = response.text  # httpx decodes with errors="replace": never raises
        message = _one_line(text) if text.strip() else (response.reason_phrase or "error")
    message = redact(_one_line(message)) + _note(retries, elapsed) + hint
    cls = error_class_for(response.status_code)

    def text_or_none(value: Any) -> str | None:
        return None if value is None else redact(str(value))

    error = cls(message, status=response.status_code, code=text_or_none(body.get("code")),
                param=text_or_none(body.get("param")), type=text_or_none(body.get("type")),
                request_id=response.headers.get("x-request-id"), method=method, path=path)
    error.credential = credential  # which key was sent: "api_key" or "admin_key"
    return error


def error_from_exception(method: str, path: str, exc: BaseException, *, retries: int = 0,
                         elapsed: float = 0.0) -> ConnectionFailedError:
    if isinstance(exc, httpx.LocalProtocolError):
        # a header h11 refuses (a line break in a key or an id): its message quotes the value, which
        # may be the key, so it is not repeated; nothing was sent
        return ConnectionFailedError("a request header is not valid HTTP (a line break or control character in "
                                     "a key, an id or a header value?); nothing was sent", method=method, path=path)
    detail = redact(_one_line(str(exc))) if str(exc) else ""
    kind = type(exc).__name__
    message = f"connection failed ({kind}{': ' + detail if detail else ''}){_note(retries, elapsed)}"
    return ConnectionFailedError(message, method=method, path=path)
