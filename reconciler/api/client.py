"""`ApiClient`: the fine-tuning, files and checkpoint-permission endpoints over one sync httpx client.

Thread-safe (the executor and the refresh share one client): httpx's connection pool is sized for
the caller's parallelism, and the statistics are guarded by a lock. Keys never leave the request
headers: they are registered with `reconciler.secrets`, absent from `repr`, errors and logs.

Every exchange is bounded: a total deadline per attempt (every socket read and write, headers
included, is cut at what is left of it, and the body is checked while it streams in), a cap on the
body (64 MiB for a JSON answer, a file's size plus a margin for a download), a cap on the pages
and items of a listing. Creating POSTs are never re-sent when they may have had their effect
(see `reconciler.api.retry.may_resend_create`): the caller gets `AmbiguousCreateError` and looks.
"""

from __future__ import annotations

import contextlib
import logging
import random
import ssl
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

from reconciler import __version__
from reconciler.api.azure import AzureDataPlane
from reconciler.api.errors import (
    AmbiguousCreateError,
    AnswerTooLargeError,
    DeadlineExceededError,
    error_from_exception,
    error_from_response,
    response_hint,
)
from reconciler.api.pagination import DEFAULT_MAX_ITEMS, DEFAULT_MAX_PAGES, paginate
from reconciler.api.retry import (
    RetryInfo,
    RetryPolicy,
    is_retryable_exception,
    may_resend_create,
    reason_for_status,
    should_retry_status,
)
from reconciler.api.transport import deadline_transport, with_deadline
from reconciler.api.uploads import TRANSFER_RATE_FLOOR, UploadsApi
from reconciler.errors import ApiError, ConfigError
from reconciler.hosts import is_loopback
from reconciler.identity import ApiIdentity
from reconciler.secrets import redact, register_secret, register_url_secrets
from reconciler.sharing import dedupe_hook

__all__ = ["ApiClient", "ClientStats", "client_options_from_env"]

log = logging.getLogger("reconciler.api")

MIB = 1024 * 1024
DEFAULT_DEADLINE = 300.0            # seconds for one attempt, first byte sent to last byte read
DEFAULT_MAX_BODY = 64 * MIB         # a JSON answer larger than this is refused
ERROR_BODY_LIMIT = MIB              # an error answer is read up to this much (the rest is dropped)
DOWNLOAD_MARGIN = MIB               # a download may exceed the file's known size by this much

# Settings `reconciler/cli` reads from the environment (the core never reads os.environ itself).
_ENV_OPTIONS: dict[str, tuple[str, type]] = {
    "RECONCILER_API_TIMEOUT": ("timeout", float),
    "RECONCILER_API_DEADLINE": ("deadline", float),
    "RECONCILER_API_MAX_PAGES": ("max_pages", int),
    "RECONCILER_API_MAX_BODY_MB": ("max_body", float),
}


def client_options_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """`ApiClient` keyword arguments from RECONCILER_API_TIMEOUT (seconds per read),
    RECONCILER_API_DEADLINE (seconds per request), RECONCILER_API_MAX_PAGES (pages per listing)
    and RECONCILER_API_MAX_BODY_MB (largest JSON answer); ConfigError for a bad value. With them
    `trust_env`: httpx reads HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY and SSL_CERT_FILE /
    SSL_CERT_DIR itself, by its own rules."""
    options: dict[str, Any] = {"trust_env": True}
    for name, (option, kind) in _ENV_OPTIONS.items():
        text = env.get(name)
        if text is None or not text.strip():
            continue
        try:
            value = kind(text.strip())
        except ValueError:
            value = None
        if value is None or not value > 0 or value != value or value == float("inf"):
            raise ConfigError(f"{name}={text!r:.40}: expected a positive {'whole ' if kind is int else ''}number")
        options[option] = int(value * MIB) if option == "max_body" else value
    for name, value in env.items():
        if name.lower().endswith("_proxy") and "@" in value:  # user:password@host: a credential
            register_url_secrets(value)
    return options


def _tls_context(*, tls: bool, trust_env: bool) -> ssl.SSLContext:
    """The context httpx itself builds for an https base URL (certifi's bundle, or SSL_CERT_FILE /
    SSL_CERT_DIR with `trust_env`). A plain-http base URL (the sandbox, a loopback proxy) gets one
    that trusts nothing, so the CA bundle (50-70 ms per client) is never loaded for it: an https
    URL could then never be reached, let alone unverified."""
    if tls:
        return httpx.create_ssl_context(trust_env=trust_env)
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _proxy_variable(url: httpx.URL) -> str | None:
    """Which proxy variable the base URL goes through when httpx reads the environment (named in
    the error when nothing answers), by the standard library's reading that httpx's follows."""
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not (proxies.get(url.scheme) or proxies.get("all")) or bypass(url.host, proxies):
        return None
    return "HTTPS_PROXY / ALL_PROXY" if url.scheme == "https" else "HTTP_PROXY / ALL_PROXY"


