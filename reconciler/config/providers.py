"""`kind: Provider` documents: the API identities (profiles) one spec folder talks to.

    kind: Provider
    name: team_b                      # the profile name resources choose with `provider: team_b`
    spec:
      api_key_env: TEAM_B_OPENAI_KEY  # the variable holding the project key (never the key itself)
      admin_key_env: OPENAI_ADMIN_KEY # optional: for checkpoint permissions
      organization: org-…             # optional: sent as OpenAI-Organization
      project: proj_…                 # optional: sent as OpenAI-Project
      base_url: https://api.openai.com/v1   # optional (default: OPENAI_BASE_URL, else the public API)

    kind: Provider
    name: azure
    spec:
      type: azure                     # Azure OpenAI in Microsoft Foundry (default: openai)
      endpoint: https://NAME.openai.azure.com
      api_version: 2025-04-01-preview # optional: without it, the /openai/v1/ path
      api_key_env: AZURE_OPENAI_API_KEY   # sent as `api-key`; or `auth: entra` (azure-identity)

A field belongs to one platform type (`TYPE_FIELDS`): an OpenAI Provider has no endpoint, an
Azure one no base_url, organization, project or admin key (Azure has no checkpoint permissions).

A resource document chooses one with a top-level `provider: NAME` beside `spec:`. Omitted, it is
`default`: the Provider named `default` when there is one, otherwise today's client built from the
OPENAI_* environment variables. Like Settings and Policy documents, a Provider is not a resource:
nothing is created for it and the state holds no record of it, but every plan shows it for review
(planner/providers.py). Only names of variables live here; the CLI reads their values, and a
base_url is used only where the operator allows it (config/endpoints.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reconciler.config.endpoints import not_a_key_variable, parse_prefix
from reconciler.errors import SpecError

__all__ = [
    "DEFAULT_PROVIDER",
    "PROVIDER_FIELDS",
    "PROVIDER_KIND",
    "Provider",
    "check_provider_choice",
    "check_provider_document",
    "provider_of",
    "unknown_provider",
]

PROVIDER_KIND = "Provider"
DEFAULT_PROVIDER = "default"
PROVIDER_TYPES = ("openai", "azure")
OPENAI_FIELDS = ("api_key_env", "admin_key_env", "organization", "project", "base_url")
AZURE_FIELDS = ("endpoint", "api_version", "api_key_env", "auth")
# The ARM control plane's fields (kind: Deployment's business): strings, checked where they are used.
ARM_FIELDS = ("subscription_id", "resource_group", "account", "management_url", "management_token_env")
ARM_REQUIRED = ("subscription_id", "resource_group", "account")
TYPE_FIELDS = {"openai": OPENAI_FIELDS, "azure": AZURE_FIELDS + ARM_FIELDS}
# What a saved plan records of a Provider (and compares before applying it).
PROVIDER_FIELDS = ("type", *OPENAI_FIELDS, "endpoint", "api_version", "auth", *ARM_FIELDS)
ALL_FIELDS = tuple(dict.fromkeys(("type", *OPENAI_FIELDS, *AZURE_FIELDS, *ARM_FIELDS)))
AUTH_MODES = ("entra",)
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


def declared_profile(doc: Any) -> str:
    """The provider profile a document names (`provider:`), the default when it names none."""
    return doc.provider or DEFAULT_PROVIDER


def recorded_profile(resource: Any) -> str:
    """The provider profile the state recorded an object in (`meta.provider`), the default when none
    was recorded (a state from before profiles)."""
    return (resource.meta or {}).get("provider") or DEFAULT_PROVIDER


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _url_problem(value: str) -> str | None:
    try:
        parse_prefix(value, wildcard=False)
    except ValueError as exc:
        return f"it {exc}"
    return None


@dataclass(frozen=True)
class Provider:
    """One API identity, as declared (variable names, not values)."""

    name: str
    api_key_env: str | None = None
    admin_key_env: str | None = None
    organization: str | None = None
    project: str | None = None
    base_url: str | None = None
    file: str | None = None   # None: the implicit default (the OPENAI_* environment)
    line: int | None = None
    positions: Mapping[str, int] | None = None
    type: str = "openai"
    endpoint: str | None = None          # azure: https://NAME.openai.azure.com
    api_version: str | None = None       # azure: ?api-version=…; None: the /openai/v1/ path
    auth: str | None = None              # azure: "entra" (Microsoft Entra ID) instead of api_key_env
    subscription_id: str | None = None   # azure, ARM control plane (deployments)
    resource_group: str | None = None
    account: str | None = None
    management_url: str | None = None
    management_token_env: str | None = None

    @property
    def address(self) -> str:
        return f"{PROVIDER_KIND}.{self.name}"

    @property
    def platform(self) -> str:
        """The platform type whose endpoints and key shapes apply (config/endpoints.py PLATFORMS)."""
        return self.type

    @property
    def url(self) -> str | None:
        """Where its keys go as written in the spec: the Azure endpoint or the OpenAI base_url."""
        return self.endpoint if self.type == "azure" else self.base_url

    @property
    def url_field(self) -> str:
        return "endpoint" if self.type == "azure" else "base_url"

    @property
    def arm(self) -> dict[str, str] | None:
        """The ARM_FIELDS given (None: no control plane, so no Deployments)."""
        given = {f: v for f in ARM_FIELDS if (v := getattr(self, f))}
        return given or None

    def value(self, field: str) -> str | None:
        """One of PROVIDER_FIELDS as declared (None: not given)."""
        found: str | None = getattr(self, field)
        return found

    def arm_problem(self) -> str | None:
        """Why this provider cannot reach ARM deployments, if it cannot."""
        missing = [f for f in ARM_REQUIRED if not (self.arm or {}).get(f)]
        return f"{self.address} has no {', '.join(missing)} (its Azure Resource Manager account)" if missing else None

    def where(self, field: str | None = None) -> str:
        """`specs/providers.yaml:4` for the document, or for one of its spec fields."""
        if self.file is None:
            return "the environment"
        line = (self.positions or {}).get(f"spec.{field}", self.line) if field else self.line
        return f"{self.file}:{line}"


def _suggest(word: str, options: tuple[str, ...] | list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _misplaced_field(key: str, kind: str, allowed: tuple[str, ...]) -> str:
    if key in ALL_FIELDS:
        other = next(t for t in PROVIDER_TYPES if key in TYPE_FIELDS[t])
        hint = (" (Azure has no checkpoint permissions)" if key == "admin_key_env" else "")
        return f"{key} belongs to a Provider of type {other}, not {kind}{hint}"
    return (f"unknown field {key!r}{_suggest(str(key), allowed)}; a {kind} Provider's "
            f"spec has {', '.join(allowed)}")


def _env_problem(value: str) -> str | None:
    """What is wrong with a *_env field's value: it must name a variable that holds a key."""
    if not _ENV_NAME.match(value):
        hint = (" (it looks like a key: write the NAME of the variable that holds it, never the key)"
                if value.startswith("sk-") else "")
        return f"must name an environment variable (letters, digits and _){hint}"
    if not_a_key_variable(value):
        return (f"{value} holds {not_a_key_variable(value)}, not an API key: name the "
                "variable that holds this profile's key")
    return None


