"""Cost lines of a plan (text and Markdown) and the spend report of `reconciler cost`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reconciler.cost.estimate import JobCost, PlanCost
from reconciler.cost.hosting import HOURS_PER_MONTH, HostingCost
from reconciler.cost.spend import SpendRow
from reconciler.render.escape import csv_cell, md_code, md_text
from reconciler.secrets import neutralize

__all__ = ["change_line", "markdown_lines", "money", "money_sum", "spend_csv", "spend_json", "spend_markdown", "spend_text",
           "tokens_short", "total_line"]

Style = Callable[..., str]


def _plain(text: str, **_: Any) -> str:
    return text


def money(usd: float) -> str:
    if 0 < usd < 0.005:
        return "<$0.01"
    return f"${usd:,.2f}"


def money_sum(known: float, unknown: int, count: int, *, counted: bool = True) -> str:
    """A sum of `count` figures of which `unknown` are not known, never shown as if complete:
    `$1.23`; `≥ $1.23 (2 unknown)` (`≥ $1.23` when not `counted`: a table with its own unknown
    column); `unknown` when no figure is known."""
    if not unknown:
        return money(known)
    if unknown >= count:
        return "unknown"
    return f"≥ {money(known)}" + (f" ({unknown} unknown)" if counted else "")


def group_money(group: Mapping[str, Any]) -> str:
    """A spend group's cell (cost/spend.py group_spend): `usd` is None when nothing is known."""
    usd = group.get("usd")
    return money_sum(float(usd or 0.0), int(group.get("unknown") or 0), int(group.get("jobs") or 0), counted=False)


def tokens_short(n: int) -> str:
    """1,234 / 12.3K / 1.2M"""
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1000:.1f}K".replace(".0K", "K")
    return f"{n / 1_000_000:.1f}M".replace(".0M", "M")


def _epochs(job: JobCost) -> str:
    return f"auto (→ {job.epochs})" if job.epochs_auto else str(job.epochs)


def _price(job: JobCost) -> str:
    if job.price is None:
        return ""
    return f"{money(job.price.usd)} / {job.price.per}"


def describe(job: JobCost) -> str:
    """`$0.04 = 12 examples, 1,234 tokens/epoch × auto (→ 9) epochs = 11,106 billed tokens at $3.00 / 1M tokens`"""
    figures = ""
    if job.tokens_per_epoch is not None and job.epochs is not None and job.billed_tokens is not None:
        figures = (f"{job.examples:,} examples, {job.tokens_per_epoch:,} tokens/epoch × {_epochs(job)} epoch{'s' if job.epochs != 1 else ''}"
                   f" = {job.billed_tokens:,} billed tokens")
    if job.known and job.usd is not None:
        return f"{money(job.usd)} ({figures} at {_price(job)})"
    if job.price is not None and job.price.hourly:
        return f"unknown: {_price(job)}, {job.reason}"
    return f"unknown: {job.reason}" + (f" ({figures})" if figures else "")


def describe_hosting(h: HostingCost) -> str:
    """`$1,241.00 / month ($1.70 / hour × 730 hours, standard; source …)` or `unknown: …`"""
    if h.usd is None or h.usd_per_hour is None:
        return f"unknown: {h.reason}"
    source = f"; {h.price.origin}: {h.price.source}" if h.price is not None and h.price.source else ""
    return f"{money(h.usd)} / month ({money(h.usd_per_hour)} / hour × {HOURS_PER_MONTH} hours, {h.sku}{source})"


def change_line(job: JobCost | HostingCost, indent: str = "      ", style: Style = _plain) -> str:
    if isinstance(job, HostingCost):
        return f"{indent}  {style('$', fg='cyan')} estimated hosting: {describe_hosting(job)}"
    return f"{indent}  {style('$', fg='cyan')} estimated cost: {describe(job)}"


