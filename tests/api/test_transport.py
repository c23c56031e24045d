"""The API client's transport (httpx's own, over a pool whose sockets honour the attempt's
deadline: reconciler/api/transport.py), over real sockets: byte-level servers below send exactly
what each case needs (split packets, early closes, trickles, chunked bodies, TLS) and count
connections and requests.

The rest of the suite runs every API call through this transport too (the sandbox e2e tests, the
hostile-server and hostile-text suites, the `openai` SDK comparisons)."""

from __future__ import annotations

import gzip
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.api.client import ApiClient
from reconciler.api.transport import deadline_transport, with_deadline

Handler = Callable[[socket.socket, bytes, "RawServer"], bool]  # returns: keep the connection open


class RawServer:
    """Accepts connections, reads one request head (and a body by Content-Length or chunks) at a
    time and lets `handler` write whatever bytes it likes. Counts connections and requests."""

    def __init__(self, handler: Handler, *, tls: ssl.SSLContext | None = None):
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.bodies: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._tls = tls
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if self._tls is not None:
                try:
                    conn = self._tls.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    conn.close()
                    continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                body, buffer = self._body(conn, head, buffer)
                self.requests.append(head)
                self.bodies.append(body)
                if not self.handler(conn, head, self):
                    return
        except OSError:
            return
        finally:
            conn.close()

    @staticmethod
    def _body(conn: socket.socket, head: bytes, buffer: bytes) -> tuple[bytes, bytes]:
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            body = b""
            while True:
                while b"\r\n" not in buffer:
                    buffer += conn.recv(65536)
                size_line, buffer = buffer.split(b"\r\n", 1)
                size = int(size_line, 16)
                while len(buffer) < size + 2:
                    buffer += conn.recv(65536)
                body, buffer = body + buffer[:size], buffer[size + 2:]
                if size == 0:
                    return body, buffer
        for line in lower.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                size = int(line.split(b":")[1])
                while len(buffer) < size:
                    buffer += conn.recv(65536)
                return buffer[:size], buffer[size:]
        return b"", buffer

    def close(self) -> None:
        self._stop = True
        self._listener.close()