# RFC 3986 pchar minus "+": what may stay literal in one path segment (":" in checkpoint names).
_SEGMENT_SAFE = ":@!$&'()*,;=-._~"
# Fields whose values repeat across every object of a listing and across pages (a type tag, a
# status, the base model, the organization): one shared string each, not one per object.
_REPEATING_FIELDS = frozenset({"object", "status", "type", "model", "organization_id", "purpose",
                               "training_file", "validation_file", "level"})


def segment(value: str, what: str = "id") -> str:
    """One URL path segment, percent-encoded; refuses empty and dot segments."""
    if not isinstance(value, str) or value in ("", ".", ".."):
        raise ConfigError(f"invalid {what} {value!r}")
    return quote(value, safe=_SEGMENT_SAFE)


_COLLECTIONS = ("jobs", "files", "checkpoints", "permissions", "models")


def path_template(path: str) -> str:
    """`/fine_tuning/jobs/ftjob-1/cancel` → `/fine_tuning/jobs/{id}/cancel` (for statistics)."""
    parts = path.split("/")
    return "/".join("{id}" if i > 1 and parts[i - 1] in _COLLECTIONS else p for i, p in enumerate(parts))


def check_base_url(base_url: str, *, insecure_http: bool = False) -> httpx.URL:
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ConfigError(f"invalid API base URL {base_url!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"invalid API base URL {redact(base_url)!r}: expected https://HOST/v1")
    if url.scheme == "http" and not is_loopback(url.host) and not insecure_http:
        raise ConfigError(f"refusing to send API keys over plain http to {url.host}: use an https:// "
                          f"base URL (plain http is only allowed for localhost)")
    return url


class _Secret:
    """Holds a key; its repr never shows it (e.g. in tracebacks that print locals)."""

    __slots__ = ("value",)

    def __init__(self, value: str | None):
        self.value = value or None

    def __repr__(self) -> str:
        return "'[REDACTED]'" if self.value else "None"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)


@dataclass
class ClientStats:
    """Counters for the reliability report. Read with `snapshot()`."""

    calls: int = 0                   # API calls (one per method call / page)
    requests: int = 0                # HTTP attempts, retries included
    retries: int = 0
    retries_by_reason: Counter[str] = field(default_factory=Counter)     # "429", "503", "connection"
    retries_by_call: Counter[str] = field(default_factory=Counter)       # "GET /fine_tuning/jobs" -> n
    failures: int = 0                # calls that ended in an error
    max_retries_in_one_call: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": self.calls, "requests": self.requests, "retries": self.retries,
                    "retries_by_reason": dict(self.retries_by_reason),
                    "retries_by_call": dict(self.retries_by_call), "failures": self.failures,
                    "max_retries_in_one_call": self.max_retries_in_one_call}


@dataclass
class _Call:
    """One API call as its attempts see it: what to send, its bounds, and how far the retries got."""

    method: str
    path: str                        # as callers and messages name it
    url: str                         # what is sent, relative to the base URL
    headers: dict[str, str]
    params: Mapping[str, Any] | None
    json_body: Any
    files: Callable[[], contextlib.AbstractContextManager[dict[str, Any]]] | None
    data: Mapping[str, str] | None
    admin: bool
    raw: bool
    creating: bool
    limit: int                       # the largest body accepted
    deadline: float                  # seconds per attempt
    sink: BinaryIO | None
    retries: int = 0
    started: float = field(default_factory=time.monotonic)
    slept_real: float = 0.0
    slept_requested: float = 0.0

    def spent(self) -> float:
        """Seconds the call has taken, its sleeps counted as asked for (a test's clock sleeps none)."""
        return time.monotonic() - self.started - self.slept_real + self.slept_requested

    def slept(self, real: float, requested: float) -> None:
        self.slept_real += real
        self.slept_requested += requested


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        return None


_LIMITS = httpx.Limits()


class _Client(httpx.Client):
    """httpx's client without a cookie jar, whose direct connections honour the attempt's deadline.

    The API sets load-balancer cookies (`__cf_bm`) that nothing here needs, and storing them costs
    CPU on every answer. The
    transport httpx builds for direct connections is its own, over a pool whose sockets are
    bounded by the deadline (api/transport.py); those it builds for proxies are unchanged."""

    _none = _NoCookies()

    def _init_transport(self, verify: Any = True, cert: Any = None, trust_env: bool = True, http1: bool = True,
                        http2: bool = False, limits: httpx.Limits = _LIMITS,
                        transport: httpx.BaseTransport | None = None) -> httpx.BaseTransport:
        if transport is not None:
            return transport
        return deadline_transport(verify, limits)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._none

    @cookies.setter
    def cookies(self, value: Any) -> None:
        pass


