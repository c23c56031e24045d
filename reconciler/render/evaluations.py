"""Evaluations (`kind: Evaluation`) as plan and drift show them: text lines (aligned, colour only
through the caller's `style`) and a Markdown table. Statuses: reconciler/recording/status.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from reconciler.render.escape import md_code, md_text

__all__ = ["evaluation_markdown", "iter_evaluation_lines", "running_cost"]

_MARK = {"pass": "✓", "fail": "✗", "stale": "!", "missing": "?", "pending": "…"}
_COLOUR = {"pass": "green", "fail": "red", "stale": "yellow", "missing": "yellow", "pending": "cyan"}


def _plain(text: str, **_: Any) -> str:
    return text


def running_cost(cost: Mapping[str, Any] | None) -> str:
    """What running the comparison would cost, never a made-up $0 for an unknown price."""
    if cost is None:
        return ""
    if cost.get("usd_max") is None:
        return f"cost unknown: {cost.get('reason')}"
    return f"at most ${cost['usd_max']:,.4f}"


def _detail(s: Any) -> str:
    text = str(s.message)
    if s.compared_at and s.status in ("pass", "fail"):
        text += f" on {s.compared_at}"
    text += f" ({s.grader})"
    if s.status in ("stale", "missing") and s.cost is not None:
        text += f"; run `{s.command}`: {running_cost(s.cost)}"
    return text


def iter_evaluation_lines(statuses: Sequence[Any], style: Callable[..., str] = _plain) -> Iterator[str]:
    if not statuses:
        return
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s.status] = counts.get(s.status, 0) + 1
    yield ""
    yield style("Evaluations: " + ", ".join(f"{n} {k}" for k, n in counts.items()), bold=True)
    width_status = max(len(s.status) for s in statuses)
    width_address = max(len(s.address) for s in statuses)
    for s in statuses:
        head = f"{_MARK[s.status]} {s.status:<{width_status}}"
        yield f"  {style(head, fg=_COLOUR[s.status])}  {s.address:<{width_address}}  {_detail(s)}"


def evaluation_markdown(statuses: Sequence[Any]) -> str:
    if not statuses:
        return ""
    lines = ["", "#### Evaluations", "", "| status | evaluation | detail |", "|---|---|---|"]
    for s in statuses:
        lines.append(f"| {_MARK[s.status]} {s.status} | {md_code(s.address, table=True)} | "
                     f"{md_text(_detail(s))} |")
    return "\n".join(lines) + "\n"
