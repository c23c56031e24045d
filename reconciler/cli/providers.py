"""The API clients of a run with provider profiles (`kind: Provider` documents, config/providers.py):
one client per profile, built from the variables each Provider names (read here, in the CLI, and
never printed), behind `api.profiles.ProfileClients`. Without Provider documents or `provider:`
choices nothing changes: the one client from the OPENAI_* environment (runtime.api_client)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from reconciler.cli.context import AppContext, Out
from reconciler.cli.endpoints import refuse_provider_problems
from reconciler.config.providers import (
    DEFAULT_PROVIDER,
    OPENAI_FIELDS,
    PROVIDER_FIELDS,
    Provider,
    declared_profile,
    recorded_profile,
)
from reconciler.errors import ConfigError
from reconciler.secrets import register_secret

if TYPE_CHECKING:
    from reconciler.api.protocols import Client
    from reconciler.config.documents import SpecSet
    from reconciler.plan.model import Plan
    from reconciler.state import State


__all__ = ["check_saved_plan_providers", "open_clients", "profiles_of", "provider_reviews", "saved_plan_providers",
           "uses_profiles"]

SANDBOX_KEY_PREFIX = "sk-sandbox-profile-"
SANDBOX_AZURE_KEY = "0123456789abcdef0123456789abcdef"   # the Azure sandbox's resource key (--sandbox)


def profiles_of(specs: SpecSet, state: State) -> dict[str, str]:
    """address -> profile: the document's `provider:` (default when omitted); for an address only the
    state holds (to be destroyed), the profile the state recorded."""
    found = {address: declared_profile(doc) for address, doc in specs.documents.items()}
    for address, resource in state.resources.items():
        if address not in found:
            found[address] = recorded_profile(resource)
    return found


def uses_profiles(specs: SpecSet, state: State) -> bool:
    return bool(specs.providers) or any(p != DEFAULT_PROVIDER for p in profiles_of(specs, state).values())


def _owners(state: State) -> dict[str, str]:
    """object id -> profile, as the state recorded (objects of a profile no listing shows any more)."""
    return {r.id: recorded_profile(r) for r in state.resources.values() if r.id}


def _undeclared(name: str, providers: Mapping[str, Provider], addresses: list[str]) -> ConfigError:
    declared = ", ".join(sorted(providers)) or "none"
    return ConfigError(f"{addresses[0]} is recorded in provider {name!r}, which no Provider document declares "
                       f"(declared: {declared}): add a kind: Provider document named {name!r} so it can be "
                       "reached, or remove it from the state with `reconciler state rm`")


def _profiles_used(profile_of: Mapping[str, str], state: State,
                   providers: Mapping[str, Provider]) -> dict[str, list[str]]:
    """Profile -> the addresses that use it; an undeclared profile is refused."""
    used: dict[str, list[str]] = {}
    for address, name in sorted(profile_of.items()):
        used.setdefault(name, []).append(address)
    # an object the specs moved to another profile is still read (and forgotten or destroyed) in
    # the one the state recorded it in
    for address, resource in sorted(state.resources.items()):
        recorded = recorded_profile(resource)
        if recorded != profile_of.get(address) and address not in used.get(recorded, []):
            used.setdefault(recorded, []).append(address)
    for name, addresses in used.items():
        if name not in providers and name != DEFAULT_PROVIDER:
            raise _undeclared(name, providers, addresses)
    return used


def _profile_clients(ctx: AppContext, stack: contextlib.ExitStack, used: Mapping[str, list[str]],
                     providers: Mapping[str, Provider], settings: Mapping[str, dict[str, Any]],
                     profile_of: Mapping[str, str], admin_for: list[str], identity_check: Callable[[str], Any], *,
                     insecure_http: bool, out: Out | None) -> tuple[dict[str, Any], set[str]]:
    """Profile -> its data-plane client (its identity checked by `identity_check(profile)`), and the
    profiles whose client holds an admin key."""
    from reconciler.cli import runtime

    clients: dict[str, Any] = {}
    admins: set[str] = set()
    for name in sorted(used):
        if name not in providers:  # the implicit default: today's client from OPENAI_*
            client = stack.enter_context(runtime.api_client(
                ctx, admin_for=[a for a in admin_for if profile_of.get(a) == name],
                insecure_http=insecure_http, out=out))
            if ctx.sandbox or ctx.env.get("OPENAI_ADMIN_KEY"):
                admins.add(name)
        else:
            client = _profile_client(ctx, stack, settings[name], insecure_http)
            if settings[name]["admin"]:
                admins.add(name)
        client.on_identity = identity_check(name)
        clients[name] = client
    return clients, admins


@contextlib.contextmanager
def open_clients(ctx: AppContext, specs: SpecSet, state: State, where: str, *, admin_for: list[str],
                 insecure_http: bool, out: Out | None) -> Iterator[Any]:
    """The run's client: one per profile the specs and the state use, each identity checked against
    the state's (`identity.py`), or today's single client when no profile is used."""
    from reconciler.cli import runtime

    if not uses_profiles(specs, state):
        with runtime.api_client(ctx, admin_for=admin_for, insecure_http=insecure_http, out=out) as client:
            runtime.bind_identity(client, state, where)
            yield client
        return

    from reconciler.api.profiles import ProfileClients
    from reconciler.identity import check_profile_identity

    profile_of = profiles_of(specs, state)
    providers: Mapping[str, Provider] = specs.providers
    refuse_provider_problems(ctx, providers.values())
    used = _profiles_used(profile_of, state, providers)
    admin_needed = {profile_of.get(a, DEFAULT_PROVIDER) for a in admin_for}

    with contextlib.ExitStack() as stack:
        handle = _sandbox(ctx, stack, [providers[n] for n in used if n in providers])
        # Every key first: a missing variable is refused before any client exists, let alone a request.
        settings: dict[str, dict[str, Any]] = {}
        for name in sorted(used):
            if name in providers:
                settings[name] = _provider_settings(ctx, providers[name], name in admin_needed, used[name], handle)
        clients, admins = _profile_clients(
            ctx, stack, used, providers, settings, profile_of, admin_for,
            lambda name: _binder(state, name, where, check_profile_identity), insecure_http=insecure_http, out=out)
        arm = {name: _arm_client(ctx, stack, providers[name], handle, insecure_http)
               for name in sorted(used) if name in providers and providers[name].arm}
        yield ProfileClients(clients, profile_of, owners=_owners(state), admins=admins, arm=arm)


SANDBOX_MANAGEMENT_TOKEN = "sandbox-management-token"
ARM_SCOPE = "https://management.azure.com/.default"


def _arm_client(ctx: AppContext, stack: contextlib.ExitStack, provider: Provider, handle: Any,
                insecure_http: bool) -> Any:
    """One Provider's Azure Resource Manager client (Deployments): the bearer token from
    `management_token_env`, else Microsoft Entra ID through azure-identity; never printed."""
    from reconciler.api.arm import DEFAULT_MANAGEMENT_URL, ArmAccount, ArmClient
    from reconciler.cli.endpoints import operator_prefixes
    from reconciler.config.endpoints import allowed_by, parse_prefix

    fields = dict(provider.arm or {})
    account = ArmAccount(fields["subscription_id"], fields["resource_group"], fields["account"])
    if handle is not None:   # --sandbox: the Azure sandbox serves ARM beside its data plane
        url = handle["azure"].url
        token = ctx.env.get("AZURE_MANAGEMENT_TOKEN") or SANDBOX_MANAGEMENT_TOKEN
    else:
        url = fields.get("management_url") or DEFAULT_MANAGEMENT_URL
        if url.rstrip("/") != DEFAULT_MANAGEMENT_URL and not allowed_by(
                url, (parse_prefix(DEFAULT_MANAGEMENT_URL), *operator_prefixes(ctx))):
            raise ConfigError(f"{provider.where('management_url')}: {provider.address}: management_url {url} is not "
                              "the public Azure Resource Manager endpoint nor under a prefix the operator lists in "
                              "RECONCILER_ALLOWED_BASE_URLS; nothing was sent")
        variable = fields.get("management_token_env")
        if variable:
            token = ctx.env.get(variable) or ""
            if not token:
                raise ConfigError(f"{provider.where('management_token_env')}: {provider.address}: {variable} is not "
                                  "set (management_token_env): export a bearer token for "
                                  "https://management.azure.com (az account get-access-token); nothing was sent")
        else:
            token = _entra_token(provider)
    register_secret(token)
    client = ArmClient(url, token, account, insecure_http=insecure_http)
    stack.callback(client.close)
    return client


def _entra_token(provider: Provider) -> str:
    try:
        from azure.identity import DefaultAzureCredential  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise ConfigError(f"{provider.where()}: {provider.address}: Deployments need a bearer token for Azure "
                          "Resource Manager: set management_token_env, or install azure-identity for Microsoft "
                          "Entra ID") from None
    try:
        token: str = DefaultAzureCredential().get_token(ARM_SCOPE).token
    except Exception as exc:  # azure-identity raises its own error types; one line, never the token
        raise ConfigError(f"{provider.address}: Microsoft Entra ID gave no token for {ARM_SCOPE} "
                          f"({type(exc).__name__}); sign in (az login) or set management_token_env") from None
    return token


def _sandbox(ctx: AppContext, stack: contextlib.ExitStack, providers: list[Provider]) -> Any:
    """With --sandbox, the built-in sandbox with one project per Provider (its key is
    SANDBOX_KEY_PREFIX + name) beside the default one, and, when an azure Provider is used, a
    second sandbox answering as Azure OpenAI (`flavor="azure"`, its own world file): platform ->
    handle. None without --sandbox."""
    if not ctx.sandbox:
        return None
    from reconciler.cli import runtime
    from reconciler_sandbox import run_sandbox

    keys = {SANDBOX_KEY_PREFIX + p.name: (p.project or f"proj_{p.name}") for p in providers if p.type == "openai"}
    keys[runtime.SANDBOX_PROJECT_KEY] = "proj_sandbox"
    speed, _ = runtime.sandbox_speed(ctx)
    now = runtime.sandbox_now(ctx)
    handles = {}
    if any(p.type == "openai" for p in providers):
        handles["openai"] = stack.enter_context(run_sandbox(data=runtime.sandbox_world(ctx),
                                                            speed=speed, project_keys=keys, now=now))
    if any(p.type == "azure" for p in providers):
        handles["azure"] = stack.enter_context(run_sandbox(
            data=runtime.sandbox_world(ctx, "azure"), speed=speed, now=now, flavor="azure",
            azure_key=SANDBOX_AZURE_KEY))
    return handles


def _profile_client(ctx: AppContext, stack: contextlib.ExitStack, settings: dict[str, Any],
                    insecure_http: bool) -> Any:
    """One Provider's client from its `_provider_settings`, closed with `stack`."""
    from reconciler.api import ApiClient
    from reconciler.api.client import client_options_from_env

    client = ApiClient(settings["base_url"], settings["key"] or settings["admin"], settings["admin"],
                       settings["organization"], settings["project"], insecure_http=insecure_http,
                       sources=settings["sources"], azure=settings.get("azure"), **client_options_from_env(ctx.env))
    stack.callback(client.close)
    return client


