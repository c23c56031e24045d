"""httpx's own transport, with every socket operation bounded by the attempt's deadline.

httpx's timeouts are per operation: a server that sends one byte of its headers every 20 s never
trips a 30 s read timeout, and an attempt could last for ever. The attempt's end (a monotonic time)
travels with the request, inside the timeout values httpx hands down to httpcore (`Until`: a float
that also knows when the attempt ends); the network backend (httpcore's documented
`NetworkBackend` interface) makes each connect, TLS handshake, read and write wait at most what is
left of it. The body loop in api/client.py checks the same deadline between chunks.

Everything else is httpx's and httpcore's: pooling and keep-alive, HTTP/1.1 parsing, TLS, the
exception classes that retry.py reads. The one reach inside httpx is where the pool is made
(`HTTPTransport._pool`, the attribute its `handle_request` sends through): httpx has no argument for
a network backend. A test over real sockets (a trickling server, tests/reliability) fails should
that stop holding.
"""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpcore
import httpx

__all__ = ["Until", "deadline_transport", "with_deadline"]


class Until(float):
    """A timeout (seconds, as httpx gives it) that also carries the attempt's end (`ends_at`,
    `time.monotonic()` seconds)."""

    ends_at: float

    def __new__(cls, seconds: float, ends_at: float) -> Until:
        value = super().__new__(cls, seconds)
        value.ends_at = ends_at
        return value


def with_deadline(request: httpx.Request, ends_at: float) -> None:
    """Make each of the request's timeouts (connect, read, write, pool) carry `ends_at`; a timeout
    that is None (wait for ever) becomes the time left."""
    timeouts = request.extensions.get("timeout", {})
    left = max(ends_at - time.monotonic(), 0.001)
    request.extensions["timeout"] = {name: Until(left if seconds is None else seconds, ends_at)
                                     for name, seconds in timeouts.items()}


def _left(timeout: float | None) -> float | None:
    """The time an operation may wait: its own timeout, cut at what is left of the attempt."""
    ends_at: float | None = getattr(timeout, "ends_at", None)
    if ends_at is None:
        return timeout
    left = max(ends_at - time.monotonic(), 0.001)
    return left if timeout is None else min(float(timeout), left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _left(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend):
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(host, port, timeout=_left(timeout), local_address=local_address,
                                               socket_options=socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, timeout=_left(timeout), socket_options=socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(ssl_context: ssl.SSLContext, limits: httpx.Limits) -> httpx.HTTPTransport:
    """httpx's HTTP/1.1 transport over a pool whose sockets honour `Until` deadlines."""
    transport = httpx.HTTPTransport.__new__(httpx.HTTPTransport)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context, max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
        network_backend=_Backend(httpcore.SyncBackend()))
    return transport
