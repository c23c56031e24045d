"""The HTTP side: a stdlib HTTPServer speaking HTTP/1.1 with keep-alive, its connections served by
a bounded thread pool and capped (connections.py), uploads streamed to disk and capped, the control
endpoints under `/_sandbox`, authentication, fault injection and request statistics."""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

from reconciler_sandbox import arm, azure, persist, routes
from reconciler_sandbox.body import PIECE, BodyReader, BodyTooLarge
from reconciler_sandbox.clock import SimClock
from reconciler_sandbox.connections import BoundedHTTPServer, Slots
from reconciler_sandbox.errors import ApiError
from reconciler_sandbox.faults import Decision, FaultConfig, FaultInjector
from reconciler_sandbox.history import add_history
from reconciler_sandbox.projects import ProjectKeys
from reconciler_sandbox.world import DEFAULT_PROJECT, ORGANIZATION_ID, World

log = logging.getLogger(__name__)
UNAUTHORISED_DRAIN = 64 * 1024  # the most of a body read from a client without a valid key
DRAIN_LIMIT = 16 * 1024 * 1024  # an over-limit body up to this size is read and dropped (keeps keep-alive)
MAX_CONNECTIONS = 256  # connections served at once (one pooled thread each); more are answered 503
MAX_UPLOADS = 16       # uploads streaming at once; more are answered 429 with Retry-After


_AZURE_ROUTES = routes.COMPILED + routes.compile_routes(azure.EXTRA_ROUTES)


class Sandbox:
    """World + clock + faults + stats + optional persistence, served over HTTP."""

    def __init__(self, *, data: Path | None = None, speed: float = 1.0, faults: dict[str, Any] | None = None,
                 host: str = "127.0.0.1", port: int = 0, seed: int = 0, flush_interval: float = 0.2,
                 organization: str = ORGANIZATION_ID, project: str = DEFAULT_PROJECT,
                 project_keys: Mapping[str, str] | None = None, max_connections: int = MAX_CONNECTIONS,
                 max_uploads: int = MAX_UPLOADS, now: float | None = None, flavor: str = "openai",
                 azure_key: str | None = None, azure_metadata: bool = True) -> None:
        # "azure": answer as Azure OpenAI's data plane (azure.py); its one valid api-key is
        # `azure_key` when given (sandbox serve passes AZURE_OPENAI_API_KEY), else any non-empty key.
        if flavor not in azure.FLAVORS:
            raise ValueError(f"unknown flavor {flavor!r}: one of {', '.join(azure.FLAVORS)}")
        self.flavor = flavor
        self.azure_key = azure_key or None
        # The account every answer names (openai-organization / openai-project headers); a test
        # chooses another to show a state refused against the wrong account.
        self.organization = organization
        self.project = project
        self.projects = ProjectKeys(project_keys)  # key -> project: scoped as the real API (projects.py)
        self.data = Path(data) if data is not None else None
        saved = persist.load(self.data) if self.data is not None else None
        # The clock starts at `now` (a date to test against: `sandbox serve --now`) or the wall
        # clock, and never before a saved world's last time: the clock only moves forward.
        start = now if now is not None else time.time()
        start = max(saved["sim_now"], start) if saved else start
        self.clock = SimClock(start=start, speed=speed)
        blobs = persist.BlobStore(self.data.with_name(self.data.name + ".files") if self.data else None)
        self.world = World(clock=self.clock, blobs=blobs, seed=seed, flavor=flavor)
        self.world.keep_metadata = azure_metadata
        if saved:
            self.world.restore(saved)
        self.persister: persist.Persister | None = None
        if self.data is not None:
            self.persister = persist.Persister(self.data, self.world.snapshot, interval=flush_interval)
            self.world.on_change = self.persister.mark_dirty
            self.persister.mark_dirty()
        self.faults = FaultInjector(FaultConfig.from_dict(faults or {}))
        self._stats: dict[str, int] = {}
        self._stats_lock = threading.Lock()
        self.max_uploads = max_uploads
        self.uploads = Slots(max_uploads)
        self.httpd = _Server((host, port), _Handler, max_connections=max_connections)
        self.httpd.sandbox = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def count(self, key: str) -> None:
        with self._stats_lock:
            self._stats[key] = self._stats.get(key, 0) + 1

    def stats(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self._stats)

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._stats.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sandbox-http", daemon=True)
        self._thread.start()
        log.info("sandbox serving on %s", self.url)

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
        self.httpd.server_close()
        if self.persister is not None:
            self.persister.close()
        self.world.blobs.close()