def _binder(state: State, name: str, where: str, check: Any) -> Any:
    def on_identity(reported: Any) -> None:
        check(state, name, reported, where=where)

    return on_identity


def _provider_settings(ctx: AppContext, provider: Provider, admin_needed: bool, addresses: list[str],
                       handle: Any) -> dict[str, Any]:
    """One profile's key, admin key, base URL, organization and project; a variable it needs that is
    unset is one line naming the variable and where the Provider says so (never a value)."""
    from reconciler.cli import runtime

    if provider.type == "azure":
        return _azure_settings(ctx, provider, addresses, handle)
    if handle is not None:
        handle = handle["openai"]
        return {"base_url": handle.base_url, "key": SANDBOX_KEY_PREFIX + provider.name,
                "admin": runtime.SANDBOX_ADMIN_KEY, "organization": None,
                "project": provider.project or f"proj_{provider.name}", "sources": {}}
    key = ctx.env.get(provider.api_key_env) if provider.api_key_env else None
    admin = ctx.env.get(provider.admin_key_env) if provider.admin_key_env else None
    if provider.api_key_env and not key:
        raise ConfigError(f"{provider.where('api_key_env')}: {provider.address}: {provider.api_key_env} is not set "
                          f"(api_key_env; needed by {addresses[0]}"
                          f"{f' and {len(addresses) - 1} more' if len(addresses) > 1 else ''}): export it with "
                          "this project's API key; nothing was sent")
    if admin_needed and not admin:
        variable = provider.admin_key_env
        where = provider.where("admin_key_env") if variable else provider.where()
        raise ConfigError(f"{where}: {provider.address}: checkpoint permissions need an admin key: "
                          + (f"{variable} is not set (admin_key_env)" if variable else
                             "add admin_key_env naming the variable that holds it")
                          + "; nothing was sent")
    register_secret(key)
    register_secret(admin)
    base_url = provider.base_url or ctx.env.get("OPENAI_BASE_URL") or runtime.DEFAULT_BASE_URL
    sources = {"api_key": provider.api_key_env or provider.admin_key_env or "the Provider's key",
               "admin_key": provider.admin_key_env or "admin_key_env",
               "base_url": f"{provider.address}'s base_url ({provider.where('base_url')})" if provider.base_url else
               ("OPENAI_BASE_URL" if ctx.env.get("OPENAI_BASE_URL") else "the base URL")}
    return {"base_url": base_url, "key": key, "admin": admin, "organization": provider.organization,
            "project": provider.project, "sources": sources}


