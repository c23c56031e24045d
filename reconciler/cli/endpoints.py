"""Where a run may send API keys, checked against the operator's environment before any client
exists: a Provider document's base_url must be allowed from outside the specs (the platforms'
public endpoints, OPENAI_BASE_URL, RECONCILER_ALLOWED_BASE_URLS), and the variables it names must
hold keys of the platform. The rules are config/endpoints.py's; this module reads the environment."""

from __future__ import annotations

import contextlib
from typing import Any

from reconciler.cli.context import AppContext
from reconciler.config.endpoints import (
    NOT_A_KEY,
    UrlPrefix,
    key_problem,
    not_a_key_variable,
    parse_prefix,
    parse_prefixes,
    url_problem,
)
from reconciler.config.providers import Provider
from reconciler.errors import ConfigError, SpecError

__all__ = ["ALLOWED_VARIABLE", "operator_prefixes", "provider_problems", "refuse_provider_problems"]

ALLOWED_VARIABLE = "RECONCILER_ALLOWED_BASE_URLS"


def operator_prefixes(ctx: AppContext) -> tuple[UrlPrefix, ...]:
    """The base URLs the operator allows from outside the specs: RECONCILER_ALLOWED_BASE_URLS and
    OPENAI_BASE_URL (the platforms' public endpoints are allowed by config/endpoints.py itself)."""
    try:
        prefixes = parse_prefixes(ctx.env.get(ALLOWED_VARIABLE))
    except ValueError as exc:
        raise ConfigError(f"{ALLOWED_VARIABLE}: {exc}; expected comma-separated URL prefixes such as "
                          "https://llm-gateway.example.com/v1") from None
    own = ctx.env.get("OPENAI_BASE_URL")
    if own:
        with contextlib.suppress(ValueError):  # a malformed OPENAI_BASE_URL is the client's to report
            prefixes += (parse_prefix(own, wildcard=False),)
    return prefixes


def _other_secret(ctx: AppContext, value: str) -> str | None:
    """The variable of another kind of secret that holds exactly `value`, if any."""
    for name, content in ctx.env.items():
        if content and content == value and not_a_key_variable(name):
            return name
    return None


def provider_problems(ctx: AppContext, providers: Any) -> list[SpecError]:
    """Every Provider whose base_url the operator does not allow, or whose key variable (when set)
    holds no key of its platform: one SpecError each, in file order. With --sandbox nothing in a
    Provider is read (the sandbox's own URL and keys are used): nothing to refuse."""
    if ctx.sandbox:
        return []
    operator = operator_prefixes(ctx)
    problems: list[SpecError] = []
    for provider in sorted(providers, key=lambda p: (p.file or "", p.line or 0)):
        def problem(field: str, message: str, provider: Provider = provider) -> None:
            line = (provider.positions or {}).get(f"spec.{field}", provider.line)
            problems.append(SpecError(provider.file or "the environment", line, message, provider.address,
                                      f"spec.{field}"))

        if provider.url and (why := url_problem(provider.url, provider.platform, operator)):
            problem(provider.url_field, why)
        for role in ("api_key", "admin_key"):
            variable = getattr(provider, f"{role}_env")
            value = ctx.env.get(variable) if variable else None
            if not value:
                continue  # unset: refused when needed, naming the variable (_provider_settings)
            other = _other_secret(ctx, value)
            shape = key_problem(provider.platform, role, value)
            if other is not None:
                problem(f"{role}_env", f"{variable} holds the value of {other} ({NOT_A_KEY.get(other) or 'another secret'}), "
                        "not an API key; nothing was sent")
            elif shape is not None:
                problem(f"{role}_env", f"{variable} {shape}; nothing was sent")
    return problems


def refuse_provider_problems(ctx: AppContext, providers: Any) -> None:
    """The first of `provider_problems`, raised (one line), before any client exists."""
    problems = provider_problems(ctx, providers)
    if problems:
        raise problems[0]
