"""Where API keys may be sent, and what a key variable may hold: pure rules, no environment.

A `base_url` written in a spec is data from whoever can open a pull request, and the run that
reads it holds the CI's keys. So a spec's URL is used only when it falls under a prefix the
operator allows from outside the specs: the platform's public endpoints (`PLATFORMS`), the
operator's own base URL (OPENAI_BASE_URL) and the prefixes in RECONCILER_ALLOWED_BASE_URLS. The
CLI reads those variables and passes their values here.

A prefix matches a URL when scheme, host and port are the same (a port left out is the scheme's
default) and the URL's path starts with the prefix's path on a segment boundary:
`https://a.example/v1` allows `https://a.example/v1` and `https://a.example/v1/x`, never
`https://a.example/v1evil`, `https://a.example.evil.com/v1` or `http://a.example/v1`. A host may
start with `*.`, which stands for exactly one DNS label (`https://*.openai.azure.com`). A URL that
two parsers could read differently (userinfo, a backslash, whitespace or control characters, a
host that is not plain ASCII, dot segments) is never allowed.

Key shapes (`key_problem`): what a variable named by `api_key_env` / `admin_key_env` must hold
for the platform, checked before any request, so that a spec cannot have the CI send a database
connection string or a webhook URL as a bearer token, even to an allowed URL.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = [
    "NOT_A_KEY",
    "PLATFORMS",
    "Platform",
    "UrlPrefix",
    "allowed_by",
    "key_problem",
    "not_a_key_variable",
    "parse_prefix",
    "parse_prefixes",
    "url_problem",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_IPV6 = re.compile(r"^\[[0-9a-f:.]+\]$")
_UNSAFE = re.compile(r"[\s\\\x00-\x1f\x7f]")


@dataclass(frozen=True)
class UrlPrefix:
    """One allowed prefix: scheme, host (maybe `*.rest`), port, and path segments."""

    scheme: str
    host: str
    port: int
    segments: tuple[str, ...]
    text: str  # as written, for messages

    def allows(self, url: str) -> bool:
        try:
            other = parse_prefix(url, wildcard=False)
        except ValueError:
            return False
        if (other.scheme, other.port) != (self.scheme, self.port) or not _host_matches(self.host, other.host):
            return False
        return other.segments[:len(self.segments)] == self.segments


def _host_matches(pattern: str, host: str) -> bool:
    if not pattern.startswith("*."):
        return host == pattern
    label, dot, rest = host.partition(".")
    return bool(label) and bool(dot) and rest == pattern[2:]


def parse_prefix(text: str, *, wildcard: bool = True) -> UrlPrefix:
    """A URL (or prefix) in the form compared; ValueError (the reason) when it is not one."""
    if _UNSAFE.search(text):
        raise ValueError("holds whitespace, a backslash or a control character")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError("is not an http(s) URL")
    if "@" in parts.netloc:
        raise ValueError("carries credentials (user@host): keys come from the environment")
    if parts.query or parts.fragment or text.rstrip().endswith(("?", "#")):
        raise ValueError("has a query or a fragment")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("has no host")
    if ":" in host:
        host = f"[{host}]"
    if not (_HOST.match(host) or _IPV6.match(host)):
        raise ValueError("has a host that is not a plain ASCII name or address")
    if host.startswith("*.") and not wildcard:
        raise ValueError("has a wildcard host")
    segments = tuple(unquote(s) for s in parts.path.split("/") if s)
    if any(s in (".", "..") or "/" in s or "\\" in s for s in segments):
        raise ValueError("has a dot segment or an encoded slash in its path")
    return UrlPrefix(scheme, host, port if port is not None else _DEFAULT_PORTS[scheme], segments, text)


def parse_prefixes(text: str | None) -> tuple[UrlPrefix, ...]:
    """RECONCILER_ALLOWED_BASE_URLS: comma-separated prefixes (blank entries skipped); ValueError
    naming the first entry that is not one."""
    found = []
    for entry in (text or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            found.append(parse_prefix(entry))
        except ValueError as exc:
            raise ValueError(f"{entry!r} {exc}") from None
    return tuple(found)


@dataclass(frozen=True)
class Platform:
    """What one platform type (`Provider.spec.type`) allows without the operator's say."""

    public_endpoints: tuple[str, ...]
    api_key: re.Pattern[str]       # what api_key_env must hold
    admin_key: re.Pattern[str]     # what admin_key_env must hold
    api_key_shape: str             # said in messages
    admin_key_shape: str


