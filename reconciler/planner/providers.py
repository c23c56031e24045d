"""Where a run sends API keys, for review: every `kind: Provider` document of the spec folder with
the URL its keys go to, the variables they are read from, its organization and project, and
what differs from the account the state last reached through that profile.

A Provider is not a resource (nothing is created for it), but a pull request that adds one, or
points one at another URL, decides where the CI's keys are sent. So every plan (text, JSON,
Markdown) shows them, and marks a profile the state has never reached as new and one whose
declared URL, organization or project differs from what the state recorded as changed. The state
records no key variable names (only the account that answered), so those are shown, not compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.config.providers import DEFAULT_PROVIDER, Provider
from reconciler.identity import normalise_base_url

__all__ = ["ProviderReview", "review_providers"]


@dataclass(frozen=True)
class ProviderReview:
    name: str
    where: str                     # file:line of the document
    base_url: str                  # where its keys are sent
    base_url_source: str           # "spec", "OPENAI_BASE_URL", "default" or "sandbox"
    api_key_env: str | None
    admin_key_env: str | None
    organization: str | None
    project: str | None
    status: str                    # "new", "changed" or "unchanged"
    changes: tuple[tuple[str, str | None, str | None], ...] = ()   # (field, recorded, declared)
    used_by: int = 0               # addresses (specs and state) in this profile
    type: str = "openai"           # the platform: openai or azure
    auth: str | None = None        # azure: "entra" (Microsoft Entra ID) instead of a key
    api_version: str | None = None  # azure: the api-version sent (None: the /openai/v1/ path)
    # Azure Resource Manager (Deployments): where the management token goes and where it comes from
    management_url: str | None = None
    management_token: str | None = None   # the variable, "Entra ID" or "sandbox"

    @property
    def address(self) -> str:
        return f"Provider.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "name": self.name, "where": self.where, "base_url": self.base_url,
                "base_url_source": self.base_url_source, "api_key_env": self.api_key_env,
                "admin_key_env": self.admin_key_env, "organization": self.organization, "project": self.project,
                "status": self.status, "used_by": self.used_by, "type": self.type, "auth": self.auth,
                "api_version": self.api_version,
                "changes": [{"field": f, "before": b, "after": a} for f, b, a in self.changes],
                **({"management_url": self.management_url, "management_token": self.management_token}
                   if self.management_url else {})}


def review_providers(providers: Mapping[str, Provider], state: Any, profile_of: Mapping[str, str], *,
                     default_base_url: str, default_source: str,
                     sandbox_urls: Mapping[str, str] | None = None) -> tuple[ProviderReview, ...]:
    """One review per Provider document, by name. `default_base_url` / `default_source`: where a
    Provider without base_url sends its keys (OPENAI_BASE_URL, the public API, or the sandbox);
    `sandbox_urls`: with the sandbox, each profile's own URL (an azure Provider's sandbox is another
    server). An azure Provider's keys go to its endpoint."""
    counts: dict[str, int] = {}
    for name in profile_of.values():
        counts[name] = counts.get(name, 0) + 1
    reviews = []
    for name in sorted(providers):
        provider = providers[name]
        if default_source == "sandbox":
            base_url, source = (sandbox_urls or {}).get(name, default_base_url), "sandbox"
        elif provider.url:
            base_url, source = provider.url, "spec"
        else:
            base_url, source = default_base_url, default_source
        recorded = state.api if name == DEFAULT_PROVIDER else state.provider_apis.get(name)
        changes = tuple(_differences(recorded, base_url, provider)) if recorded is not None else ()
        status = "new" if recorded is None else ("changed" if changes else "unchanged")
        reviews.append(ProviderReview(name, provider.where(), base_url, source, provider.api_key_env,
                                      provider.admin_key_env, provider.organization, provider.project, status,
                                      changes, counts.get(name, 0), provider.type, provider.auth,
                                      provider.api_version, *_management(provider, default_source)))
    return tuple(reviews)


def _management(provider: Provider, default_source: str) -> tuple[str | None, str | None]:
    if not provider.arm:
        return None, None
    if default_source == "sandbox":
        return "the built-in sandbox", "sandbox"
    from reconciler.api.arm import DEFAULT_MANAGEMENT_URL  # lazy: start-up (httpx)

    variable = provider.arm.get("management_token_env")
    return (provider.arm.get("management_url") or DEFAULT_MANAGEMENT_URL,
            f"{variable} (management_token_env)" if variable else "Microsoft Entra ID")


def _differences(recorded: Any, base_url: str, provider: Provider) -> Iterable[tuple[str, str | None, str | None]]:
    declared = {"base_url": normalise_base_url(base_url), "organization": provider.organization,
                "project": provider.project}
    for field, now in declared.items():
        then = getattr(recorded, field, None)
        if then is not None and now is not None and then != now:
            yield field, then, now
