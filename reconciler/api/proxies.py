"""HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY, read from the mapping the CLI passes (the core
never reads os.environ), turned into httpx mount patterns by httpx's own rules.

httpx reads these itself only for a client built without a transport; the API client brings its
own (api/wire.py), so it mounts the proxies here. The rules follow
`httpx._utils.get_environment_proxies` (httpx 0.28), which follows urllib's `getproxies` for the
variables and curl's CURLOPT_NOPROXY for NO_PROXY:
- lower-case names win over upper-case ones; an empty value sets nothing; a value without a scheme
  is an http:// proxy; upper-case HTTP_PROXY is ignored when REQUEST_METHOD is set (a CGI
  environment, where it is a request header: "httpoxy");
- NO_PROXY is a comma list: `*` turns every proxy off; `.example.com` and `example.com` exempt
  the domain's subdomains (and the bare name for the second); IP addresses, `localhost` and
  `scheme://host` entries exempt exactly those.

One rule of our own: a loopback base URL (the sandbox, a local test server) is never proxied —
httpx would send `http://127.0.0.1:…` to a corporate proxy unless NO_PROXY lists it, and before
proxies were honoured here the sandbox worked regardless.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

__all__ = ["proxy_patterns"]


def _variables(env: Mapping[str, str]) -> dict[str, str]:
    """urllib.request.getproxies_environment over `env`: any case first, then names ending in
    lower-case `_proxy` again, so that they win (an empty one unsets)."""
    found: dict[str, str] = {}
    for name, value in env.items():
        if value and name.lower().endswith("_proxy"):
            found[name.lower()[:-6]] = value
    if "REQUEST_METHOD" in env:
        found.pop("http", None)
    for name, value in env.items():
        if name.endswith("_proxy"):
            if value:
                found[name.lower()[:-6]] = value
            else:
                found.pop(name.lower()[:-6], None)
    return found


def _is_ip(host: str, version: int) -> bool:
    try:
        return ipaddress.ip_network(host, strict=False).version == version
    except ValueError:
        return False


def proxy_patterns(env: Mapping[str, str]) -> dict[str, str | None]:
    """httpx mount patterns ("https://", "all://*example.com", …) -> proxy URL, or None for "go
    direct". Empty when no proxy is set."""
    variables = _variables(env)
    patterns: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        proxy = variables.get(scheme)
        if proxy:
            patterns[f"{scheme}://"] = proxy if "://" in proxy else f"http://{proxy}"
    if not patterns:
        return {}
    for host in (part.strip() for part in variables.get("no", "").split(",")):
        if host == "*":
            return {}
        if not host:
            continue
        if "://" in host:
            patterns[host] = None
        elif _is_ip(host, 4):
            patterns[f"all://{host}"] = None
        elif _is_ip(host, 6):
            patterns[f"all://[{host}]"] = None
        elif host.lower() == "localhost":
            patterns[f"all://{host}"] = None
        else:
            patterns[f"all://*{host}"] = None
    return patterns