# OpenAI's secret keys all start with sk-: sk-proj- (project keys), sk-svcacct- (service
# accounts), sk-admin- (organisation admin keys, the only ones the checkpoint-permission
# endpoints take) and the older user keys sk-<letters and digits>.
_SK = r"sk-[A-Za-z0-9_-]{4,}"
PLATFORMS: Mapping[str, Platform] = {
    "openai": Platform(
        public_endpoints=("https://api.openai.com/v1",),
        api_key=re.compile(rf"^{_SK}$"),
        admin_key=re.compile(r"^sk-admin-[A-Za-z0-9_-]{4,}$"),
        api_key_shape="an OpenAI API key (sk-proj…, sk-svcacct… or sk-…)",
        admin_key_shape="an OpenAI admin key (sk-admin-…)",
    ),
    # Azure OpenAI resource keys: 32 hex digits (older resources) or 84 letters and digits (newer
    # ones); the endpoints are a resource's subdomains (DESIGN.md, "allowed endpoints").
    "azure": Platform(
        public_endpoints=("https://*.openai.azure.com", "https://*.cognitiveservices.azure.com"),
        api_key=re.compile(r"^[A-Za-z0-9]{32,128}$"),
        admin_key=re.compile(r"(?!)"),   # no admin keys: Azure has no checkpoint permissions
        api_key_shape="an Azure OpenAI resource key (32 to 128 letters and digits)",
        admin_key_shape="an admin key (Azure has none)",
    ),
}


def allowed_by(url: str, prefixes: Iterable[UrlPrefix]) -> UrlPrefix | None:
    """The first prefix that allows `url`, or None."""
    return next((p for p in prefixes if p.allows(url)), None)


@functools.cache
def _public(platform: str) -> tuple[UrlPrefix, ...]:
    return tuple(parse_prefix(p) for p in PLATFORMS[platform].public_endpoints)


def url_problem(url: str, platform: str, operator: Iterable[UrlPrefix]) -> str | None:
    """Why a spec's base URL may not receive keys (None: it may): neither one of the platform's
    public endpoints nor under a prefix the operator allows."""
    try:
        parse_prefix(url, wildcard=False)
    except ValueError as exc:
        return f"{url} {exc}"
    if allowed_by(url, _public(platform) + tuple(operator)) is not None:
        return None
    what = "endpoint" if platform == "azure" else "base URL"
    return (f"{url} is not an allowed {what}: API keys are sent only to {', '.join(PLATFORMS[platform].public_endpoints)}, "
            "OPENAI_BASE_URL and the prefixes the operator lists in RECONCILER_ALLOWED_BASE_URLS (set outside the "
            "specs)")


def key_problem(platform: str, role: str, value: str) -> str | None:
    """Why `value` is not a key of `role` ("api_key" / "admin_key") for the platform (None: it
    is). Never quotes the value."""
    shapes = PLATFORMS[platform]
    pattern, shape = ((shapes.admin_key, shapes.admin_key_shape) if role == "admin_key"
                      else (shapes.api_key, shapes.api_key_shape))
    if pattern.match(value):
        return None
    if "://" in value:
        what = "a URL"
    elif "=" in value and " " in value:
        what = "a connection string"
    else:
        what = "something else"
    return f"holds {what}, not {shape}"


# Variables that hold this tool's (or CI's) other secrets: a Provider may never name them as a key.
NOT_A_KEY: Mapping[str, str] = {
    "RECONCILER_PG_CONN_STR": "the state database's connection string",
    "DATABASE_URL": "a database connection string",
    "RECONCILER_NOTIFY_SECRET": "the drift webhook's signing secret",
    "RECONCILER_WEBHOOK": "the drift webhook's URL",
    "RECONCILER_GITLAB_TOKEN": "a GitLab access token",
    "GITHUB_TOKEN": "a GitHub token",
    "GH_TOKEN": "a GitHub token",
    "CI_JOB_TOKEN": "a GitLab job token",
    "ACTIONS_RUNTIME_TOKEN": "a GitHub Actions runtime token",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "a GitHub Actions OIDC token",
}


def not_a_key_variable(name: str) -> str | None:
    """What the variable `name` holds when it is known to hold another secret than an API key."""
    if name in NOT_A_KEY:
        return NOT_A_KEY[name]
    if re.match(r"^PG[A-Z]+$", name):  # libpq's PGPASSWORD, PGHOST, PGSERVICE, ...
        return "a PostgreSQL connection setting (libpq)"
    return None