def hosting_line(cost: PlanCost) -> str:
    """`Estimated hosting: $1,241.00 / month (1 deployment)`; counted in the plan's total."""
    n = len(cost.hosting)
    unknown = [h for h in cost.hosting if not h.known]
    parts = [f"{n} deployment{'s' if n != 1 else ''}"]
    if unknown:
        parts.append(f"{len(unknown)} unknown: " + "; ".join(f"{h.address}: {h.reason}" for h in unknown[:3]))
    amount = money(cost.hosting_usd) + " / month" if len(unknown) < n else "unknown"
    if unknown and len(unknown) < n:
        amount = f"at least {amount}"
    return f"Estimated hosting: {amount} ({'; '.join(parts)})"


def total_line(cost: PlanCost) -> str:
    """`Estimated training cost: $12.40 (2 jobs; 1 replacement retrains 1.2M tokens)`, and a line of
    hosting when the plan creates deployments."""
    if not cost.jobs:
        return hosting_line(cost)
    training = _training_line(cost)
    return training + ("\n" + hosting_line(cost) if cost.hosting else "")


def _training_line(cost: PlanCost) -> str:
    n = len(cost.jobs)
    parts = [f"{n} job{'s' if n != 1 else ''}"]
    replacements = cost.replacements
    if replacements:
        retrained = sum(j.billed_tokens or 0 for j in replacements)
        k = len(replacements)
        verb = "retrains" if k == 1 else "retrain"
        parts.append(f"{k} replacement{'s' if k != 1 else ''} {verb} {tokens_short(retrained)} tokens"
                     if retrained else f"{k} replacement{'s' if k != 1 else ''}")
    unknown = [j for j in cost.jobs if not j.known]
    if unknown:
        parts.append(f"{len(unknown)} unknown: " + "; ".join(f"{j.address}: {j.reason}" for j in unknown[:3])
                     + ("; …" if len(unknown) > 3 else ""))
    amount = money(cost.usd - cost.hosting_usd) if len(unknown) < n else "unknown"
    if unknown and len(unknown) < n:
        amount = f"at least {amount}"
    return f"Estimated training cost: {amount} ({'; '.join(parts)})"


def markdown_lines(cost: PlanCost) -> list[str]:
    """A table for the pull-request comment: one row per job created or replaced, then the total."""
    if not cost.jobs:
        return ["", f"💲 **{md_text(hosting_line(cost))}**"] if cost.hosting else []
    lines = ["", f"💲 **{md_text(_training_line(cost))}**", "",
             "| job | model | examples | tokens/epoch | epochs | billed tokens | estimated cost |",
             "|---|---|--:|--:|--:|--:|--:|"]
    for j in cost.jobs:
        def num(v: int | None) -> str:
            return f"{v:,}" if v is not None else "—"
        epochs = _epochs(j) if j.epochs is not None else "—"
        usd = money(j.usd) if j.usd is not None else "unknown: " + (j.reason or "")
        lines.append(f"| {md_code(j.address, table=True)} | {md_text(f'{j.model} ({j.method})')} | "
                     f"{num(j.examples)} | {num(j.tokens_per_epoch)} | {md_text(epochs)} | {num(j.billed_tokens)} | "
                     f"{md_text(usd)} |")
    if cost.hosting:
        lines += ["", f"💲 **{md_text(hosting_line(cost))}**", ""]
        lines += [f"- {md_code(h.address, table=False)}: {md_text(describe_hosting(h))}" for h in cost.hosting]
    return lines


# ---- `reconciler cost`: actual spend --------------------------------------------------------------