def _url_field_problem(key: str, value: str) -> str | None:
    if key in ("base_url", "management_url") and (problem := _url_problem(value)):
        return f"must be an http(s) URL such as https://api.openai.com/v1 ({problem})"
    if key in ("endpoint", "management_url") and (problem := _url_problem(value)):
        return f"must be an https URL such as https://NAME.openai.azure.com ({problem})"
    if key == "endpoint" and urlsplit(value).path.strip("/"):
        return ("is the resource's endpoint without a path (https://NAME.openai.azure.com): "
                "the /openai/... paths are added by the client")
    return None


def _value_problem(key: str, value: Any) -> str | None:
    """What is wrong with an allowed field's value, if anything."""
    if not isinstance(value, str) or not value.strip():
        return "expected a non-empty string"
    if key.endswith("_env"):
        return _env_problem(value)
    if key in ("base_url", "management_url", "endpoint"):
        return _url_field_problem(key, value)
    if key == "api_version" and not _API_VERSION.match(value):
        return ("must be an Azure OpenAI API version such as 2025-04-01-preview (or leave it "
                "out for the /openai/v1/ path)")
    if key == "auth" and value not in AUTH_MODES:
        return (f"unknown auth {value!r}; the one mode is entra (Microsoft Entra ID through "
                "azure-identity), or leave it out and name api_key_env")
    if key == "project" and not value.startswith("proj_"):
        return "a project id starts with proj_"
    return None


