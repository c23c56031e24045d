"""Connections served by a bounded pool of threads, and refused past a cap.

Each admitted connection is served by one of at most `max_connections` worker threads (started
as needed, reused after). A connection that arrives while `max_connections` are open is answered
at once by the accepting thread: 503 in the OpenAI error shape with `Retry-After` and
`Connection: close`, then its writing side is shut; one refusing thread reads and drops what the
client still sends (so the client reads the answer rather than a reset) for at most `REFUSE_WAIT`
seconds, then closes it. Past `LINGER_MAX` such connections, one is closed at once. So 1,100 slow
clients cost `max_connections` + 1 threads, not 1,100, and a new client is answered at once."""

from __future__ import annotations

import json
import logging
import queue
import secrets
import selectors
import socket
import threading
import time
from collections.abc import Callable
from http.server import HTTPServer
from typing import Any

from reconciler_sandbox.errors import ApiError

log = logging.getLogger(__name__)
REFUSE_WAIT = 2.0     # seconds a refused client's remaining bytes are read and dropped
LINGER_MAX = 1024     # refused connections read at once; past it, closed unanswered
OVERLOADED = "The server is overloaded or not ready yet."


def refusal() -> bytes:
    """The 503 a connection past the cap gets."""
    body = json.dumps(ApiError(503, OVERLOADED, type="server_error").body()).encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            + f"x-request-id: req_{secrets.token_hex(16)}\r\nContent-Length: {len(body)}\r\n".encode()
            + b"Connection: close\r\n\r\n" + body)


class Refuser:
    """Answers connections past the cap (module docstring) from one thread."""

    def __init__(self) -> None:
        self._inbox: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
        self._selector = selectors.DefaultSelector()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self.lingering = 0
        self._thread: threading.Thread | None = None

    def refuse(self, sock: socket.socket) -> None:
        try:
            sock.setblocking(False)
            sock.send(refusal())   # a few hundred bytes into an empty send buffer: never blocks
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        with self._lock:
            full = self.lingering >= LINGER_MAX or self._closed.is_set()
            if not full:
                self.lingering += 1
        if full:
            sock.close()
            return
        self._inbox.put(sock)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sandbox-refuse", daemon=True)
            self._thread.start()

    def _drop(self, sock: Any) -> None:
        self._selector.unregister(sock)
        sock.close()
        with self._lock:
            self.lingering -= 1

    def _run(self) -> None:
        while not self._closed.is_set():
            while True:
                try:
                    sock = self._inbox.get_nowait()
                except queue.Empty:
                    break
                self._selector.register(sock, selectors.EVENT_READ, time.monotonic() + REFUSE_WAIT)
            for key, _ in self._selector.select(timeout=0.1) if self._selector.get_map() else ():
                try:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._drop(key.fileobj)
            if not self._selector.get_map():
                self._closed.wait(0.05)
            now = time.monotonic()
            for key in list(self._selector.get_map().values()):
                if key.data < now:
                    self._drop(key.fileobj)
        for key in list(self._selector.get_map().values()):   # the server stopped
            self._drop(key.fileobj)

    def close(self) -> None:
        self._closed.set()


class Slots:
    """A count of things in progress, at most `size` (uploads): `take()` without waiting."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.in_use = 0
        self._state = threading.Condition()

    def take(self) -> bool:
        with self._state:
            if self.in_use >= self.size:
                return False
            self.in_use += 1
            self._state.notify_all()
            return True

    def give_back(self) -> None:
        with self._state:
            self.in_use -= 1
            self._state.notify_all()

    def wait_for(self, predicate: Callable[[int], bool], timeout: float) -> bool:
        """Wait until `predicate(in use)` holds (tests, benchmarks)."""
        with self._state:
            return self._state.wait_for(lambda: predicate(self.in_use), timeout)


class Pool:
    """At most `size` daemon threads, started as needed, each running one task after another."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._tasks: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    @property
    def threads(self) -> int:
        return self._threads

    def submit(self, task: Callable[..., None], *args: Any) -> None:
        with self._lock:
            spawn = self._idle == 0 and self._threads < self.size
            if spawn:
                self._threads += 1
            elif self._idle:
                self._idle -= 1
        self._tasks.put((task, args))
        if spawn:
            threading.Thread(target=self._run, name=f"{self.name}-{self._threads}", daemon=True).start()

    def _run(self) -> None:
        while True:
            item = self._tasks.get()
            if item is None:
                return
            task, args = item
            try:
                task(*args)
            except Exception:  # a task reports its own errors; the thread keeps serving
                log.exception("sandbox %s task failed", self.name)
            with self._lock:
                self._idle += 1

    def close(self) -> None:
        with self._lock:
            threads = self._threads
        for _ in range(threads):
            self._tasks.put(None)


class BoundedHTTPServer(HTTPServer):
    """An HTTPServer whose connections are served by a `Pool` and capped (module docstring)."""

    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: Any, *, max_connections: int) -> None:
        super().__init__(address, handler)
        self.max_connections = max_connections
        self.workers = Pool(max_connections, f"sandbox-conn-{self.server_address[1]}")
        self.refuser = Refuser()
        self._state = threading.Condition()
        self.open_connections = 0
        self.refused = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._state:
            admitted = self.open_connections < self.max_connections
            if admitted:
                self.open_connections += 1
            else:
                self.refused += 1
            self._state.notify_all()
        if admitted:
            self.workers.submit(self._serve, request, client_address)
        else:
            self.refuser.refuse(request)

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._state:
                self.open_connections -= 1
                self._state.notify_all()

    def wait_for(self, predicate: Callable[[int, int], bool], timeout: float) -> bool:
        """Wait until `predicate(open connections, refused so far)` holds (tests, benchmarks)."""
        with self._state:
            return self._state.wait_for(lambda: predicate(self.open_connections, self.refused), timeout)

    def server_close(self) -> None:
        super().server_close()
        self.workers.close()
        self.refuser.close()