class ApiClient(UploadsApi):
    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        admin_key: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        *,
        timeout: float = 30.0,
        deadline: float = DEFAULT_DEADLINE,
        max_body: int = DEFAULT_MAX_BODY,
        max_pages: int = DEFAULT_MAX_PAGES,
        max_items: int = DEFAULT_MAX_ITEMS,
        max_retries: int = 6,
        max_retry_time: float = 120.0,
        pool_size: int = 32,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], Any] = time.sleep,
        insecure_http: bool = False,
        on_retry: Callable[[RetryInfo], Any] | None = None,
        rng: random.Random | None = None,
        sources: Mapping[str, str] | None = None,
        trust_env: bool = False,
        azure: AzureDataPlane | None = None,
    ):
        register_secret(api_key)
        # Azure OpenAI (api/azure.py): its URL shape and credential; None: OpenAI's.
        self.azure = azure
        register_secret(admin_key)
        url = check_base_url(base_url, insecure_http=insecure_http)
        self.base_url = str(url).rstrip("/")
        # Whether anything has answered at base_url yet: until then a refused or unresolvable
        # connection is most likely a wrong URL, not a blip, and is retried once instead of six
        # times (about 17 s of backoff before a mistyped host was reported).
        self._answered = False
        # Where the caller found the keys and the URL ("api_key" / "admin_key" / "base_url" ->
        # e.g. "OPENAI_API_KEY"): named in the hint of a 401 or a 404 (api/errors.response_hint).
        self.sources = dict(sources or {})
        self._api_key = _Secret(api_key)
        self._admin_key = _Secret(admin_key)
        self.organization = organization
        self.project = project
        self.policy = RetryPolicy(max_retries=max(0, max_retries), max_retry_time=max_retry_time)
        self.deadline = float(deadline)
        self.max_body = int(max_body)
        self.max_pages = int(max_pages)
        self.max_items = int(max_items)
        self.stats = ClientStats()
        self.last_server_date: str | None = None  # the Date header of the last answer: the server's clock
        self.on_retry = on_retry
        # Told of every answer (status or None, seconds, headers): refresh's adaptive read limit
        # (reconciler.api.parallel.AdaptiveLimit) follows latency, 429s and the rate-limit headers.
        self.observer: Callable[[int | None, float, Mapping[str, str] | None], Any] | None = None
        self.pacer: Callable[[], Any] | None = None  # waits for the limit's turn before a retry is sent
        # The account behind base_url as its first successful answer reports it (`identity`), and
        # the caller's check of it (`on_identity`, which may raise): see `_note_identity`.
        self.identity: ApiIdentity | None = None
        self.on_identity: Callable[[ApiIdentity], Any] | None = None
        self._identity_error: BaseException | None = None
        self._identity_lock = threading.Lock()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        headers = {"User-Agent": f"reconciler/{__version__}", "Accept": "application/json"}
        if organization:
            headers["OpenAI-Organization"] = organization
        if project:
            headers["OpenAI-Project"] = project
        limits = httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
        # A loopback base URL (the sandbox, a local test server) is never proxied: httpx would send
        # it to a corporate proxy unless NO_PROXY listed it.
        direct: dict[str, httpx.BaseTransport | None] | None = \
            {f"all://{url.netloc.decode('ascii')}": None} if trust_env and is_loopback(url.host) else None
        try:
            self._http = _Client(
                base_url=self.base_url + "/",
                headers=headers,
                timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                verify=_tls_context(tls=url.scheme == "https", trust_env=trust_env),
                limits=limits,
                transport=transport,
                trust_env=trust_env,
                mounts=direct,
                follow_redirects=False,
            )
        except ImportError:
            raise ConfigError("ALL_PROXY / HTTPS_PROXY: a socks proxy needs the socksio package "
                              "(pip install 'httpx[socks]')") from None
        except (ValueError, httpx.InvalidURL) as exc:
            raise ConfigError(f"HTTP_PROXY / HTTPS_PROXY / ALL_PROXY: not a proxy URL httpx can use "
                              f"({redact(str(exc))})") from None
        # which proxy variable (if any) the base URL goes through: named when nothing answers
        self.proxy_variable: str | None = _proxy_variable(url) if trust_env and transport is None and not direct \
            else None

    def _url(self, relative: str, params: Mapping[str, Any] | None) -> httpx.URL:
        """base_url + relative + the encoded params, parsed once: build_request given a relative
        path and params parses three URLs (relative, joined, with params). The same URL: the base ends in "/" and httpx joins by appending the relative path."""
        text = f"{self.base_url}/{relative}"
        if params:
            query = str(httpx.QueryParams(params))
            if query:
                text += "?" + query
        return httpx.URL(text)

    @property
    def keeps_metadata(self) -> bool:
        """Whether a job's `metadata` (reconciler's ownership marks) is a documented part of this
        API, so that a create whose answer was lost can be looked for by it. Azure OpenAI's
        authoring API has no job metadata (api/azure.py)."""
        return self.azure is None

    def __repr__(self) -> str:
        keys = f"api_key={'set' if self._api_key else 'unset'}, admin_key={'set' if self._admin_key else 'unset'}"
        return f"ApiClient({self.base_url!r}, {keys})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one request loop ---------------------------------------------------------------
    def _auth(self, admin: bool, operation: str) -> _Secret:
        if admin:
            if not self._admin_key.value:
                raise ConfigError("checkpoint permissions need an admin key: set OPENAI_ADMIN_KEY "
                                  f"(needed to {operation})")
            return self._admin_key
        if not self._api_key.value:
            raise ConfigError(f"no API key: set OPENAI_API_KEY (needed to {operation})")
        return self._api_key

    def _hint(self, status: int, admin: bool) -> dict[str, Any]:
        credential = "admin_key" if admin else "api_key"
        # Azure's base URL is `{endpoint}/openai` by design (api/azure.py): no "/v1?" hint for its 404s
        url_source = None if self.azure is not None else self.sources.get("base_url")
        return {"credential": credential,
                "hint": response_hint(status, key_source=self.sources.get(credential), base_url=self.base_url,
                                      base_url_source=url_source)}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call, as `_request` makes it (retries, deadlines, error bodies): the way the
        calls kept in their own modules (api/uploads.py) reach the API."""
        return self._request(method, path, **kwargs)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        files: Callable[[], contextlib.AbstractContextManager[dict[str, Any]]] | None = None,
        data: Mapping[str, str] | None = None,
        admin: bool = False,
        operation: str | None = None,
        idempotency_key: str | None = None,
        raw: bool = False,
        creating: bool = False,
        limit: int | None = None,
        deadline: float | None = None,
        sink: BinaryIO | None = None,
    ) -> Any:
        """One API call: attempts until success, a final answer, or the retry budget is spent.

        `creating`: a POST that makes a paid or stored object; re-sent only when the failure
        proves it had no effect (429, connection never made), else `AmbiguousCreateError`.
        `limit`: the largest body accepted (default `max_body`); `deadline`: seconds per attempt;
        `sink`: a successful body is written there as it streams (emptied before each attempt), not
        held in memory."""
        self._check_identity(method)
        url, params = path.lstrip("/"), params
        if self.azure is not None:  # Azure OpenAI (api/azure.py): its URL shape and credential
            headers, url, params = self.azure.sign(self._api_key.value, url, params, operation or f"{method} {path}")
            if idempotency_key:
                headers["Idempotency-Key"] = idempotency_key
        else:
            headers = self._headers(admin, operation or f"{method} {path}", idempotency_key)
        call = _Call(method=method, path=path, url=url, headers=headers,
                     params=params, json_body=json_body, files=files, data=data, admin=admin, raw=raw,
                     creating=creating, limit=self.max_body if limit is None else limit,
                     deadline=self.deadline if deadline is None else deadline, sink=sink)
        with self.stats._lock:
            self.stats.calls += 1
        while True:
            started = time.monotonic()
            response, failure = self._attempt(call)
            if self.observer is not None:
                self.observer(response.status_code if response is not None else None, time.monotonic() - started,
                              response.headers if response is not None else None)
            if response is not None and response.is_success:
                return self._succeeded(call, response, started)
            self._retry_or_raise(call, response, failure, started)

    def _check_identity(self, method: str) -> None:
        """Refuse when the account check refused; ask which account answers before the first
        request that could change anything."""
        if self._identity_error is not None:
            raise self._identity_error
        if method not in ("GET", "HEAD") and self.on_identity is not None and self.identity is None:
            self.probe_identity()

    def _headers(self, admin: bool, operation: str, idempotency_key: str | None) -> dict[str, str]:
        """The headers of one call: the key it needs, and its Idempotency-Key if any."""
        key = self._auth(admin, operation)
        headers = {"Authorization": f"Bearer {key.value}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _attempt(self, call: _Call) -> tuple[httpx.Response | None, BaseException | None]:
        """Send once: the answer, or the retryable failure that stands for it; anything final
        (not retryable, too large, too late, unreadable) is raised as an ApiError."""
        ends_at = time.monotonic() + call.deadline
        if call.sink is not None:
            call.sink.seek(0)
            call.sink.truncate()
        with self.stats._lock:
            self.stats.requests += 1
        try:
            return self._send(call, ends_at), None
        except httpx.TransportError as exc:
            if time.monotonic() >= ends_at - 0.05 and isinstance(exc, httpx.TimeoutException):
                self._count_failure(call.retries)
                raise self._late(call.method, call.path, call.deadline, call.creating) from None
            if not is_retryable_exception(exc):
                self._count_failure(call.retries)
                raise error_from_exception(call.method, call.path, exc) from None
            return None, exc
        except httpx.RequestError as exc:  # e.g. an undecodable body: not a network problem
            self._count_failure(call.retries)
            unread = ApiError(f"could not read the answer ({type(exc).__name__}: {redact(str(exc))})",
                              method=call.method, path=call.path)
            raise (self._ambiguous(unread) if call.creating else unread) from None
        except ApiError as exc:  # too large, or too late
            self._count_failure(call.retries)
            raise (self._ambiguous(exc) if call.creating else exc) from None

    def _send(self, call: _Call, ends_at: float) -> httpx.Response:
        url = call.url
        if call.files is None:
            request = self._http.build_request(call.method, self._url(url, call.params), json=call.json_body,
                                               headers=call.headers)
            return self._exchange(request, call.method, call.path, call.limit, ends_at, call.deadline,
                                  call.creating, call.sink)
        with call.files() as file_fields:  # reopened for every attempt
            request = self._http.build_request(call.method, url, params=call.params, files=file_fields,
                                               data=call.data, headers=call.headers)
            return self._exchange(request, call.method, call.path, call.limit, ends_at, call.deadline,
                                  call.creating)

    def _succeeded(self, call: _Call, response: httpx.Response, started: float) -> Any:
        self._answered = True
        log.debug("%s %s → %s in %.3fs (request id %s)", call.method, call.path, response.status_code,
                  time.monotonic() - started, response.headers.get("x-request-id") or "-")
        date = response.headers.get("date")
        if date:
            self.last_server_date = date
        if self.identity is None:
            self._note_identity(response)
        self._count_done(call.retries)
        try:
            return self._decode(call.method, call.path, response, call.raw)
        except ApiError as exc:  # created, but the answer is unreadable
            raise (self._ambiguous(exc) if call.creating else exc) from None

    def _retry_or_raise(self, call: _Call, response: httpx.Response | None, failure: BaseException | None,
                        started: float) -> None:
        """After a failed attempt: wait and return (the caller sends again), or raise the error
        that ends the call."""
        if response is not None:
            self._answered = True
            log.debug("%s %s → %s in %.3fs (request id %s)", call.method, call.path, response.status_code,
                      time.monotonic() - started, response.headers.get("x-request-id") or "-")
            retryable = should_retry_status(response.status_code, response.headers)
            status: int | None = response.status_code
        else:
            log.debug("%s %s → %s after %.3fs", call.method, call.path, type(failure).__name__,
                      time.monotonic() - started)
            retryable, status = True, None
        spent = call.spent()
        if call.creating and (retryable or (status is not None and status >= 500)) \
                and not may_resend_create(status, failure):
            # The object may exist now: never re-send blindly; the caller looks it up.
            self._count_failure(call.retries)
            raise self._ambiguous(self._final_error(call, response, failure, spent)) from None
        never_reached = response is None and isinstance(failure, httpx.ConnectError) and not self._answered
        delay = self._delay(call, response, spent, never_reached) if retryable else None
        if delay is None:
            self._count_failure(call.retries)
            raise self._final_error(call, response, failure, spent, never_reached=never_reached) from None
        self._count_retry(call, response, failure, delay)
        before = time.monotonic()
        self._sleep(delay)
        if self.pacer is not None:
            self.pacer()
        call.slept(time.monotonic() - before, delay)

    def _delay(self, call: _Call, response: httpx.Response | None, spent: float, never_reached: bool) -> float | None:
        """How long to wait before the next attempt; None when the retry budget is spent. A URL
        nothing has answered at yet gets one retry: most likely a wrong URL, not a blip."""
        limit_retries = min(1, self.policy.max_retries) if never_reached else self.policy.max_retries
        if call.retries >= limit_retries:
            return None
        with self._rng_lock:
            delay = self.policy.delay(call.retries, response.headers if response is not None else None, self._rng)
        return None if spent + delay > self.policy.max_retry_time else delay

    def _count_retry(self, call: _Call, response: httpx.Response | None, failure: BaseException | None,
                     delay: float) -> None:
        call.retries += 1
        reason_key = str(response.status_code) if response is not None else "connection"
        with self.stats._lock:
            self.stats.retries += 1
            self.stats.retries_by_reason[reason_key] += 1
            self.stats.retries_by_call[f"{call.method} {path_template(call.path)}"] += 1
        if response is not None:
            reason, status, request_id = (reason_for_status(response.status_code), response.status_code,
                                          response.headers.get("x-request-id"))
        else:
            reason, status, request_id = f"connection error ({type(failure).__name__})", None, None
        info = RetryInfo(method=call.method, path=call.path, attempt=call.retries, reason=reason, delay=delay,
                         status=status, request_id=request_id)
        log.debug("%s", info)
        if self.on_retry is not None:
            self.on_retry(info)

    def _final_error(self, call: _Call, response: httpx.Response | None, failure: BaseException | None,
                     spent: float, *, never_reached: bool = False) -> ApiError:
        if response is not None:
            return error_from_response(call.method, call.path, response, retries=call.retries, elapsed=spent,
                                       **self._hint(response.status_code, call.admin))
        error = error_from_exception(call.method, call.path, failure or Exception(), retries=call.retries,
                                     elapsed=spent)
        if not never_reached:
            return error
        through = f" through the proxy ({self.proxy_variable})" if self.proxy_variable else ""
        # where the URL came from: OPENAI_BASE_URL, or a Provider document's base_url
        source = self.sources.get("base_url")
        named = source if source and source != "the base URL" else "OPENAI_BASE_URL"
        check = f"the proxy ({self.proxy_variable}) and {named}" if self.proxy_variable else f"{named} (or --sandbox)"
        return type(error)(f"{error.message}; nothing has answered at {self.base_url}{through} yet: check {check}",
                           method=call.method, path=call.path)

    # -- which account answers -----------------------------------------------------------------
    def _note_identity(self, response: httpx.Response) -> None:
        """Record the account the first successful answer reports and let `on_identity` check it
        (once, whichever thread gets there first). Should the check refuse, this call and every
        later one raise its error before sending anything.

        The API names the account in two response headers: `openai-organization` (listed among the
        response headers in the API reference, "Debugging requests":
        https://platform.openai.com/docs/api-reference/debugging-requests) and `openai-project`,
        not listed there but sent with real answers beside it (httpx debug logs of real answers
        show `('openai-organization', 'user-…'), …, ('openai-project', 'proj_…')`). A server that
        sends neither (a proxy, another compatible API) reports only its base URL."""
        with self._identity_lock:
            if self._identity_error is not None:
                raise self._identity_error
            if self.identity is not None:
                return
            identity = ApiIdentity.reported(self.base_url, response.headers.get("openai-organization"),
                                            response.headers.get("openai-project"))
            if self.on_identity is not None:
                try:
                    self.on_identity(identity)
                except BaseException as exc:
                    self._identity_error = exc
                    self.identity = identity
                    raise
            self.identity = identity

    def probe_identity(self) -> ApiIdentity:
        """The account behind base_url, asking the API (one small listing) when no answer has told
        it yet. Called before the first request that could change anything."""
        if self.identity is None:
            self._request("GET", "/fine_tuning/jobs", params={"limit": 1}, admin=not self._api_key.value,
                          operation="ask which account answers")
        if self._identity_error is not None:
            raise self._identity_error
        assert self.identity is not None
        return self.identity

    @staticmethod
    def _ambiguous(cause: ApiError) -> AmbiguousCreateError:
        if isinstance(cause, AmbiguousCreateError):
            return cause
        return AmbiguousCreateError(f"{cause.message}; the request may have created the object, so it is not "
                                    "sent again blindly", status=cause.status, code=cause.code,
                                    request_id=cause.request_id, method=cause.method, path=cause.path)

    @staticmethod
    def _late(method: str, path: str, seconds: float, creating: bool) -> ApiError:
        late = DeadlineExceededError(f"no complete answer within {seconds:g}s (the server stalled or sent its "
                                     "answer too slowly; the bound is RECONCILER_API_DEADLINE)",
                                     method=method, path=path)
        return ApiClient._ambiguous(late) if creating else late

    def _exchange(self, request: httpx.Request, method: str, path: str, limit: int, ends_at: float,
                  seconds: float, creating: bool, sink: BinaryIO | None = None) -> httpx.Response:
        """Send and read the answer within `limit` bytes and the deadline; the body is streamed so
        neither a huge nor a trickling answer is held or waited for beyond its bound (with a
        `sink`, a successful body goes there chunk by chunk)."""
        with_deadline(request, ends_at)
        response = self._http.send(request, stream=True)
        try:
            if not response.is_success:
                limit = min(limit, ERROR_BODY_LIMIT)
            declared = response.headers.get("content-length", "")
            if response.is_success and declared.isdigit() and int(declared) > limit:
                raise self._too_large(method, path, response, limit, f"declares {int(declared)} bytes")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    if not response.is_success:  # an error's text: what fits is enough
                        chunks.append(chunk[: len(chunk) - (size - limit)])
                        break
                    raise self._too_large(method, path, response, limit, "is larger")
                if sink is not None and response.is_success:
                    sink.write(chunk)
                else:
                    chunks.append(chunk)
                if time.monotonic() > ends_at:
                    raise self._late(method, path, seconds, creating)
            response._content = b"".join(chunks)
        finally:
            response.close()
        return response

    @staticmethod
    def _too_large(method: str, path: str, response: httpx.Response, limit: int, how: str) -> ApiError:
        return AnswerTooLargeError(f"the answer {how} than the {limit // MIB if limit >= MIB else limit}"
                                   f"{' MiB' if limit >= MIB else ' bytes'} accepted: refusing to read it "
                                   "(RECONCILER_API_MAX_BODY_MB raises the bound for JSON answers)",
                                   status=response.status_code, request_id=response.headers.get("x-request-id"),
                                   method=method, path=path)

    def _count_done(self, retries: int) -> None:
        with self.stats._lock:
            self.stats.max_retries_in_one_call = max(self.stats.max_retries_in_one_call, retries)

    def _count_failure(self, retries: int) -> None:
        with self.stats._lock:
            self.stats.failures += 1
            self.stats.max_retries_in_one_call = max(self.stats.max_retries_in_one_call, retries)

    @staticmethod
    def _decode(method: str, path: str, response: httpx.Response, raw: bool) -> Any:
        if raw:
            return response.content
        try:
            return response.json(object_hook=dedupe_hook(_REPEATING_FIELDS))
        except (ValueError, UnicodeDecodeError):
            raise ApiError("the API answered with something that is not JSON", status=response.status_code,
                           request_id=response.headers.get("x-request-id"), method=method,
                           path=path) from None

    def _list(self, path: str, params: dict[str, Any], *, cursor: str = "last_item", admin: bool = False,
              operation: str | None = None) -> Iterator[dict[str, Any]]:
        def fetch(after: str | None) -> Any:
            page_params = dict(params)
            if after is not None:
                page_params["after"] = after
            return self._request("GET", path, params=page_params, admin=admin, operation=operation)

        return paginate(fetch, cursor="last_id" if cursor == "last_id" else "last_item", what=path,
                        max_pages=self.max_pages, max_items=self.max_items)

    # -- files ------------------------------------------------------------------------------
    def upload_file(self, path: Path, *, purpose: str = "fine-tune", filename: str | None = None,
                    idempotency_key: str | None = None) -> dict[str, Any]:
        """Upload (streamed from disk, multipart). The file is reopened for every retry."""
        path = Path(path)
        name = filename or path.name
        if not path.is_file():
            raise ConfigError(f"{path}: no such file to upload")

        @contextlib.contextmanager
        def fields() -> Iterator[dict[str, Any]]:
            with open(path, "rb") as fh:
                yield {"file": (name, fh, "application/octet-stream")}

        size = path.stat().st_size
        result: dict[str, Any] = self._request(
            "POST", "/files", files=fields, data={"purpose": purpose},
            idempotency_key=idempotency_key or str(uuid.uuid4()), operation=f"upload {name}", creating=True,
            deadline=self.deadline + size / TRANSFER_RATE_FLOOR)
        return result

    def list_files(self, purpose: str | None = None, *, page_size: int = 10000) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {"limit": page_size}
        if purpose:
            params["purpose"] = purpose
        return self._list("/files", params, operation="list files")

    def get_file(self, file_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/files/{segment(file_id, 'file id')}")
        return result

    def delete_file(self, file_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("DELETE", f"/files/{segment(file_id, 'file id')}")
        return result

    def download_file(self, file_id: str, *, size: int | None = None) -> bytes:
        """The file's content, read up to its known size (`size`, else its `bytes` as the API
        reports it) plus a margin: a larger answer is refused, not held in memory."""
        if size is None:
            known = self.get_file(file_id).get("bytes")
            size = known if isinstance(known, int) and known >= 0 else self.max_body
        result: bytes = self._request("GET", f"/files/{segment(file_id, 'file id')}/content", raw=True,
                                      limit=size + DOWNLOAD_MARGIN,
                                      deadline=self.deadline + size / TRANSFER_RATE_FLOOR)
        return result

    def download_file_to(self, file_id: str, sink: BinaryIO, *, size: int | None = None) -> int:
        """Stream the file's content into `sink` (bounded like `download_file`, never held in
        memory); the number of bytes written."""
        if size is None:
            known = self.get_file(file_id).get("bytes")
            size = known if isinstance(known, int) and known >= 0 else self.max_body
        self._request("GET", f"/files/{segment(file_id, 'file id')}/content", raw=True, sink=sink,
                      limit=size + DOWNLOAD_MARGIN, deadline=self.deadline + size / TRANSFER_RATE_FLOOR)
        return sink.tell()

    # -- models -----------------------------------------------------------------------------
    def delete_model(self, model: str) -> dict[str, Any]:
        """Delete a fine-tuned model (`DELETE /models/{model}`): it stops serving for good."""
        result: dict[str, Any] = self._request("DELETE", f"/models/{segment(model, 'model')}",
                                               operation="delete a fine-tuned model")
        return result

    def list_models(self) -> list[dict[str, Any]]:
        """The models this key may use (GET /models: one page, not paginated), each with its
        optional `shutdown_date` (YYYY-MM-DD or null)."""
        result = self._request("GET", "/models", operation="list models")
        data = result.get("data") if isinstance(result, dict) else None
        return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)] \
            if isinstance(data, list) else []

    def get_model(self, model: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/models/{segment(model, 'model')}")
        return result

    # -- jobs -------------------------------------------------------------------------------
    def create_job(self, body: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/fine_tuning/jobs", json_body=body,
                                               idempotency_key=idempotency_key,
                                               operation="create a fine-tuning job", creating=True)
        return result

    def list_jobs(self, *, metadata: dict[str, str] | None = None,
                  page_size: int = 100) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {"limit": page_size}
        for key, value in (metadata or {}).items():
            params[f"metadata[{key}]"] = value
        return self._list("/fine_tuning/jobs", params, operation="list fine-tuning jobs")

    def _job_path(self, job_id: str, suffix: str = "") -> str:
        return f"/fine_tuning/jobs/{segment(job_id, 'job id')}{suffix}"

    def get_job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", self._job_path(job_id))
        return result

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", self._job_path(job_id, "/cancel"))
        return result

    def pause_job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", self._job_path(job_id, "/pause"))
        return result

    def resume_job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", self._job_path(job_id, "/resume"))
        return result

    def list_events(self, job_id: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        return self._list(self._job_path(job_id, "/events"), {"limit": page_size})

    def list_checkpoints(self, job_id: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        return self._list(self._job_path(job_id, "/checkpoints"), {"limit": page_size})

    # -- checkpoint permissions (admin key) ---------------------------------------------------
    def _perm_path(self, checkpoint: str, permission_id: str | None = None) -> str:
        path = f"/fine_tuning/checkpoints/{segment(checkpoint, 'checkpoint')}/permissions"
        if permission_id is not None:
            path += f"/{segment(permission_id, 'permission id')}"
        return path

    def list_permissions(self, checkpoint: str, *, project_id: str | None = None, order: str | None = None,
                         page_size: int = 100) -> Iterator[dict[str, Any]]:
        operation = f"list permissions of {checkpoint}"
        self._auth(True, operation)  # fail at call time, not at first iteration
        params: dict[str, Any] = {"limit": page_size}
        if project_id:
            params["project_id"] = project_id
        if order:
            params["order"] = order
        return self._list(self._perm_path(checkpoint), params, cursor="last_id", admin=True,
                          operation=operation)

    def create_permissions(self, checkpoint: str, project_ids: list[str], *,
                           idempotency_key: str | None = None) -> list[dict[str, Any]]:
        page = self._request("POST", self._perm_path(checkpoint), json_body={"project_ids": list(project_ids)},
                             admin=True, operation=f"grant access to {checkpoint}",
                             idempotency_key=idempotency_key or str(uuid.uuid4()))
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, list):
            raise ApiError("unexpected answer to creating permissions: no data list", method="POST",
                           path=self._perm_path(checkpoint))
        return data

    def delete_permission(self, checkpoint: str, permission_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("DELETE", self._perm_path(checkpoint, permission_id),
                                               admin=True, operation=f"revoke access to {checkpoint}")
        return result

    # -- chat completions -----------------------------------------------------------------------
    def chat_completion(self, body: dict[str, Any], deployment: str | None = None) -> dict[str, Any]:
        """One chat completion. Paid: never re-sent once it may have reached the API (a dropped
        answer raises AmbiguousCreateError rather than paying for the prompt twice). On Azure a
        model answers only through a deployment: `deployment` (default: the body's `model` names
        one), api/azure.py `chat_call`."""
        path, operation = "/chat/completions", f"ask {body.get('model')}"
        if self.azure is not None:
            path, body = self.azure.chat_call(deployment or str(body.get("model") or ""), body)
            operation = f"ask deployment {deployment or body.get('model')}"
        elif deployment is not None:
            raise ConfigError(f"deployment {deployment}: deployments exist only on Azure; this provider is OpenAI's")
        result: dict[str, Any] = self._request("POST", path, json_body=body, operation=operation, creating=True)
        return result

    # -- graders ------------------------------------------------------------------------------
    def validate_grader(self, grader: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/fine_tuning/alpha/graders/validate",
                                               json_body={"grader": grader}, operation="validate a grader")
        return result

    def run_grader(self, grader: dict[str, Any], item: dict[str, Any], model_sample: str) -> dict[str, Any]:
        """One grading (`graders/run`). A model grader is paid: never re-sent once it may have run."""
        result: dict[str, Any] = self._request("POST", "/fine_tuning/alpha/graders/run",
                                               json_body={"grader": grader, "item": item,
                                                          "model_sample": model_sample},
                                               operation="run a grader", creating=True)
        return result

