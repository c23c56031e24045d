"""Which API account a state belongs to: the identity the API reports, recorded in the state.

    "api": {"base_url": "https://api.openai.com/v1", "organization": "org-…", "project": "proj_…"}

A state planned against another account would see none of its objects and offer to create every
job again (paid twice). So the identity the API reports on its first answer is compared with the
recorded one before any change is made (`check_identity`), and a mismatch is refused in one line;
`reconciler state rebind` changes it on purpose.

`base_url` is normalised (`normalise_base_url`): scheme, host and path only, lower-case scheme and
host, no trailing slash, no userinfo (never stored), query or fragment, no default port, and no
port at all on a loopback host (the sandbox and local proxies listen on a new port each run).
`organization` and `project` are what the API sends in its `openai-organization` and
`openai-project` response headers; `None` when it sends none. A field `None` on either side is
unknown, not different: it never causes a refusal, and a known value fills it in.

With provider profiles (`kind: Provider` documents) this key stays the default
profile's, and `provider_apis` beside it maps every other profile's name to the same three fields;
`check_profile_identity` checks each the same way (docs/SPEC.md, "Providers").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reconciler.errors import StateError
from reconciler.hosts import is_loopback

__all__ = ["ApiIdentity", "IdentityMismatchError", "check_identity", "differences", "normalise_base_url"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_FIELDS = ("base_url", "organization", "project")


class IdentityMismatchError(StateError):
    """The API answering is not the one the state was made against."""


def normalise_base_url(url: str) -> str:
    """`scheme://host[:port]/path` with everything that does not name the account removed.

    >>> normalise_base_url("HTTP://user:pw@127.0.0.1:53211/v1/?x=1")
    'http://127.0.0.1/v1'
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a port that is not a number: keep what can be kept, without userinfo
        parts = urlsplit(url.strip())
        port = None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if port is not None and (port == _DEFAULT_PORTS.get(scheme) or is_loopback(host)):
        port = None
    path = parts.path.rstrip("/")
    netloc = host if port is None else f"{host}:{port}"
    return f"{scheme}://{netloc}{path}"


@dataclass(frozen=True, slots=True)
class ApiIdentity:
    """An API account as the API reports it (see the module docstring)."""

    base_url: str
    organization: str | None = None
    project: str | None = None

    @classmethod
    def reported(cls, base_url: str, organization: str | None, project: str | None) -> ApiIdentity:
        """From a base URL as configured and the two header values as received."""
        return cls(normalise_base_url(base_url), (organization or "").strip() or None,
                   (project or "").strip() or None)

    def to_dict(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "organization": self.organization, "project": self.project}

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "state") -> ApiIdentity:
        """Strict: an object with a non-empty string `base_url` and string-or-null `organization`
        and `project`, nothing else (a misspelt key would silently disable the check)."""
        if not isinstance(data, dict):
            raise StateError(f"{where}: api must be an object with base_url, organization and project")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise StateError(f"{where}: api has an unknown key {unknown[0]!r} (expected base_url, organization, "
                             "project)")
        base_url = data.get("base_url")
        if not isinstance(base_url, str) or not base_url:
            raise StateError(f"{where}: api.base_url must be a non-empty string")
        values: dict[str, str | None] = {}
        for name in ("organization", "project"):
            value = data.get(name)
            if value is not None and (not isinstance(value, str) or not value):
                raise StateError(f"{where}: api.{name} must be a non-empty string or null")
            values[name] = value
        return cls(base_url, values["organization"], values["project"])

    def describe(self) -> str:
        """`organization org-a, project proj_a at https://api.openai.com/v1` (unknown parts left out)."""
        who = [f"{name} {value}" for name, value in (("organization", self.organization),
                                                     ("project", self.project)) if value]
        return (", ".join(who) + " at " if who else "") + self.base_url

    def filled_from(self, other: ApiIdentity) -> ApiIdentity:
        """This identity with the parts it does not know taken from `other`."""
        return ApiIdentity(self.base_url or other.base_url, self.organization or other.organization,
                           self.project or other.project)


def differences(recorded: ApiIdentity | None, reported: ApiIdentity) -> list[str]:
    """The fields (base_url, organization, project) known on both sides that differ."""
    if recorded is None:
        return []
    return [name for name in _FIELDS
            if getattr(recorded, name) is not None and getattr(reported, name) is not None
            and getattr(recorded, name) != getattr(reported, name)]


def check_identity(recorded: ApiIdentity | None, reported: ApiIdentity, *, where: str,
                   profile: str | None = None) -> ApiIdentity:
    """The identity to record from now on, or `IdentityMismatchError` (one line naming both
    identities and the way out) when the API is another account than the state's. `profile`: a
    provider profile's identity (the way out names it)."""
    if recorded is None:
        return reported
    differ = differences(recorded, reported)
    if differ:
        raise IdentityMismatchError(
            f"{where} belongs to {recorded.describe()}, but the API now answering is "
            f"{reported.describe()} (another {' and '.join(d.replace('_', ' ') for d in differ)}): "
            "nothing was changed. "
            + ("Point OPENAI_BASE_URL / the API key at the state's account, or, if the account really "
               "moved, run `reconciler state rebind`" if profile is None else
               f"Point Provider.{profile}'s key and base URL at the state's account, or, if it really "
               f"moved, run `reconciler state rebind --provider {profile}`"))
    return recorded.filled_from(reported)


# -- several providers: the default keeps the top-level "api", the others a map beside it ----------

PROFILES_KEY = "provider_apis"   # {"team_b": {"base_url": …, "organization": …, "project": …}, …}
DEFAULT_PROFILE = "default"


def profiles_from_dict(data: Any, *, where: str = "state") -> dict[str, ApiIdentity]:
    """The state's `provider_apis` map (absent: empty), each entry as strict as `api`."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StateError(f"{where}: {PROFILES_KEY} must be an object of provider name to api identity")
    return {str(name): ApiIdentity.from_dict(value, where=f"{where}: {PROFILES_KEY}.{name}")
            for name, value in data.items()}


def profiles_to_dict(identities: dict[str, ApiIdentity]) -> dict[str, Any]:
    return {name: identities[name].to_dict() for name in sorted(identities)}


def check_profile_identity(state: Any, profile: str, reported: ApiIdentity, *, where: str) -> None:
    """`check_identity` for one provider profile: the default profile's identity is the state's
    top-level `api` (states written before profiles keep working); another profile's is its entry
    in `state.provider_apis`. Raises IdentityMismatchError, else records what was learnt."""
    if profile == DEFAULT_PROFILE:
        state.api = check_identity(state.api, reported, where=where)
        return
    known = state.provider_apis.get(profile)
    state.provider_apis[profile] = check_identity(known, reported, where=f"{where} (provider {profile})",
                                                  profile=profile)
