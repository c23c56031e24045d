"""`reconciler inventory` as text (aligned, coloured on a terminal), Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from typing import Any

from reconciler.inventory import Entry, summary
from reconciler.render.escape import csv_cell, md_code

__all__ = ["inventory_csv", "inventory_json", "inventory_markdown", "inventory_text"]

Style = Callable[..., str]
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
HEADER = ["address", "model", "base", "platform", "created", "serving end", "days left", "grants"]
# the last column also lists the deployments that serve the model (Azure)


def _plain(text: str, **_: Any) -> str:
    return text


def _days(e: Entry) -> str:
    if e.days_left is None:
        return "unknown"
    return "shut down" if e.shut_down else str(e.days_left)


def _cells(e: Entry) -> list[str]:
    return [e.address or "(unmanaged)", e.model, e.base, e.platform,
            e.created.strftime("%Y-%m-%d") if e.created else "—",
            e.serving_end.isoformat() if e.serving_end else "unknown", _days(e),
            ", ".join([*(g.project_id for g in e.grants), *(d.label() for d in e.deployments)]) or "—"]


def _closing(entries: Sequence[Entry], warn_days: int) -> str:
    n = summary(entries, warn_days)
    parts = [f"{n['models']} fine-tuned model{'s' if n['models'] != 1 else ''}"]
    if n["shut_down"]:
        parts.append(f"{n['shut_down']} shut down")
    if n["ending_soon"]:
        parts.append(f"{n['ending_soon']} stop{'s' if n['ending_soon'] == 1 else ''} answering within {warn_days} days")
    if n["unknown_end"]:
        parts.append(f"{n['unknown_end']} with no known end date")
    if n["unmanaged"]:
        parts.append(f"{n['unmanaged']} unmanaged")
    return "; ".join(parts) + "."


def inventory_text(entries: Sequence[Entry], warn_days: int, style: Style = _plain) -> str:
    if not entries:
        return "No fine-tuned models.\n"
    rows = [_cells(e) for e in entries]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if h == "days left" else c.ljust(w)
                         for c, w, h in zip(cells, widths, HEADER, strict=True)).rstrip()

    out = [style(line(HEADER), bold=True)]
    for e, cells in zip(entries, rows, strict=True):
        text = line(cells)
        if e.shut_down:
            text = style(text, fg="red")
        elif e.days_left is not None and e.days_left <= warn_days:
            text = style(text, fg="yellow")
        out.append(text)
    out += ["", style(_closing(entries, warn_days), bold=True)]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """A table cell: an API value as a code span (render/escape.py); our own words as they are."""
    if text in ("—", "unknown", "shut down", "(unmanaged)") or text.isdigit() or _DAY.fullmatch(text):
        return text
    return md_code(text, table=True)


def inventory_markdown(entries: Sequence[Entry], warn_days: int) -> str:
    out = ["### Fine-tuned models", ""]
    if not entries:
        return "\n".join(out + ["No fine-tuned models."]) + "\n"
    out += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * (len(HEADER) - 2) + "--:|---|"]
    for e in entries:
        cells = _cells(e)
        marker = " ⛔" if e.shut_down else (" ⚠️" if e.days_left is not None and e.days_left <= warn_days else "")
        cells = [_md(c) for c in cells]
        cells[6] += marker
        out.append("| " + " | ".join(cells) + " |")
    out += ["", f"**{_closing(entries, warn_days)}**"]
    return "\n".join(out) + "\n"


def inventory_csv(entries: Sequence[Entry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["address", "model", "base", "platform", "job_id", "status", "created", "serving_end",
                     "serving_end_source", "days_left", "grants", "deployments"])
    for e in entries:
        d = e.to_dict()
        writer.writerow([csv_cell(v) for v in (d["address"] or "", d["model"], d["base"], d["platform"], d["job_id"],
                                             d["status"], d["created"] or "", d["serving_end"] or "",
                                             d["serving_end_source"] or "",
                                             "" if d["days_left"] is None else d["days_left"],
                                             " ".join(g["project_id"] for g in d["grants"]),
                                             " ".join(s["name"] for s in d["deployments"]))])
    return buffer.getvalue()


def inventory_json(entries: Sequence[Entry], warn_days: int, today: str) -> dict[str, Any]:
    return {"version": 1, "today": today, "warn_days": warn_days, "summary": summary(entries, warn_days),
            "models": [e.to_dict() for e in entries]}
