"""The plan's Provider section (planner/providers.py) in text and Markdown: where API keys go.

Every value here comes from a spec file, that is from whoever wrote the pull request: in
Markdown each sits in a code span (never read as HTML or Markdown, `|` escaped for the table)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from reconciler.planner.providers import ProviderReview
from reconciler.render.escape import md_code

__all__ = ["provider_lines", "provider_markdown"]

_SOURCE = {"spec": "written in the spec", "OPENAI_BASE_URL": "OPENAI_BASE_URL", "default": "the public API",
           "sandbox": "the built-in sandbox"}
_MARK = {"new": "+", "changed": "~", "unchanged": " "}


def _plain(text: str, *_: Any, **__: Any) -> str:
    return text


def provider_lines(reviews: Iterable[ProviderReview], style: Callable[..., str] = _plain) -> Iterator[str]:
    reviews = list(reviews)
    if not reviews:
        return
    yield style("Providers (where this run sends API keys):", bold=True)
    for r in reviews:
        colour = {"new": "green", "changed": "yellow"}.get(r.status)
        note = {"new": ", new: the state has never reached it", "changed": ", changed"}.get(r.status, "")
        head = f"  {_MARK[r.status]} {r.address} ({r.where}{note})"
        yield style(head, fg=colour) if colour else head
        if r.type == "azure":
            version = f"api-version {r.api_version}" if r.api_version else "the /openai/v1/ path"
            yield f"      platform:      Azure OpenAI ({version})"
        label = "endpoint:" if r.type == "azure" else "base_url:"
        yield f"      {label:<15}{r.base_url} ({_SOURCE.get(r.base_url_source, r.base_url_source)})"
        yield f"      keys from:     {_keys(r)}"
        if r.management_url:
            yield f"      management:    {r.management_url} (token: {r.management_token})"
        if r.organization or r.project:
            yield f"      organization:  {r.organization or '-'}, project: {r.project or '-'}"
        for field, before, after in r.changes:
            yield style(f"      ~ {field}: {before} → {after}", fg="yellow")
        yield f"      used by:       {r.used_by} object(s) in specs or state"
    yield ""


def _keys(r: ProviderReview) -> str:
    parts = []
    if r.auth == "entra":
        parts.append("Microsoft Entra ID (auth: entra)")
    if r.api_key_env:
        parts.append(f"{r.api_key_env} (api_key_env)")
    if r.admin_key_env:
        parts.append(f"{r.admin_key_env} (admin_key_env)")
    return ", ".join(parts) or "-"


def _code(text: str | None) -> str:
    """`text` as a code span in a table cell (render/escape.py), `-` when there is none."""
    return md_code(text, table=True) if text else "-"


def provider_markdown(reviews: Iterable[ProviderReview]) -> list[str]:
    reviews = list(reviews)
    if not reviews:
        return []
    flagged = [r for r in reviews if r.status != "unchanged"]
    lines = ["", "**Providers: where this run sends API keys**" + (
        f" (⚠️ {len(flagged)} new or changed: check where the keys go)" if flagged else ""), "",
        "| | provider | base URL | keys from | organization / project |", "|---|---|---|---|---|"]
    for r in reviews:
        icon = {"new": "🆕", "changed": "⚠️"}.get(r.status, "")
        url = f"{_code(r.base_url)} ({_SOURCE.get(r.base_url_source, r.base_url_source)})"
        for field, before, after in r.changes:
            url += f"<br>{field}: {_code(before)} → {_code(after)}"
        keys = ", ".join([*(["Entra ID"] if r.auth == "entra" else []),
                          *(_code(v) for v in (r.api_key_env, r.admin_key_env) if v)]) or "-"
        if r.type == "azure":
            url = f"Azure OpenAI: {url}"
        lines.append(f"| {icon} | {_code(r.address)} | {url} | {keys} | {_code(r.organization)} / "
                     f"{_code(r.project)} |")
    return lines
