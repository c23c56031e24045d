"""HTTP/1.1 for the API client over the standard library's `http.client`, under httpx's API.

Why: a refresh is about a thousand small GETs, and against a fast server (the sandbox, a nearby
proxy) reading them is the work. httpx's own transport (httpcore + h11) spent about 1.0 ms of CPU
per request here, `http.client` about 0.3 ms (1,000 permission lists, one thread, bench note in
BENCHMARKS.md); httpx's client, request and response objects stay, so everything above the wire
— retries, limits, error mapping, gzip decoding, proxies from the environment (httpx mounts its own
transports for those) — is unchanged.

What the transport keeps from httpcore, and tests hold it to (tests/api/test_wire.py and the
hostile-server suites, over real sockets):
- every connect, write and read waits at most what is left of the attempt's deadline
  (`deadline_left`), so a trickling server cannot hold an attempt past it;
- failures are httpx's exceptions: ConnectError/ConnectTimeout before anything was sent,
  WriteError/WriteTimeout, ReadError/ReadTimeout, RemoteProtocolError for a broken answer (the
  retry and "did the create happen" rules in retry.py read these);
- keep-alive: a connection goes back to the pool only after its answer was read to the end and the
  server did not ask to close it; one that became readable while idle (closed by the server) is
  dropped, never reused for a request;
- TLS with the context httpx would build (same verification, same CA bundle).
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx

__all__ = ["WireTransport"]

CHUNK = 65536


class _DeadlineIO(io.RawIOBase):
    """A socket's reads, each bounded by the attempt's deadline as well as the read timeout.

    Built on the socket's own `makefile` reader so the socket is reference-counted as
    `http.client` expects: the connection may "close" once the answer says it will (HTTP/1.0,
    `Connection: close`) while the body is still being read; the descriptor closes with the last
    reader."""

    def __init__(self, sock: socket.socket, timeout: Callable[[], float | None]):
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)
        self._timeout = timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(self._timeout())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _Reading:
    """What `http.client.HTTPResponse` takes for a socket: only `makefile` is called."""

    def __init__(self, sock: socket.socket, timeout: Callable[[], float | None]):
        self._file: Any = io.BufferedReader(_DeadlineIO(sock, timeout), CHUNK)

    def makefile(self, mode: str) -> Any:
        return self._file


class _Connection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, connect: Callable[[], socket.socket]):
        super().__init__(host, port)
        self._connect = connect
        self.read_timeout: Callable[[], float | None] = lambda: None  # set for each request

    def connect(self) -> None:
        self.sock = self._connect()

    def response_class(self, sock: Any, *args: Any, **kwargs: Any) -> http.client.HTTPResponse:  # type: ignore[override]
        return http.client.HTTPResponse(_Reading(sock, self.read_timeout), *args, **kwargs)  # type: ignore[arg-type]

    def idle_and_open(self) -> bool:
        """Still connected and silent: a server that closed a kept-alive connection (or sent
        anything unasked) makes it readable."""
        if self.sock is None:
            return False
        try:
            if hasattr(select, "poll"):  # any descriptor number (select() stops at 1024)
                poller = select.poll()
                poller.register(self.sock, select.POLLIN)
                return not poller.poll(0)
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable


class _Body(httpx.SyncByteStream):
    def __init__(self, response: http.client.HTTPResponse, release: Callable[[bool], None]):
        self._response = response
        self._release = release
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            while True:
                chunk = self._response.read1(CHUNK)
                if not chunk:
                    break
                yield chunk
            if self._response.length:  # the socket ended before the declared Content-Length
                raise http.client.IncompleteRead(b"", self._response.length)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out reading the answer") from None
        except http.client.IncompleteRead as exc:
            missing = f"{exc.expected} bytes missing" if exc.expected is not None else "chunked body cut short"
            raise httpx.RemoteProtocolError(f"peer closed connection without sending complete message body "
                                            f"({missing})") from None
        except (http.client.HTTPException, ValueError) as exc:
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from None
        self._done = True

    def close(self) -> None:
        reusable = self._done and not self._response.will_close
        self._response.close()
        self._release(reusable)


class WireTransport(httpx.BaseTransport):
    """One pool of kept-alive `http.client` connections per (scheme, host, port)."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None, max_keepalive: int = 32,
                 deadline_left: Callable[[float | None], float | None] = lambda t: t):
        self._ssl = ssl_context
        self._max_keepalive = max_keepalive
        self._left = deadline_left
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _checkout(self, key: tuple[str, str, int]) -> _Connection | None:
        """A pooled connection still open (checked outside the lock: one poll per reuse)."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                connection = idle.pop()
            if connection.idle_and_open():
                return connection
            connection.close()

    def _checkin(self, key: tuple[str, str, int], connection: _Connection, reusable: bool) -> None:
        if reusable and not self._closed:
            with self._lock:
                idle = self._idle.setdefault(key, [])
                if len(idle) < self._max_keepalive:
                    idle.append(connection)
                    return
        connection.close()

    def _opener(self, scheme: str, host: str, port: int, timeouts: dict[str, Any]) -> Callable[[], socket.socket]:
        def connect() -> socket.socket:
            if scheme == "https" and self._ssl is None:
                raise httpx.ConnectError("https is not enabled for this client (its base URL is plain http)")
            try:
                sock = socket.create_connection((host, port), timeout=self._left(timeouts.get("connect")))
            except TimeoutError as exc:
                raise httpx.ConnectTimeout(str(exc) or "timed out connecting") from None
            except OSError as exc:
                raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme != "https" or self._ssl is None:
                return sock
            try:
                sock.settimeout(self._left(timeouts.get("connect")))
                return self._ssl.wrap_socket(sock, server_hostname=host)
            except TimeoutError as exc:
                sock.close()
                raise httpx.ConnectTimeout(str(exc) or "timed out in the TLS handshake") from None
            except OSError as exc:
                sock.close()
                raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
        return connect

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        host = url.host
        port = url.port or (443 if scheme == "https" else 80)
        key = (scheme, host, port)
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        connection = self._checkout(key)
        if connection is None:
            connection = _Connection(host, port, self._opener(scheme, host, port, timeouts))
            connection.connect()
        read_timeout = timeouts.get("read")
        connection.read_timeout = lambda: self._left(read_timeout)
        target = url.raw_path.decode("ascii")
        try:
            connection.sock.settimeout(self._left(timeouts.get("write")))
            connection.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in request.headers.raw:
                connection.putheader(name, value)
            body = request.stream
            if isinstance(body, httpx.ByteStream):
                connection.endheaders(b"".join(body) or None)
            else:  # streamed (a multipart upload): sized by Content-Length, or chunked as httpx said
                connection.endheaders()
                chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
                for chunk in body:  # type: ignore[union-attr]
                    if chunked and chunk:
                        connection.send(b"%X\r\n%s\r\n" % (len(chunk), chunk))
                    elif chunk:
                        connection.send(chunk)
                if chunked:
                    connection.send(b"0\r\n\r\n")
        except TimeoutError as exc:
            connection.close()
            raise httpx.WriteTimeout(str(exc) or "timed out sending the request") from None
        except (ValueError, http.client.HTTPException):
            # a header http.client refuses (a line break in a key or an id): its message quotes the
            # value, which may be the key, so it is not repeated
            connection.close()
            raise httpx.LocalProtocolError("a request header is not valid HTTP (a line break or control "
                                           "character in a key, an id or a header value?)") from None
        except OSError as exc:
            connection.close()
            raise httpx.WriteError(str(exc) or type(exc).__name__) from None
        try:
            response = connection.getresponse()
        except TimeoutError as exc:
            connection.close()
            raise httpx.ReadTimeout(str(exc) or "timed out waiting for the answer") from None
        except http.client.RemoteDisconnected:
            connection.close()
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.") from None
        except (http.client.HTTPException, ValueError) as exc:
            connection.close()
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from None
        except OSError as exc:
            connection.close()
            raise httpx.ReadError(str(exc) or type(exc).__name__) from None

        def release(reusable: bool) -> None:
            self._checkin(key, connection, reusable)

        # http.client decodes header bytes as ISO-8859-1: encoding them back gives httpx the bytes
        # the server sent (str values would have to be ASCII)
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.getheaders()]
        return httpx.Response(response.status, headers=headers,
                              stream=_Body(response, release),
                              extensions={"http_version": b"HTTP/1.0" if response.version == 10 else b"HTTP/1.1",
                                          "reason_phrase": response.reason.encode("ascii", "replace")})

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()