def _azure_settings(ctx: AppContext, provider: Provider, addresses: list[str], handles: Any) -> dict[str, Any]:
    """An azure Provider's endpoint, key (or Entra ID token provider) and API version."""
    from reconciler.api.azure import AzureDataPlane, azure_base_url

    if handles is not None:
        return {"base_url": azure_base_url(handles["azure"].url), "key": SANDBOX_AZURE_KEY, "admin": None,
                "organization": None, "project": None, "sources": {},
                "azure": AzureDataPlane(api_version=provider.api_version)}
    assert provider.endpoint is not None
    sources = {"api_key": provider.api_key_env or "auth: entra",
               "base_url": f"{provider.address}'s endpoint ({provider.where('endpoint')})"}
    if provider.auth == "entra":
        token = entra_token_provider(provider)
        return {"base_url": azure_base_url(provider.endpoint), "key": None, "admin": None, "organization": None,
                "project": None, "sources": sources,
                "azure": AzureDataPlane(api_version=provider.api_version, token=token)}
    key = ctx.env.get(provider.api_key_env) if provider.api_key_env else None
    if not key:
        raise ConfigError(f"{provider.where('api_key_env')}: {provider.address}: {provider.api_key_env} is not set "
                          f"(api_key_env; needed by {addresses[0]}"
                          f"{f' and {len(addresses) - 1} more' if len(addresses) > 1 else ''}): export it with "
                          "the Azure OpenAI resource's key; nothing was sent")
    register_secret(key)
    return {"base_url": azure_base_url(provider.endpoint), "key": key, "admin": None, "organization": None,
            "project": None, "sources": sources, "azure": AzureDataPlane(api_version=provider.api_version)}