def _missing_fields(kind: str, spec: dict[str, Any]) -> list[tuple[tuple[str, ...], str, str]]:
    """The required fields a Provider of that type lacks: (path, field, message)."""
    if kind == "azure":
        found: list[tuple[tuple[str, ...], str, str]] = []
        if "endpoint" not in spec:
            found.append((("spec",), "spec.endpoint", "missing required field 'endpoint' (https://NAME.openai.azure.com, "
                          "the Azure OpenAI resource's endpoint)"))
        if "api_key_env" in spec and "auth" in spec:
            found.append((("spec", "auth"), "spec.auth",
                          "choose one: api_key_env (an api-key) or auth: entra, not both"))
        elif "api_key_env" not in spec and "auth" not in spec:
            found.append((("spec",), "spec.api_key_env", "missing required field 'api_key_env' (the variable holding "
                          "the resource's key) or 'auth: entra'"))
        return found
    if "api_key_env" not in spec and "admin_key_env" not in spec:
        return [(("spec",), "spec.api_key_env", "missing required field 'api_key_env' (the variable holding this "
                 "profile's project key)")]
    return []


def _document_problems(doc: dict[str, Any], name: Any) -> list[tuple[tuple[Any, ...], str, str]]:
    """What is wrong outside the spec: unknown top-level fields, a missing or bad name."""
    found: list[tuple[tuple[Any, ...], str, str]] = []
    for key in doc:
        if key not in ("kind", "name", "spec"):
            found.append(((key,), str(key), f"unknown field {key!r} in a Provider document (it holds kind, name and "
                          "spec)" + _suggest(str(key), ["name", "spec"])))
    if not isinstance(name, str) or not _NAME.match(name):
        found.append((("name",), "name", "a Provider needs a name of letters, digits, _ and - (the profile "
                      "resources choose with provider: NAME)"))
    return found


def check_provider_document(doc: dict[str, Any], file: str, line: int,
                            line_of: Callable[[tuple[Any, ...]], int]) -> tuple[Provider | None, list[SpecError]]:
    """Validate one `kind: Provider` document: the Provider, or its errors (each one line: file:line,
    address, field, what is wrong, what to do)."""
    errors: list[SpecError] = []
    name = doc.get("name")
    address = f"{PROVIDER_KIND}.{name}" if isinstance(name, str) else None

    def err(path: tuple[Any, ...], field: str | None, message: str) -> None:
        errors.append(SpecError(file, line_of(path) if path else line, message, address, field))

    for path, field, message in _document_problems(doc, name):
        err(path, field, message)
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        err(("spec",), "spec", "a Provider needs a spec mapping with at least api_key_env")
        return None, errors
    kind = spec.get("type", "openai")
    if kind not in PROVIDER_TYPES:
        err(("spec", "type"), "spec.type", f"unknown type {kind!r}{_suggest(str(kind), PROVIDER_TYPES)}; a Provider's "
            f"type is one of {', '.join(PROVIDER_TYPES)}")
        return None, errors
    allowed = ("type", *TYPE_FIELDS[kind])
    for key, value in spec.items():
        if key == "type":
            continue
        problem = _misplaced_field(key, kind, allowed) if key not in allowed else _value_problem(key, value)
        if problem is not None:
            err(("spec", key), f"spec.{key}", problem)
    for path, field, message in _missing_fields(kind, spec):
        err(path, field, message)
    if errors:
        return None, errors
    assert isinstance(name, str)
    positions = {f"spec.{k}": line_of(("spec", k)) for k in spec}
    extra = {f: spec.get(f) for f in ("endpoint", "api_version", "auth", *ARM_FIELDS)}
    return Provider(name, spec.get("api_key_env"), spec.get("admin_key_env"), spec.get("organization"),
                    spec.get("project"), spec.get("base_url"), file, line, positions, type=kind, **extra), []


def check_provider_choice(value: Any, file: str, line: int, address: str | None) -> tuple[str | None, SpecError | None]:
    """A resource document's top-level `provider:` (None when omitted), or its error."""
    if value is None:
        return None, None
    if not isinstance(value, str) or not _NAME.match(value):
        return None, SpecError(file, line, "provider must be the name of a Provider document", address, "provider")
    return value, None


def unknown_provider(name: str, providers: Mapping[str, Provider], file: str, line: int,
                     address: str) -> SpecError:
    """`provider: team_c` naming no Provider document (with did-you-mean)."""
    declared = sorted(providers)
    if not declared:
        known = "there are no Provider documents (add a kind: Provider document named " f"{name!r})"
    else:
        known = f"declared: {', '.join(declared)}"
    return SpecError(file, line, f"unknown provider {name!r}{_suggest(name, declared)}; {known}", address,
                     "provider")


