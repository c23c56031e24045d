"""When to retry a request and how long to wait: exponential backoff with full jitter, overridden by
the server's `retry-after-ms` / `Retry-After`, and `x-should-retry` obeyed either way.

Creating POSTs (a job, a file) are the exception: the Idempotency-Key they carry is not documented
to be honoured, so a request that may have had its effect is never re-sent. Only what cannot have
had one is retried: a 429 (rate limited before being processed) and a connection that was never
made (`sent_nothing`). Everything else is ambiguous and left to the caller's lookup."""

from __future__ import annotations

import datetime as _dt
import email.utils
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

__all__ = [
    "RETRY_STATUSES",
    "RetryInfo",
    "RetryPolicy",
    "is_retryable_exception",
    "may_resend_create",
    "reason_for_status",
    "sent_nothing",
    "server_delay",
    "should_retry_status",
]

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})

_REASONS = {408: "request timeout", 409: "conflict", 429: "rate limited", 500: "server error",
            502: "bad gateway", 503: "service unavailable", 504: "gateway timeout"}


def reason_for_status(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'error')}"


@dataclass(frozen=True)
class RetryInfo:
    """What `on_retry` hooks receive before the client sleeps."""

    method: str
    path: str
    attempt: int        # 1 for the first retry
    reason: str         # "429 rate limited", "connection error (ReadTimeout)", ...
    delay: float        # seconds the client will sleep now
    status: int | None
    request_id: str | None

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {self.reason}, retrying in {self.delay:.1f}s (retry {self.attempt})"


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 6
    max_retry_time: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_server_delay: float = 60.0  # a Retry-After above this is capped to it

    def backoff(self, retry_index: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**retry_index)]; retry_index starts at 0."""
        ceiling = min(self.max_delay, self.base_delay * math.pow(2.0, min(retry_index, 60)))
        return rng.uniform(0.0, ceiling)

    def delay(self, retry_index: int, headers: Mapping[str, str] | None, rng: random.Random,
              now: _dt.datetime | None = None) -> float:
        told = server_delay(headers, now) if headers is not None else None
        if told is not None:
            return min(told, self.max_server_delay)
        return self.backoff(retry_index, rng)


def server_delay(headers: Mapping[str, str], now: _dt.datetime | None = None) -> float | None:
    """Seconds the server asked us to wait: `retry-after-ms`, then `Retry-After` (seconds or an
    HTTP date). None when absent or unparseable."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
            if math.isfinite(value) and value >= 0:
                return value
        except ValueError:
            pass
    after = headers.get("retry-after")
    if after is None:
        return None
    after = after.strip()
    try:
        value = float(after)
        return value if math.isfinite(value) and value >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(after)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    now = now or _dt.datetime.now(_dt.UTC)
    return max(0.0, (when - now).total_seconds())


def should_retry_status(status: int, headers: Mapping[str, str]) -> bool:
    flag = headers.get("x-should-retry", "").strip().lower()
    if flag == "true":
        return True
    if flag == "false":
        return False
    return status in RETRY_STATUSES


def is_retryable_exception(exc: BaseException) -> bool:
    """Connection failures, timeouts and connections dropped mid-response."""
    return isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError))


def sent_nothing(exc: BaseException) -> bool:
    """The request never left this machine: the connection could not be opened (refused, DNS,
    TLS handshake, connect timeout) or no pooled connection became free."""
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def may_resend_create(status: int | None, failure: BaseException | None) -> bool:
    """Whether a creating POST that failed this way can be sent again without risking a second
    object: a 429 is answered before the request is processed (the rate limiter runs first and a
    rate-limited request has no effect), and a connection never made carries no request. A 5xx, a
    408/409, a timeout or a connection dropped after sending may all follow the effect."""
    if status is not None:
        return status == 429
    return failure is not None and sent_nothing(failure)
