"""A policy report as text (aligned, colour only through the caller's `style`) and Markdown (the
one-line refusal `apply` raises is policy/engine.py's `refusal`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from reconciler.policy.engine import PolicyReport, PolicyResult
from reconciler.render.escape import md_code, md_text

__all__ = ["iter_policy_lines", "policy_markdown"]

_MARK = {"pass": "✓", "warn": "!", "deny": "✗", "overridden": "↷"}
_COLOUR = {"pass": "green", "warn": "yellow", "deny": "red", "overridden": "magenta"}
_SHOWN = 3


def _plain(text: str, **_: Any) -> str:
    return text


def headline(report: PolicyReport) -> str:
    results = report.results
    passed = sum(1 for r in results if r.passed)
    parts = [f"{passed} passed"]
    for label, items in (("warning", report.warned), ("denied", report.denied), ("overridden", report.overridden)):
        if items:
            parts.append(f"{len(items)} {label}{'s' if label == 'warning' and len(items) != 1 else ''}")
    return f"Policies: {', '.join(parts)}"


def _rows(report: PolicyReport) -> list[tuple[str, str, str, str]]:
    """(outcome, rule, object(s), text): failures one by one, passes one row per rule."""
    rows: list[tuple[str, str, str, str]] = []
    passes: dict[str, list[str]] = {}
    details: dict[str, str] = {}
    for r in report.results:
        if r.passed:
            passes.setdefault(r.rule, []).append(r.address)
            if r.detail:
                details[r.rule] = r.detail  # a budget: how far the plan is from it
    for rule, addresses in passes.items():
        shown = ", ".join(addresses[:_SHOWN])
        more = f" and {len(addresses) - _SHOWN} more" if len(addresses) > _SHOWN else ""
        rows.append(("pass", rule, shown + more, details.get(rule, "")))
    for r in report.results:
        if not r.passed:
            rows.append((r.outcome, r.rule, r.address, _text(r)))
    return rows


def _text(r: PolicyResult) -> str:
    text = f"{r.message}{': ' + r.detail if r.detail else ''} ({r.where})"
    if r.override is not None:
        text += f"; overridden by {r.override.get('by')}: {r.override.get('reason')}"
    return text


def iter_policy_lines(report: PolicyReport, style: Callable[..., str] = _plain) -> Iterator[str]:
    if not report.results:
        return
    yield ""
    yield style(headline(report), bold=True)
    rows = _rows(report)
    width_outcome = max(len(o) for o, *_ in rows)
    width_rule = max(len(rule) for _, rule, *_ in rows)
    width_object = max(len(obj) for _, _, obj, _ in rows)
    for outcome, rule, obj, text in rows:
        head = f"{_MARK[outcome]} {outcome:<{width_outcome}}"
        line = f"  {style(head, fg=_COLOUR[outcome])}  {rule:<{width_rule}}  {obj:<{width_object}}"
        yield (line + f"  {text}" if text else line).rstrip()


def policy_markdown(report: PolicyReport) -> str:
    if not report.results:
        return ""
    lines = ["", f"#### {headline(report)}", "", "| result | rule | object | message |", "|---|---|---|---|"]
    for outcome, rule, obj, text in _rows(report):
        lines.append(f"| {_MARK[outcome]} {outcome} | {md_code(rule, table=True)} | {md_code(obj, table=True)} | "
                     f"{md_text(text)} |")
    return "\n".join(lines) + "\n"
