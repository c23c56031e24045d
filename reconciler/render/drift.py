"""Drift reports in four forms: text (terminal), Markdown (PR/issue comment), JSON (machines,
schema in render/schema/drift.schema.json) and JUnit XML (CI dashboards: one test case per
address, drift as a failure, a failed job as an error).

Text, Markdown and JSON can carry a spend summary (cost/spend_summary.py); `render` decides per
form: JSON and Markdown carry it unless told not to (what a scheduled CI job keeps and posts), text
only when asked (`drift --cost`), JUnit never (spend is not a test outcome)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from reconciler.cost.spend_summary import SpendSummary
from reconciler.drift.findings import DRIFT, FAILING_HEALTH, HEALTH, DriftReport, Finding
from reconciler.render.cost import group_money, money_sum
from reconciler.render.escape import md_code, md_text, xml_attr, xml_text
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, _fit
from reconciler.secrets import neutralize

Style = Callable[..., str]

_MARK = {"cancelled_outside": "✗", "paused_outside": "✗", "resumed_outside": "✗", "deleted": "✗",
         "grant_added": "✗", "grant_removed": "✗", "unmanaged_job": "✗", "unmanaged_grant": "✗",
         "out_of_sync": "~", "failed": "!", "cancelled": "!", "timed_out": "!", "pending": "?",
         "serving_ends": "!", "model_gone": "!"}


def _plain(text: str, **_: Any) -> str:
    return text


def _by_address(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for f in findings:
        grouped.setdefault(f.address, []).append(f)
    return grouped


# ---- spend ----------------------------------------------------------------------------------------

SPEND_BY_DEFAULT = frozenset({"json", "markdown"})
SPEND_FORMS = frozenset({"text", "json", "markdown"})


def spend_wanted(kind: str, cost: bool | None) -> bool:
    """Whether the `kind` form carries spend: `cost` as given (--cost / --no-cost), else by default
    in JSON and Markdown only. JUnit never does."""
    return kind in SPEND_FORMS and (cost if cost is not None else kind in SPEND_BY_DEFAULT)


def spend_total_line(spend: SpendSummary) -> str:
    """`Spend so far: ≥ $1.23 (3 jobs, 12,345 trained tokens; 1 unknown: no price for x (supervised))`:
    while a figure is unknown the known ones add up to a lower bound (`unknown` when none is known)."""
    jobs = len(spend.rows)
    amount = money_sum(spend.usd, spend.unknown, jobs, counted=False)
    head = f"Spend so far: {amount} ({jobs} managed job{'s' if jobs != 1 else ''}"
    if spend.trained_tokens:
        head += f", {spend.trained_tokens:,} trained tokens"
    reasons = spend.unknown_reasons()
    if reasons:
        detail = "; ".join(f"{n} × {r}" if n > 1 else r for r, n in sorted(reasons.items()))
        head += f"; {spend.unknown} unknown: {detail}"
    return head + ")"


def _spend_rows(spend: SpendSummary) -> tuple[list[str], list[list[str]]]:
    header = [spend.by or "", "jobs", "trained tokens", "spend", "unknown"]
    body = [[str(g[spend.by or ""]), str(g["jobs"]), f"{g['trained_tokens']:,}", group_money(g),
             str(g["unknown"] or "")] for g in spend.groups]
    return header, body


def spend_text(spend: SpendSummary, style: Style = _plain) -> list[str]:
    lines = ["", style(f"Spend (managed jobs, trained_tokens × price{f', by {spend.by}' if spend.by else ''}):",
                       bold=True)]
    if spend.by:
        header, body = _spend_rows(spend)
        body = [[neutralize(c) for c in r] for r in body]  # a colour code in a metadata value is shown, not applied
        widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]

        def line(cells: list[str]) -> str:
            return "  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                    for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

        lines += [style(line(header), dim=True)] + [line(r) for r in body]
    lines.append(f"  {spend_total_line(spend)}")
    return lines


def spend_markdown(spend: SpendSummary) -> list[str]:
    lines = ["", f"**{md_text(spend_total_line(spend))}**"]
    if spend.by:
        header, body = _spend_rows(spend)
        lines += ["", "| " + " | ".join([md_text(header[0]), *header[1:]]) + " |", "|---|---:|---:|---:|---:|"]
        lines += ["| " + " | ".join([md_text(r[0]), *r[1:]]) + " |" for r in body]  # the key: metadata
    return lines


def _model_lines(report: DriftReport) -> list[str]:
    lines = []
    for m in report.models:
        if m["serving_ends"] is None:
            when = "no end date known"
        elif m["days_left"] <= 0:
            when = f"stopped answering on {m['serving_ends']}"
        else:
            when = f"until {m['serving_ends']} ({m['days_left']} day{'' if m['days_left'] == 1 else 's'} left)"
        source = f"; source: {m['source']}" if m["source"] else ""
        lines.append(f"{m['address']}: {m['model']} ({m['platform']}): {when}{source}")
    return lines


def render(kind: str, report: DriftReport, spend: SpendSummary | None = None, style: Style = _plain) -> str:
    """The report in the `kind` form, with `spend` when given (the caller asks `spend_wanted`)."""
    if kind == "text":
        return render_text(report, style, spend=spend)
    if kind == "markdown":
        return render_markdown(report, spend=spend)
    if kind == "json":
        return render_json(report, spend=spend)
    if kind == "junit":
        return render_junit(report)
    raise ValueError(f"unknown drift report format {kind!r}")


# ---- the forms ------------------------------------------------------------------------------------

def render_text(report: DriftReport, style: Style = _plain, *, spend: SpendSummary | None = None) -> str:
    colour = "green" if report.in_sync else "yellow"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(report.generated_at))
    lines = [style(report.summary_line(), fg=colour, bold=True),
             style(f"drift report {stamp}: {report.spec_dir} against {report.state_file} and the live API", dim=True)]
    drift = report.active(DRIFT)
    if drift:
        lines += ["", style("Drift:", bold=True)]
        for address, items in _by_address(drift).items():
            lines.append(f"  {style(neutralize(address), bold=True)}")  # an unmanaged job's id is the API's
            for f in items:
                lines.append(f"    {style(_MARK.get(f.category, '-'), fg='red')} {f.category.replace('_', ' ')}: "
                             f"{neutralize(f.message)}")
    health = report.active(HEALTH)
    if health:
        lines += ["", style("Health (not drift):", bold=True)]
        for f in health:
            lines.append(f"  {style(_MARK.get(f.category, '-'), fg='red' if f.category != 'pending' else 'blue')} "
                         f"{neutralize(f.address)}: {neutralize(f.message)}")
    if report.models:
        lines += ["", style("Fine-tuned models and when they stop answering:", bold=True)]
        lines += [f"  - {neutralize(line)}" for line in _model_lines(report)]
    ignored = [f for f in report.findings if f.ignored]
    if ignored:
        lines += ["", style("Ignored (reported, never counted):", bold=True)]
        for f in ignored:
            lines.append(f"  - {neutralize(f.address)}: {f.category.replace('_', ' ')}: {neutralize(f.message)} "
                         f"[ignored: {neutralize(str(f.ignore_reason))} ({f.ignore_rule})]")
    if spend is not None:
        lines += spend_text(spend, style)
    return "\n".join(lines) + "\n"


def render_markdown(report: DriftReport, *, limit: int = GITHUB_COMMENT_LIMIT,
                    spend: SpendSummary | None = None) -> str:
    icon = "✅" if report.in_sync else "⚠️"
    head = [f"### {icon} reconciler drift report", "", f"**{report.summary_line()}**", ""]
    if report.active():
        head += ["| address | finding | |", "|---|---|---|"]
        for f in report.active():
            head.append(f"| {md_code(f.address, table=True)} | {f.category.replace('_', ' ')} | "
                        f"{'drift' if f.axis == DRIFT else 'health'} |")
    if spend is not None:
        head += spend_markdown(spend)[1 if head[-1] == "" else 0:]
    body: list[str] = []
    if report.models:
        body += ["", f"<details><summary>Fine-tuned models and when they stop answering ({len(report.models)})"
                     "</summary>", ""]
        body += [f"- {md_text(line)}" for line in _model_lines(report)]
        body += ["", "</details>"]
    for title, items in (("Drift details", report.active(DRIFT)), ("Health details", report.active(HEALTH)),
                         ("Ignored findings", [f for f in report.findings if f.ignored])):
        if not items:
            continue
        body += ["", f"<details><summary>{title} ({len(items)})</summary>", ""]
        for f in items:
            extra = f" — _ignored: {md_text(f.ignore_reason)}_" if f.ignored else ""
            body.append(f"- {md_code(f.address)} **{f.category.replace('_', ' ')}**: {md_text(f.message)}{extra}")
        body += ["", "</details>"]
    return _fit("\n".join(head), body, limit)


def render_json(report: DriftReport, *, spend: SpendSummary | None = None) -> str:
    data = report.to_dict()
    if spend is not None:
        data["spend"] = spend.to_dict()
    return json.dumps(data, indent=2, default=str)


def render_junit(report: DriftReport) -> str:
    """One <testcase> per address checked or found: drift → <failure>, a failed job → <error>,
    ignored findings → <system-out> on a passing case."""
    addresses = sorted({f.address for f in report.findings} | set(report.addresses))
    cases = []
    failures = errors = 0
    for address in addresses:
        items = [f for f in report.findings if f.address == address]
        drift = [f for f in items if not f.ignored and f.axis == DRIFT]
        bad_health = [f for f in items if not f.ignored and f.axis == HEALTH and f.category in FAILING_HEALTH]
        other = [f for f in items if f not in drift and f not in bad_health]
        body = []
        if drift:
            failures += 1
            text = "\n".join(f"{f.category}: {f.message}" for f in drift)
            body.append(f'<failure type="drift" message={xml_attr(drift[0].message)}>{xml_text(text)}</failure>')
        if bad_health:
            errors += 1
            text = "\n".join(f"{f.category}: {f.message}" for f in bad_health)
            body.append(f'<error type="health" message={xml_attr(bad_health[0].message)}>{xml_text(text)}</error>')
        if other:
            notes = "\n".join(f"{'ignored ' if f.ignored else ''}{f.category}: {f.message}" for f in other)
            body.append(f"<system-out>{xml_text(notes)}</system-out>")
        kind = address.split(".")[1] if address.startswith(("unmanaged.", "data.")) else address.split(".")[0]
        cases.append(f'  <testcase classname={xml_attr("reconciler." + kind)} name={xml_attr(address)} time="0">'
                     + "".join(body) + "</testcase>")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(report.generated_at))
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="reconciler drift" tests="{len(cases)}" '
            f'failures="{failures}" errors="{errors}">\n'
            f'<testsuite name="reconciler-drift" tests="{len(cases)}" failures="{failures}" errors="{errors}" '
            f'skipped="0" timestamp="{stamp}">\n')
    return head + "\n".join(cases) + "\n</testsuite>\n</testsuites>\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json, "junit": render_junit}