class _Server(BoundedHTTPServer):
    sandbox: Sandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-request (killed, timed out) is normal for an API server:
        # log it quietly instead of printing a traceback to stderr.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            log.debug("client %s went away: %s", client_address, type(exc).__name__)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "reconciler-sandbox"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this long
    disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms delayed-ACK stalls
    server: _Server
    _upload: BodyReader | None = None   # the body of the upload being answered

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header tells the simulated time, as a real server tells its own: clients that
        # measure "running for how long" (cancel_after_timeout) then agree with the sandbox clock.
        if timestamp is None:
            timestamp = self.server.sandbox.clock.now()
        return super().date_time_string(timestamp)

    def do_GET(self) -> None:
        self._dispatch()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors the stdlib raises itself (bad request line, header overflow, unknown method) get
        the OpenAI error body too; an unsupported method is a 405, not the stdlib's 501."""
        if code == 501:
            code = 405
        self.request_id = getattr(self, "request_id", None) or "req_" + secrets.token_hex(16)
        if not hasattr(self, "command") or self.command is None:
            self.command = "GET"
        self.close_connection = True
        self.request_version = "HTTP/1.1"  # answer a garbled request line with a proper status line
        error = ApiError(code, message or "The request could not be understood.",
                         code="method_not_allowed" if code == 405 else None)
        try:
            self._send(code, json.dumps(error.body()).encode(), "application/json")
        except OSError:
            pass

    do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    # ---- plumbing --------------------------------------------------------------------------

    def _dispatch(self) -> None:
        self.request_id = "req_" + secrets.token_hex(16)
        self.key_project: str | None = None  # the project of this request's key (scoped sandbox)
        sandbox = self.server.sandbox
        split = urlsplit(self.path)
        path = split.path
        try:
            if path.startswith("/_sandbox"):
                body = self._read_body(routes.JSON_LIMIT)
                self._control(sandbox, path, body)
                return
            if sandbox.flavor == "azure" and path.startswith("/subscriptions/"):
                # Azure Resource Manager (arm.py); on OpenAI's flavour an unknown path like any other
                self._arm(sandbox, path, split.query)
                return
            query = parse_qs(split.query, keep_blank_values=True)
            if sandbox.flavor == "azure":
                try:
                    path = azure.route_path(path, query)
                except ApiError:
                    sandbox.count(f"{self.command} <unknown>")
                    self._unread_body()
                    raise
            template, handler, params, known = routes.match(
                self.command, path, _AZURE_ROUTES if sandbox.flavor == "azure" else None)
            if sandbox.flavor == "azure" and handler is not None and template in azure.ROUTES:
                handler = azure.ROUTES[template]
            sandbox.count(f"{self.command} {template or '<unknown>'}")
            decision = sandbox.faults.decide(path, self.command) if known else Decision()
            allowed, limit_headers = sandbox.faults.rate(path, self.command) if known else (True, {})
            req = routes.Request(method=self.command, path=path, params=params, query=query,
                                 headers={k.lower(): v for k, v in self.headers.items()}, body=b"")
            if known and handler is not None:
                # The key is in the headers: an unauthorised client is answered before a byte of
                # its body is read (a 600 MB upload without a key costs nothing but the headers).
                try:
                    self._authenticate(req)
                except ApiError:
                    self._unread_body()
                    raise
            if known and handler is not None and routes.streams_body(self.command, path):
                body, req.stream = b"", self._upload_slot(sandbox, routes.body_limit(self.command, path))
            else:
                body = self._read_body(routes.body_limit(self.command, path))
            if decision.delay_s:
                time.sleep(decision.delay_s)
            if not allowed:
                sandbox.count("429 rate limit")
                self._send_error(ApiError(429, "Rate limit reached for requests (rpm set on the sandbox). Please "
                                               f"try again in {limit_headers['retry-after-ms']}ms.",
                                          type="requests", code="rate_limit_exceeded", headers=limit_headers))
                return
            if decision.status is not None:
                self._injected(decision.status, sandbox)
                return
            if not known:
                raise ApiError(404, f"Invalid URL ({self.command} {path})")   # code null, as captured
            if handler is None:
                raise ApiError(405, f"Method {self.command} is not allowed on {path}.", code="method_not_allowed")
            req.body = body
            result = handler(sandbox.world, req)
            if isinstance(result, tuple):
                payload, ctype = result
            else:
                payload, ctype = json.dumps(result).encode(), "application/json"
            if decision.slow_s:
                time.sleep(decision.slow_s)
            self._finish_upload_body()
            self._send(200, payload, ctype, drop=decision.drop, extra=limit_headers or None)
        except ApiError as exc:
            self._send_error(exc)
        except BodyTooLarge as exc:
            self._send_error(ApiError(413, f"Request body too large: the limit is {exc.limit} bytes.",
                                      code="request_too_large"), close=exc.close)
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception:  # a bug in the sandbox: still answer with an error body
            log.exception("sandbox internal error on %s %s", self.command, path)
            self._send_error(ApiError(500, "The sandbox had an internal error processing your request.",
                                      type="server_error"))
        finally:
            self._end_upload()

    def _upload_slot(self, sandbox: Sandbox, limit: int) -> Any:
        """The upload's body as a stream, holding one of `max_uploads` slots until it is answered;
        without a free slot, 429 (the client's retry comes back later)."""
        if not sandbox.uploads.take():
            sandbox.count("429 uploads")
            self._unread_body()
            raise ApiError(429, f"Too many uploads in progress on the sandbox (at most {sandbox.max_uploads} at "
                                "once). Please try again in 1s.", type="requests", code="rate_limit_exceeded",
                           headers={"Retry-After": "1", "retry-after-ms": "1000"})
        try:
            self._upload = BodyReader.from_headers(self.rfile, self.headers, limit)
        except BaseException:
            sandbox.uploads.give_back()
            raise
        return self._upload.read

    def _finish_upload_body(self) -> None:
        """Before answering an upload: read what is left of its body (a chunked body's last, empty
        chunk comes after the multipart's closing boundary), so the connection stays usable; if
        that cannot be done within DRAIN_LIMIT, the answer says `Connection: close`, never a
        keep-alive the server then breaks."""
        upload = self._upload
        if upload is not None and not upload.done and not upload.discard(upload.total + DRAIN_LIMIT):
            self.close_connection = True

    def _end_upload(self) -> None:
        upload = self._upload
        if upload is None:
            return
        self._upload = None
        self.server.sandbox.uploads.give_back()
        if not upload.done:   # answered before the end of the body (an error): its rest is unread
            self.close_connection = True

    def _authenticate(self, req: routes.Request) -> None:
        sandbox = self.server.sandbox
        if sandbox.flavor == "azure":   # one resource: its key (or an Entra ID token) sees everything
            req.api_key = azure.authenticate(req.headers, sandbox.azure_key)
            return
        auth = self.headers.get("Authorization", "")
        scheme, _, key = auth.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise ApiError(401, "You didn't provide an API key. You need to provide your API key in an "
                                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        req.api_key = key
        req.project = self.headers.get("OpenAI-Project") or DEFAULT_PROJECT
        projects = self.server.sandbox.projects
        if projects.scoped and not req.is_admin:
            req.project = projects.project_for(key, self.headers.get("OpenAI-Project"))
            req.extra["scoped"] = True
            self.key_project = req.project
        elif not req.is_admin and self.headers.get("OpenAI-Project"):
            req.extra["listing_project"] = req.project   # a user key naming a project lists that project

    def _unread_body(self) -> None:
        """Answering without the body: a small declared one is read and dropped (the connection
        stays usable); otherwise the connection closes after the answer (its next bytes would be
        this body), so nothing more than the headers is ever read from an unauthorised client."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if 0 < length <= UNAUTHORISED_DRAIN:
            self.rfile.read(length)
        elif length != 0:
            self.close_connection = True

    def _read_body(self, limit: int) -> bytes:
        """A small body (JSON, control), read in pieces: a declared length is never reserved up
        front. Over `limit`: one up to DRAIN_LIMIT is read and dropped (the connection stays
        usable), a larger one is not read and the connection closes."""
        try:
            return BodyReader.from_headers(self.rfile, self.headers, limit).read_all()
        except ApiError:   # a garbled body: where the next request would start is unknown
            self.close_connection = True
            raise
        except BodyTooLarge:
            if self.headers.get("Transfer-Encoding"):
                raise
            drain = BodyReader.from_headers(self.rfile, self.headers, DRAIN_LIMIT + 1)
            if drain.length <= DRAIN_LIMIT and drain.discard(DRAIN_LIMIT):
                raise BodyTooLarge(limit, close=False) from None
            raise

    def _headers(self, status: int, length: int, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("x-request-id", self.request_id)
        sandbox = self.server.sandbox
        if sandbox.flavor == "azure":
            self.send_header("apim-request-id", self.request_id)
        else:
            self.send_header("openai-organization", sandbox.organization)
            asked = self.headers.get("OpenAI-Project") if getattr(self, "headers", None) is not None else None
            self.send_header("openai-project", getattr(self, "key_project", None) or asked or sandbox.project)
            self.send_header("openai-version", "2020-10-01")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, status: int, payload: bytes | BinaryIO, ctype: str, *, extra: dict[str, str] | None = None,
              drop: bool = False) -> None:
        if not isinstance(payload, bytes):
            self._send_file(status, payload, ctype, extra=extra, drop=drop)
            return
        if self.command == "HEAD":
            payload = b""
        if drop:
            # The nasty real case: the work is done, the answer never fully arrives.
            self.close_connection = True
            self._headers(status, len(payload), ctype, extra)
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._headers(status, len(payload), ctype, extra)
        self.wfile.write(payload)

    def _send_file(self, status: int, fh: BinaryIO, ctype: str, *, extra: dict[str, str] | None,
                   drop: bool) -> None:
        """A file's content from disk, a piece at a time (with `drop`: half of it, then the
        connection is cut, as `_send` does)."""
        with fh:
            size = os.fstat(fh.fileno()).st_size
            if drop:
                self.close_connection = True
            self._headers(status, size, ctype, extra)
            if self.command == "HEAD":
                return
            left = size // 2 if drop else size
            while left > 0:
                piece = fh.read(min(PIECE, left))
                if not piece:
                    raise ConnectionError("the file shrank while it was sent")
                self.wfile.write(piece)
                left -= len(piece)
            if drop:
                self.wfile.flush()
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _send_error(self, exc: ApiError, *, close: bool = False) -> None:
        upload = self._upload
        if close or (upload is not None and not upload.done):
            # an upload answered before its end: where the next request would start is unknown,
            # so the answer itself says the connection closes
            self.close_connection = True
        self._send(exc.status, json.dumps(exc.body()).encode(), "application/json", extra=exc.headers)

    def _injected(self, status: int, sandbox: Sandbox) -> None:
        if status == 429:
            retry = sandbox.faults.config.retry_after
            headers = {
                "Retry-After": str(max(0, round(retry))) if retry >= 1 else f"{retry:g}",
                "retry-after-ms": str(int(retry * 1000)),
                "x-ratelimit-limit-requests": "500",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": f"{retry:g}s",
                "x-ratelimit-limit-tokens": "200000",
                "x-ratelimit-remaining-tokens": "200000",
                "x-ratelimit-reset-tokens": "0s",
            }
            self._send_error(ApiError(429, "Rate limit reached for requests (injected by the sandbox). "
                                           f"Please try again in {retry:g}s.", type="requests",
                                      code="rate_limit_exceeded", headers=headers))
        elif status == 503:
            self._send_error(ApiError(503, "The server is overloaded or not ready yet (injected by the sandbox).",
                                      type="server_error"))
        else:
            self._send_error(ApiError(500, "The server had an error while processing your request (injected "
                                           "by the sandbox).", type="server_error"))

    def _arm(self, sandbox: Sandbox, path: str, query: str) -> None:
        """The Azure Resource Manager routes (arm.py): ARM's own error body, `x-ms-request-id`."""
        sandbox.count(f"{self.command} arm")
        body = self._read_body(routes.JSON_LIMIT)
        self.request_id = secrets.token_hex(16)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, payload, extra = arm.handle(sandbox.world, self.command, path, headers,
                                                parse_qs(query, keep_blank_values=True), body, sandbox.url)
        except arm.ArmError as exc:
            status, payload, extra = exc.status, exc.body(), {}
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", self.request_id)
        for key, value in extra.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # ---- control endpoints -----------------------------------------------------------------

    def _control(self, sandbox: Sandbox, path: str, body: bytes) -> None:
        path = path.rstrip("/")
        data: Any = {}
        if body.strip():
            try:
                data = json.loads(body)
            except ValueError:
                raise ApiError(400, "We could not parse the JSON body of your request.", code="invalid_json") from None
        if not isinstance(data, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        method = self.command
        if path == "/_sandbox/advance" and method == "POST":
            seconds = data.get("seconds")
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
                raise ApiError(400, "'seconds' must be a non-negative number.", param="seconds")
            result: dict[str, Any] = {"now": sandbox.clock.advance(float(seconds))}
        elif path == "/_sandbox/faults" and method == "POST":
            try:
                config = FaultConfig.from_dict(data)
            except (ValueError, TypeError) as exc:
                raise ApiError(400, str(exc)) from None
            sandbox.faults.set(config)
            result = config.to_dict()
        elif path == "/_sandbox/faults" and method == "DELETE":
            sandbox.faults.set(FaultConfig())
            result = FaultConfig().to_dict()
        elif path == "/_sandbox/faults" and method == "GET":
            result = sandbox.faults.config.to_dict()
        elif path == "/_sandbox/stats" and method == "GET":
            result = sandbox.stats()
        elif path == "/_sandbox/stats/reset" and method == "POST":
            sandbox.reset_stats()
            result = {}
        elif path == "/_sandbox/clock" and method == "GET":
            result = {"now": sandbox.clock.now(), "speed": sandbox.clock.speed}
        elif path == "/_sandbox/history" and method == "POST":
            try:
                result = add_history(sandbox.world, data.get("jobs", 0))
            except ValueError as exc:
                raise ApiError(400, str(exc), param="jobs") from None
        elif path in ("/_sandbox/advance", "/_sandbox/faults", "/_sandbox/stats", "/_sandbox/stats/reset",
                      "/_sandbox/clock", "/_sandbox/history"):
            raise ApiError(405, f"Method {method} is not allowed on {path}.", code="method_not_allowed")
        else:
            raise ApiError(404, f"Invalid URL ({method} {path})", code="unknown_url")
        self._send(200, json.dumps(result).encode(), "application/json")
