"""The client builds each request's URL itself, parsed once (a quarter of a read's CPU went to
httpx joining a relative path with the base and then the params), and keeps no cookie jar. Checked
over real sockets: the server sees exactly the path and query httpx's own join would have sent, for
ids and query values that need escaping, and the client never sends back a cookie it was given."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from reconciler.api.client import ApiClient


class _Echo(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Cookie")))
        body = json.dumps({"object": "list", "data": [], "has_more": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "__cf_bm=abc; Path=/; HttpOnly")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echo() -> Iterator[tuple[str, type[_Echo]]]:
    handler = type("Echo", (_Echo,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


CASES = [
    ("ft:gpt-4o-mini-2024-07-18:org:name:ckpt-step-10", {"limit": 100}),
    ("ft:gpt-4o:my org/odd?#name:abc", {"limit": 100, "after": "cp_1 2&3"}),
    ("ft:x:y", {"limit": 5, "project_id": "proj_ä", "order": "descending"}),
]


@pytest.mark.parametrize(("checkpoint", "params"), CASES)
@pytest.mark.parametrize("prefix", ["/v1", "/proxy/openai/v1"])
def test_the_url_sent_is_httpx_s_own_join(echo: tuple[str, type[_Echo]], checkpoint: str,
                                           params: dict[str, object], prefix: str) -> None:
    base, handler = echo
    client = ApiClient(base + prefix, "sk-proj-test", "sk-admin-test")
    list(client.list_permissions(checkpoint, project_id=params.get("project_id"),  # type: ignore[arg-type]
                                 order=params.get("order"), page_size=params["limit"]))  # type: ignore[arg-type]
    path = client._perm_path(checkpoint).lstrip("/")
    wanted = {k: v for k, v in params.items() if k != "after"}
    expected = httpx.Client(base_url=base + prefix + "/").build_request("GET", path, params=wanted).url
    [(sent, _cookie)] = handler.seen
    assert sent == expected.raw_path.decode()


def test_cookies_are_not_kept_or_sent_back(echo: tuple[str, type[_Echo]]) -> None:
    base, handler = echo
    client = ApiClient(base + "/v1", "sk-proj-test", "sk-admin-test")
    for _ in range(3):
        list(client.list_files())
    assert [cookie for _path, cookie in handler.seen] == [None, None, None]
    assert len(client._http.cookies.jar) == 0


def test_a_plain_http_client_skips_the_ca_bundle_and_fails_closed() -> None:
    """A plain-http base URL (the sandbox) loads no CA bundle (50-70 ms per client): its TLS
    context trusts no certificate at all, so an https URL could never be reached unverified. An
    https base URL gets httpx's verified default context."""
    import ssl

    plain = ApiClient("http://127.0.0.1:9/v1", "sk-proj-test")
    context = plain._http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs() == []
    secure = ApiClient("https://api.openai.com/v1", "sk-proj-test")
    context = secure._http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) > 10