_ENTRA: dict[str, Any] = {}   # one credential per process: its token cache serves every client of the run
_ENTRA_LOCK = threading.Lock()


def entra_token_provider(provider: Provider) -> Any:
    """A Microsoft Entra ID bearer-token provider for the Azure OpenAI scope: azure-identity's
    DefaultAzureCredential (its environment variables: AZURE_CLIENT_ID / AZURE_TENANT_ID /
    AZURE_CLIENT_SECRET, workload or managed identity, the Azure CLI's login, …), which caches the
    token in memory and renews it before it expires. One per process, shared by its clients."""
    with _ENTRA_LOCK:
        if "default" not in _ENTRA:
            _ENTRA["default"] = _new_token_provider(provider)
        return _ENTRA["default"]


def _new_token_provider(provider: Provider) -> Any:
    from reconciler.api.azure import ENTRA_SCOPE

    try:
        from azure.identity import DefaultAzureCredential, get_bearer_token_provider
    except ImportError:
        raise ConfigError(f"{provider.where('auth')}: {provider.address}: auth: entra needs the azure-identity "
                          "package (pip install azure-identity)") from None
    credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    fetch = get_bearer_token_provider(credential, ENTRA_SCOPE)
    lock = threading.Lock()

    def token() -> str:
        # azure-core's policy is not thread-safe: parallel reads would each ask for a token at once
        with lock:
            return str(fetch())

    return token