def answer(body: bytes = b'{"ok": true}', *, status: str = "200 OK", version: str = "HTTP/1.1",
           extra: str = "") -> bytes:
    return (f"{version} {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            .encode() + body)


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler, **kwargs: Any) -> RawServer:
        servers.append(RawServer(handler, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def client(**kwargs: Any) -> httpx.Client:
    context = kwargs.pop("ssl_context", None) or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return httpx.Client(transport=deadline_transport(context, httpx.Limits()),
                        timeout=kwargs.pop("timeout", 5.0), **kwargs)


def test_keep_alive_one_connection_for_many_requests(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda conn, head, s: conn.sendall(answer()) or True)
    with client() as http:
        for _ in range(20):
            assert http.get(server.url + "/v1/files").json() == {"ok": True}
    assert (server.connections, len(server.requests)) == (1, 20)


def test_a_closing_answer_is_read_whole_even_when_its_body_comes_later(serve: Callable[..., RawServer]) -> None:
    """HTTP/1.0 (or `Connection: close`) hands the socket to the answer; the body arriving in a
    later packet must still be read (a descriptor closed too early read as a ReadError)."""
    body = b'{"data": "' + b"x" * 5000 + b'"}'

    def slow_body(conn: socket.socket, head: bytes, s: RawServer) -> bool:
        whole = answer(body, version="HTTP/1.0")
        conn.sendall(whole[: whole.index(b"\r\n\r\n") + 4])
        time.sleep(0.05)
        conn.sendall(whole[whole.index(b"\r\n\r\n") + 4:])
        return False

    server = serve(slow_body)
    with client() as http:
        for _ in range(3):
            response = http.get(server.url + "/v1/x")
            assert response.http_version == "HTTP/1.0"
            assert response.json() == {"data": "x" * 5000}
    assert (server.connections, len(server.requests)) == (3, 3)


def test_a_connection_the_server_closed_while_idle_is_not_reused(serve: Callable[..., RawServer]) -> None:
    """The answer did not say it would close, but the server closes the idle connection (a
    keep-alive timeout): the next request opens a new one instead of failing, and nothing is
    sent twice."""
    def close_after_answer(conn: socket.socket, head: bytes, s: RawServer) -> bool:
        conn.sendall(answer(b'{"object": "list", "data": [], "has_more": false}'))
        return False

    server = serve(close_after_answer)
    api = ApiClient(server.url + "/v1", "sk-proj-test", max_retries=0)
    for _ in range(3):
        list(api.list_files())
        time.sleep(0.05)  # the server's FIN arrives while the connection sits in the pool
    assert (server.connections, len(server.requests), api.stats.retries) == (3, 3, 0)


def test_a_body_cut_short_is_a_protocol_error(serve: Callable[..., RawServer]) -> None:
    def short(conn: socket.socket, head: bytes, s: RawServer) -> bool:
        conn.sendall(answer(b'{"data": [1, 2, 3]}' + b" " * 100)[:-80])
        return False

    server = serve(short)
    with client() as http, pytest.raises(httpx.RemoteProtocolError, match=r"complete message body"):
        http.get(server.url + "/v1/x").read()


@pytest.mark.parametrize("garbage", [b"NOT HTTP AT ALL\r\n\r\n", b"HTTP/1.1 abc\r\n\r\n", b""])
def test_a_broken_or_missing_status_line_is_a_protocol_error(serve: Callable[..., RawServer], garbage: bytes) -> None:
    def broken(conn: socket.socket, head: bytes, s: RawServer) -> bool:
        conn.sendall(garbage)
        return False

    server = serve(broken)
    with client() as http, pytest.raises(httpx.RemoteProtocolError):
        http.get(server.url + "/v1/x")


def test_chunked_and_gzipped_answers_are_decoded(serve: Callable[..., RawServer]) -> None:
    payload = b'{"object": "list", "data": [' + b",".join(b'{"id": "%d"}' % i for i in range(2000)) + b"]}"
    packed = gzip.compress(payload)

    def chunked(conn: socket.socket, head: bytes, s: RawServer) -> bool:
        assert b"accept-encoding: gzip" in head.lower()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        for start in range(0, len(packed), 700):
            piece = packed[start:start + 700]
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.sendall(b"0\r\n\r\n")
        return True

    server = serve(chunked)
    with client() as http:
        for _ in range(2):
            assert len(http.get(server.url + "/v1/x").json()["data"]) == 2000
    assert server.connections == 1


def test_request_bodies_sized_and_streamed(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda conn, head, s: conn.sendall(answer()) or True)
    with client() as http:
        http.post(server.url + "/v1/a", json={"k": "v" * 3000})
        http.post(server.url + "/v1/b", content=iter([b"abc", b"", b"d" * 70000]))  # no length: chunked
        http.post(server.url + "/v1/c", files={"file": ("t.jsonl", b'{"a": 1}\n' * 1000)})
    assert server.bodies[0] == b'{"k":"' + b"v" * 3000 + b'"}'
    assert b"transfer-encoding: chunked" in server.requests[1].lower()
    assert server.bodies[1] == b"abc" + b"d" * 70000
    assert server.bodies[2].count(b'{"a": 1}\n') == 1000 and b"content-length" in server.requests[2].lower()
    assert server.connections == 1


def test_an_answer_left_unread_does_not_go_back_to_the_pool(serve: Callable[..., RawServer]) -> None:
    big = b'{"data": "' + b"y" * 200_000 + b'"}'
    server = serve(lambda conn, head, s: conn.sendall(answer(big)) or True)
    with client() as http:
        with http.stream("GET", server.url + "/v1/big") as response:
            next(response.iter_bytes())  # a body over the client's size cap is abandoned like this
        assert http.get(server.url + "/v1/big").json()["data"] == "y" * 200_000
    assert server.connections == 2


@pytest.mark.parametrize("where", ["head", "body"])
def test_a_trickle_ends_at_the_attempt_deadline(serve: Callable[..., RawServer], where: str) -> None:
    """Each byte comes well within the read timeout; only the attempt's deadline stops it."""
    def trickle(conn: socket.socket, head: bytes, s: RawServer) -> bool:
        whole = answer(b'{"data": "' + b"z" * 200 + b'"}')
        cut = 0 if where == "head" else whole.index(b"\r\n\r\n") + 4
        conn.sendall(whole[:cut])
        for byte in whole[cut:]:
            conn.sendall(bytes([byte]))
            time.sleep(0.05)
        return False

    server = serve(trickle)
    with client(timeout=5.0) as http:
        started = time.monotonic()
        request = http.build_request("GET", server.url + "/v1/x")
        with_deadline(request, started + 0.6)
        with pytest.raises(httpx.ReadTimeout):
            http.send(request).read()
        assert time.monotonic() - started < 2.0


def test_nothing_listening_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with client() as http, pytest.raises(httpx.ConnectError):
        http.get(f"http://127.0.0.1:{port}/v1/x")


def test_many_threads_share_the_pool(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda conn, head, s: conn.sendall(answer(head.split(b" ")[1])) or True)
    errors: list[BaseException] = []
    with client() as http:
        def work(n: int) -> None:
            try:
                for i in range(40):
                    path = f"/v1/{n}/{i}"
                    assert http.get(server.url + path).content == path.encode()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(server.requests) == 320 and server.connections <= 8


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return key, cert


def test_tls_is_verified(serve: Callable[..., RawServer], certificate: tuple[Path, Path]) -> None:
    key, cert = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = serve(lambda conn, head, s: conn.sendall(answer()) or True, tls=context)
    # httpx's default context (certifi's bundle) does not trust a self-signed certificate
    with client(ssl_context=httpx.create_ssl_context()) as http, \
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.get(server.url + "/v1/x")
    with client(ssl_context=ssl.create_default_context(cafile=str(cert))) as http:
        for _ in range(3):
            assert http.get(server.url + "/v1/x").json() == {"ok": True}
    assert (server.connections, len(server.requests)) == (1, 3)  # (the refused handshake is not counted)


def test_odd_bytes_in_answer_headers_are_kept_as_sent(serve: Callable[..., RawServer]) -> None:
    body = b'{"object": "list", "data": [], "has_more": false}'
    server = serve(lambda conn, head, s: conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Odd: caf\xe9\r\nx-request-id: req_\xff1\r\n\r\n%s"
        % (len(body), body)) or True)
    api = ApiClient(server.url + "/v1", "sk-proj-test")
    assert list(api.list_files()) == []
    with client() as http:
        assert http.get(server.url + "/v1/files").headers.raw[1] == (b"X-Odd", b"caf\xe9")


def test_a_key_with_a_line_break_is_one_error_without_the_key(serve: Callable[..., RawServer]) -> None:
    from reconciler.errors import ApiError

    server = serve(lambda conn, head, s: conn.sendall(answer()) or True)
    api = ApiClient(server.url + "/v1", "sk-proj-abc\nInjected: yes", max_retries=0)
    with pytest.raises(ApiError, match="not valid HTTP") as caught:
        list(api.list_files())
    assert "sk-proj-abc" not in str(caught.value) and server.requests == []


def test_keep_alive_with_descriptors_past_1024(serve: Callable[..., RawServer]) -> None:
    """The idle check polls: select() refuses descriptors from 1024 on, and a process holding many
    files (a big spec folder, a pool of connections) would open a new connection per request."""
    import os
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        pytest.skip(f"the descriptor limit here is {soft}")
    server = serve(lambda conn, head, s: conn.sendall(answer()) or True)
    held = [os.dup(0) for _ in range(1100)]
    try:
        with client() as http:
            for _ in range(5):
                assert http.get(server.url + "/v1/x").json() == {"ok": True}
    finally:
        for fd in held:
            os.close(fd)
    assert server.connections == 1