def platform_lacks(provider: Provider, kind: str, absent_on: Iterable[str]) -> str | None:
    """Why a document of `kind` cannot live in `provider` (None: it can); `absent_on`: the platforms
    the kind does not exist on (Kind.absent_on: Azure OpenAI has no checkpoint permissions, its
    fine-tuned models are shared by deploying them)."""
    if provider.type not in absent_on:
        return None
    return (f"{kind} is not available on {provider.address} (type: {provider.type}): Azure OpenAI has no checkpoint "
            f"permissions; choose an OpenAI provider with provider: NAME, or remove the document")


def platform_of(providers: Mapping[str, Provider], profile: str | None) -> str:
    """The platform type (openai / azure) of a provider profile (`default` when None); a profile no
    Provider document declares is the OPENAI_* environment's: openai."""
    found = providers.get(profile or DEFAULT_PROVIDER)
    return found.type if found is not None else "openai"


def document_platforms(specs: Any, state: Any = None) -> dict[str, str]:
    """address -> platform of every document in `specs` (and every object only `state` holds, by
    the profile it recorded)."""
    providers: Mapping[str, Provider] = getattr(specs, "providers", {}) or {}
    found = {address: platform_of(providers, declared_profile(doc)) for address, doc in specs.documents.items()}
    for address, resource in (getattr(state, "resources", None) or {}).items():
        found.setdefault(address, platform_of(providers, recorded_profile(resource)))
    return found


def provider_of(doc: Any) -> str:
    """The profile a document (or a state resource's meta) belongs to: `default` when unnamed."""
    chosen = getattr(doc, "provider", None)
    return chosen if isinstance(chosen, str) and chosen else DEFAULT_PROVIDER


def provider_choice_schema() -> dict[str, Any]:
    """The top-level `provider:` of a resource document (JSON Schema, for editors)."""
    return {"type": "string", "pattern": _NAME.pattern,
            "description": "The Provider document (API identity: key, organization, project) this object "
            "lives in; default when omitted."}


def provider_document_schema() -> dict[str, Any]:
    """The whole `kind: Provider` document (JSON Schema, for editors; the loader checks it itself)."""
    text = {"type": "string", "minLength": 1}
    env = {"type": "string", "pattern": _ENV_NAME.pattern}
    return {
        "type": "object",
        "description": "An API identity (profile) resources choose with provider: NAME.",
        "properties": {
            "kind": {"const": PROVIDER_KIND},
            "name": {"type": "string", "pattern": _NAME.pattern, "description": "The profile name."},
            "spec": {
                "type": "object",
                "properties": {
                    "api_key_env": {**env, "description": "The environment variable holding the project key."},
                    "admin_key_env": {**env, "description": "The environment variable holding the admin key "
                                      "(checkpoint permissions)."},
                    "organization": {**text, "description": "Sent as OpenAI-Organization."},
                    "project": {"type": "string", "pattern": "^proj_", "description": "Sent as OpenAI-Project."},
                    "base_url": {**text, "description": "The API's base URL (default: OPENAI_BASE_URL, else "
                                 "https://api.openai.com/v1); used only when it is the public endpoint, under "
                                 "OPENAI_BASE_URL, or under a prefix the operator lists in "
                                 "RECONCILER_ALLOWED_BASE_URLS."},
                    "type": {"enum": list(PROVIDER_TYPES), "description": "The platform: openai (default) or azure "
                             "(Azure OpenAI in Microsoft Foundry)."},
                    "endpoint": {**text, "description": "azure: the resource's endpoint, "
                                 "https://NAME.openai.azure.com."},
                    "api_version": {"type": "string", "pattern": _API_VERSION.pattern,
                                    "description": "azure: sent as ?api-version=; without it the /openai/v1/ path."},
                    "auth": {"enum": list(AUTH_MODES), "description": "azure: entra authenticates with Microsoft "
                             "Entra ID (azure-identity's DefaultAzureCredential) instead of api_key_env."},
                    **{f: {**text, "description": "azure: the ARM control plane (deployments)."} for f in ARM_FIELDS},
                },
                "anyOf": [{"required": ["api_key_env"]}, {"required": ["admin_key_env"]}, {"required": ["auth"]}],
                "additionalProperties": False,
            },
        },
        "required": ["kind", "name", "spec"],
        "additionalProperties": False,
    }