def provider_reviews(ctx: AppContext, specs: SpecSet, state: State, client: Client) -> tuple[Any, ...]:
    """Where this run sends keys, per Provider document (planner/providers.py), for the plan to show:
    computed before the run's first answer records any account in the state."""
    from reconciler.cli import runtime
    from reconciler.planner.providers import review_providers

    providers: Mapping[str, Provider] = specs.providers
    if not providers:
        return ()
    if ctx.sandbox:
        default, source = str(getattr(client, "base_url", "the sandbox")), "sandbox"
    elif ctx.env.get("OPENAI_BASE_URL"):
        default, source = ctx.env["OPENAI_BASE_URL"], "OPENAI_BASE_URL"
    else:
        default, source = runtime.DEFAULT_BASE_URL, "default"
    urls = {name: str(c.base_url) for name, c in getattr(client, "clients", {}).items()} if ctx.sandbox else None
    return review_providers(providers, state, profiles_of(specs, state), default_base_url=default,
                            default_source=source, sandbox_urls=urls)


# -- saved plans ---------------------------------------------------------------------------------
# A saved plan records which provider profile each of its changes goes to and what each profile
# was (variable names, project, organization, base URL: never a key), and `apply PLANFILE` refuses
# when the spec folder it runs beside says otherwise. Without it, a plan made with `provider:
# team_a` and applied from another folder (or after Provider.team_a moved to another project) would
# create its jobs with whatever the folder there says: the default OPENAI_* project, or another one.
SAVED_KEY = "providers"


# What a field is when a plan does not record it: its default (an OpenAI Provider records only
# OpenAI's five fields).
_UNRECORDED: dict[str, str | None] = {"type": "openai"}


def _full(provider: Provider) -> dict[str, str | None]:
    return {field: getattr(provider, field) for field in PROVIDER_FIELDS}


def _record(provider: Provider) -> dict[str, str | None]:
    return {field: value for field, value in _full(provider).items()
            if field in OPENAI_FIELDS or value != _UNRECORDED.get(field)}


def _planned_addresses(plan: Plan) -> list[str]:
    return sorted({c.address for c in plan.actionable} | set(plan.imports) | {new for _old, new in plan.moves})


def saved_plan_providers(specs: SpecSet, state: State, plan: Plan) -> dict[str, Any] | None:
    """What a saved plan records of the profiles (None when none is used: nothing is recorded)."""
    if not uses_profiles(specs, state):
        return None
    profile_of = profiles_of(specs, state)
    addresses = {address: profile_of.get(address, DEFAULT_PROVIDER) for address in _planned_addresses(plan)}
    providers: Mapping[str, Provider] = specs.providers
    return {"addresses": addresses,
            "profiles": {name: _record(providers[name]) for name in sorted(set(addresses.values()))
                         if name in providers}}