def _spend_columns(rows: list[SpendRow], by: str | None, groups: list[dict[str, Any]]) -> tuple[list[str],
                                                                                              list[list[str]]]:
    if by is not None:
        header = [by, "jobs", "trained tokens", "spend", "unknown"]
        body = [[str(g[by]), str(g["jobs"]), f"{g['trained_tokens']:,}", group_money(g), str(g["unknown"] or "")]
                for g in groups]
        return header, body
    header = ["address", "id", "model", "method", "status", "trained tokens", "spend"]
    body = [[r.address, r.job_id, r.model, r.method, r.status,
             f"{r.trained_tokens:,}" if r.trained_tokens is not None else "—",
             money(r.usd) if r.usd is not None else f"unknown: {r.reason}"] for r in rows]
    return header, body


def _spend_total(rows: list[SpendRow]) -> str:
    """`Total spend: $1.23 (3 jobs)`, `Total spend: ≥ $1.23 (3 jobs; 1 unknown)`, `Total spend: unknown (…)`."""
    known = sum(r.usd for r in rows if r.usd is not None)
    unknown = sum(1 for r in rows if r.usd is None)
    tail = f"; {unknown} unknown" if unknown else ""
    amount = money_sum(known, unknown, len(rows), counted=False)
    return f"Total spend: {amount} ({len(rows)} job{'s' if len(rows) != 1 else ''}{tail})"


def spend_text(rows: list[SpendRow], by: str | None, groups: list[dict[str, Any]], style: Style = _plain) -> str:
    if not rows:
        return "No managed jobs.\n"
    header, body = _spend_columns(rows, by, groups)
    body = [[neutralize(c) for c in r] for r in body]  # a colour code in a metadata value is shown, not applied
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    numeric = {"jobs", "trained tokens", "spend", "unknown"}

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if h in numeric else c.ljust(w)
                         for c, w, h in zip(cells, widths, header, strict=True)).rstrip()

    lines = [style(line(header), bold=True)] + [line(r) for r in body] + ["", style(_spend_total(rows), bold=True)]
    return "\n".join(lines) + "\n"


def spend_markdown(rows: list[SpendRow], by: str | None, groups: list[dict[str, Any]]) -> str:
    header, body = _spend_columns(rows, by, groups)
    out = ["### Fine-tuning spend", "", "| " + " | ".join(md_text(h) for h in header) + " |",
           "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md_text(c) for c in r) + " |" for r in body]
    out += ["", f"**{md_text(_spend_total(rows))}**"]
    return "\n".join(out) + "\n"


def spend_csv(rows: list[SpendRow], by: str | None, groups: list[dict[str, Any]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def row(cells: list[Any]) -> None:
        writer.writerow([csv_cell(c) for c in cells])

    # usd is empty when nothing is known; cost_known says whether usd is the whole figure (false: a
    # lower bound, or empty), so a sheet that sums the column cannot take an unknown for $0.
    if by is not None:
        row([by, "jobs", "trained_tokens", "usd", "cost_known", "unknown"])
        for g in groups:
            row([g[by], g["jobs"], g["trained_tokens"], "" if g["usd"] is None else f"{g['usd']:.6f}",
                 "false" if g["unknown"] else "true", g["unknown"]])
    else:
        row(["address", "id", "model", "method", "status", "trained_tokens", "usd", "cost_known", "unknown_reason"])
        for r in rows:
            row([r.address, r.job_id, r.model, r.method, r.status, r.trained_tokens,
                 "" if r.usd is None else f"{r.usd:.6f}", "false" if r.usd is None else "true", r.reason])
    return buffer.getvalue()


def spend_json(rows: list[SpendRow], by: str | None, groups: list[dict[str, Any]]) -> dict[str, Any]:
    known = [r.usd for r in rows if r.usd is not None]
    # usd: the known figures added up (a lower bound unless `complete`), null when none is known
    data: dict[str, Any] = {"version": 1, "currency": "USD",
                            "usd": round(sum(known), 6) if known or not rows else None,
                            "complete": len(known) == len(rows), "jobs": len(rows),
                            "unknown": len(rows) - len(known), "items": [r.to_dict() for r in rows]}
    if by is not None:
        data["by"] = by
        data["groups"] = groups
    return data
