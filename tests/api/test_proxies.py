"""HTTP(S)_PROXY / ALL_PROXY / NO_PROXY: the CLI's client options say `trust_env`, and httpx reads
the variables itself, by its own rules; a loopback base URL is never proxied. Checked over real
sockets with a proxy that records what reaches it."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from reconciler.api.client import ApiClient, client_options_from_env
from reconciler.secrets import redact
from tests.api.test_transport import RawServer, answer

Env = Callable[[dict[str, str]], dict[str, Any]]


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Env:
    """Sets the proxy variables (and only those) for httpx to read, and gives the client options
    the CLI would pass for the same environment."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)

    def set_env(env: dict[str, str]) -> dict[str, object]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return client_options_from_env(env)

    return set_env


@pytest.fixture
def proxy() -> Iterator[Callable[[bytes], RawServer]]:
    servers: list[RawServer] = []

    def start(reply: bytes) -> RawServer:
        servers.append(RawServer(lambda conn, head, s: conn.sendall(reply) or True))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


LISTING = answer(b'{"object": "list", "data": [{"id": "file-1"}], "has_more": false}')


def test_an_http_base_url_goes_through_the_proxy(proxy: Callable[[bytes], RawServer], environ: Env) -> None:
    server = proxy(LISTING)
    options = environ({"HTTP_PROXY": f"http://127.0.0.1:{server.port}"})
    client = ApiClient("http://api.example.test/v1", "sk-proj-test", insecure_http=True, **options)
    assert [f["id"] for f in client.list_files()] == ["file-1"]
    assert server.requests[0].startswith(b"GET http://api.example.test/v1/files?limit=10000 HTTP/1.1")


def test_an_https_base_url_asks_the_proxy_for_a_tunnel(proxy: Callable[[bytes], RawServer], environ: Env) -> None:
    server = proxy(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    options = environ({"HTTPS_PROXY": f"127.0.0.1:{server.port}"})
    client = ApiClient("https://api.example.test/v1", "sk-proj-test", max_retries=0, **options)
    with pytest.raises(Exception, match=r"403|[Pp]roxy"):
        list(client.list_files())
    assert server.requests[0].startswith(b"CONNECT api.example.test:443 HTTP/1.1")


def test_no_proxy_and_loopback_go_direct(proxy: Callable[[bytes], RawServer], environ: Env) -> None:
    server = proxy(LISTING)
    direct = RawServer(lambda conn, head, s: conn.sendall(LISTING) or True)
    try:
        env = {"HTTP_PROXY": f"http://127.0.0.1:{server.port}", "NO_PROXY": "api.example.test"}
        exempt = ApiClient("http://api.example.test/v1", "sk-proj-test", insecure_http=True, max_retries=0,
                           **environ(env))
        with pytest.raises(Exception, match=r"[Cc]onnect|resolve|[Nn]ame"):
            list(exempt.list_files())  # direct: the .test domain does not resolve
        loopback = ApiClient(direct.url + "/v1", "sk-proj-test",
                             **environ({"HTTP_PROXY": f"http://127.0.0.1:{server.port}"}))
        assert [f["id"] for f in loopback.list_files()] == ["file-1"]
        assert len(direct.requests) == 1
    finally:
        direct.close()
    assert server.requests == []


def test_a_proxy_password_is_a_secret(environ: Env) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = environ({"HTTPS_PROXY": f"http://me:hunter2-proxy@127.0.0.1:{port}"})
    ApiClient("https://api.example.test/v1", "sk-proj-test", **options)
    assert "hunter2-proxy" not in redact("failed via http://me:hunter2-proxy@127.0.0.1")
    encoded = environ({"HTTPS_PROXY": f"http://me:s3cret%40proxy@127.0.0.1:{port}"})
    ApiClient("https://api.example.test/v1", "sk-proj-test", **encoded)
    assert "s3cret" not in redact("as written s3cret%40proxy, decoded s3cret@proxy")
    assert isinstance(httpx.URL("http://me:hunter2-proxy@h").password, str)


@pytest.mark.parametrize(("env", "message"), [
    ({"ALL_PROXY": "socks5://127.0.0.1:1080"}, "ALL_PROXY / HTTPS_PROXY: a socks proxy needs the socksio package"),
    ({"HTTPS_PROXY": "ftp://127.0.0.1:21"}, "HTTP_PROXY / HTTPS_PROXY / ALL_PROXY: not a proxy URL httpx can use"),
])
def test_a_proxy_httpx_cannot_use_is_one_line(env: dict[str, str], message: str, environ: Env) -> None:
    import importlib.util

    from reconciler.errors import ConfigError

    if "socks" in message and importlib.util.find_spec("socksio") is not None:
        pytest.skip("socksio is installed here: a socks proxy is usable")
    with pytest.raises(ConfigError, match=message):
        ApiClient("https://api.example.test/v1", "sk-proj-test", **environ(env))


def test_a_proxy_nothing_answers_at_is_named(environ: Env) -> None:
    from reconciler.errors import ApiError

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"HTTPS_PROXY": f"http://127.0.0.1:{port}", "NO_PROXY": "internal.example.test"}
    proxied = ApiClient("https://api.example.test/v1", "sk-proj-test", max_retries=1, sleep=lambda s: None,
                        **environ(env))
    assert proxied.proxy_variable == "HTTPS_PROXY / ALL_PROXY"
    with pytest.raises(ApiError, match=r"through the proxy \(HTTPS_PROXY / ALL_PROXY\) yet: check the proxy"):
        list(proxied.list_files())
    exempt = ApiClient("https://internal.example.test/v1", "sk-proj-test", **environ(env))
    assert exempt.proxy_variable is None