def check_saved_plan_providers(plan_file: Any, plan: Plan, recorded: Any, specs: SpecSet, state: State,
                               folder: Any) -> None:
    """Refuse (StalePlanError, one line) a saved plan whose changes the spec folder here would send
    to another profile than the plan was made with, or whose profiles changed since."""
    from reconciler.errors import StalePlanError

    profile_of = profiles_of(specs, state)
    providers: Mapping[str, Provider] = specs.providers
    if not isinstance(recorded, dict):
        # made without profiles (or by a version that did not record them): the folder here must
        # not route any of its changes to a profile
        moved = [(a, profile_of[a]) for a in _planned_addresses(plan)
                 if profile_of.get(a, DEFAULT_PROVIDER) != DEFAULT_PROVIDER]
        if moved:
            address, name = moved[0]
            raise StalePlanError(f"{plan_file.name}: made without provider profiles (or by an older version), but "
                                 f"the spec folder here ({folder}) puts {address} in provider {name!r}: make a "
                                 "new plan")
        return
    addresses = recorded.get("addresses")
    addresses = addresses if isinstance(addresses, dict) else {}
    for address, name in sorted(addresses.items()):
        now = profile_of.get(address, DEFAULT_PROVIDER)
        if now != name:
            if folder is not None:
                why = f"the spec folder here ({folder}) puts it in {now!r}"
            else:
                why = f"there is no spec folder here to say which project it goes to (it would go to {now!r})"
            raise StalePlanError(f"{plan_file.name}: {address} was planned in provider {name!r}, but {why}: apply "
                                 "the plan beside the specs it was made from (-C DIR), or make a new plan")
    profiles = recorded.get("profiles")
    profiles = profiles if isinstance(profiles, dict) else {}
    for name, then in sorted(profiles.items()):
        provider = providers.get(name)
        if provider is None:
            raise StalePlanError(f"{plan_file.name}: planned with Provider.{name}, which the spec folder here "
                                 f"({folder}) does not declare: apply the plan beside the specs it was made "
                                 "from (-C DIR), or make a new plan")
        now_record = _full(provider)
        changed = [f for f in PROVIDER_FIELDS
                   if isinstance(then, dict) and then.get(f, _UNRECORDED.get(f)) != now_record[f]]
        if changed:
            field = changed[0]
            raise StalePlanError(f"{plan_file.name}: {provider.where(field)}: Provider.{name} changed since the "
                                 f"plan was made ({field}: {then.get(field)!r} → {now_record[field]!r}): make a "
                                 "new plan")


def probe_profile_identity(ctx: AppContext, specs: SpecSet, name: str, *, insecure_http: bool) -> Any:
    """The account one provider profile's key reaches now (one small read; `state rebind
    --provider`), with the client open_clients would build for it."""
    from reconciler.config.providers import _suggest

    providers: Mapping[str, Provider] = specs.providers
    if name not in providers:
        raise ConfigError(f"no Provider document named {name!r} in {ctx.dir}{_suggest(name, sorted(providers))} "
                          f"(declared: {', '.join(sorted(providers)) or 'none'})")
    provider = providers[name]
    refuse_provider_problems(ctx, [provider])
    with contextlib.ExitStack() as stack:
        settings = _provider_settings(ctx, provider, False, [provider.address], _sandbox(ctx, stack, [provider]))
        if not (settings["key"] or settings["admin"]):
            raise ConfigError(f"{provider.where()}: {provider.address} names no key variable (api_key_env or "
                              "admin_key_env): nothing to ask the API with")
        return _profile_client(ctx, stack, settings, insecure_http).probe_identity()
