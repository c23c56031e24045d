"""Render a Report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no
network. A pure function of its input: every text that came from the API or the specs is escaped
here and nowhere else."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence

from reconciler import __version__
from reconciler.render.escape import html_text
from reconciler.report.model import (
    ACCURACY_SERIES,
    LOSS_SERIES,
    Checkpoint,
    Cost,
    CostTotal,
    JobReport,
    Report,
    Series,
)

__all__ = ["cost_total_line", "money", "points_budget", "render_html"]

LABELS = {
    "train_loss": "train loss", "valid_loss": "valid loss", "full_valid_loss": "full valid loss",
    "train_mean_token_accuracy": "train accuracy", "valid_mean_token_accuracy": "valid accuracy",
    "full_valid_mean_token_accuracy": "full valid accuracy",
}
STATUS_CLASS = {
    "succeeded": "ok", "failed": "bad", "cancelled": "muted", "running": "busy", "queued": "busy",
    "validating_files": "busy", "paused": "warn",
}
# Chart geometry (SVG user units; the chart scales to its box)
W, H = 400, 190
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 10, 26
MAX_POINTS = 400        # per series; a long run is thinned (first and last point always kept)
MIN_POINTS = 24
PAGE_POINTS = 60_000    # points for the whole page, shared by the jobs (keeps 1,000 jobs a few MB)


e = html_text  # every text from the API or the specs goes through it


def points_budget(jobs: int) -> int:
    """Points per series when a page shows `jobs` jobs."""
    return max(MIN_POINTS, min(MAX_POINTS, PAGE_POINTS // max(1, jobs)))


def thin(points: Sequence[tuple[float, float]], limit: int) -> Sequence[tuple[float, float]]:
    if len(points) <= limit or limit < 2:
        return points
    stride = (len(points) - 1) / (limit - 1)
    return [points[round(i * stride)] for i in range(limit)]


def slug(text: str) -> str:
    return "job-" + re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts)) if ts is not None else "—"


def age(now: float, ts: float | None) -> str:
    if ts is None:
        return "—"
    seconds = max(0, int(now - ts))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m"
    return f"{hours // 24}d {hours % 24}h"


def _num(value: float) -> str:
    if abs(value) >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.4g}"


def _coord(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def chart(title: str, series: Sequence[Series], limit: int) -> str:
    """An inline SVG line chart of `series` (one <path class="curve"> each) with its legend."""
    shown = [s for s in series if s.points]
    if not shown:
        return ""
    xs = [p[0] for s in shown for p in s.points]
    ys = [p[1] for s in shown for p in s.points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    pad = (y1 - y0) * 0.08 or max(abs(y0) * 0.05, 0.01)
    y0, y1 = y0 - pad, y1 + pad
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return TOP + (y1 - y) / (y1 - y0) * ph

    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img"><title>{e(title)}</title>']
    grid, labels = [], []
    for i in range(4):  # gridlines with value labels
        value = y0 + pad + (y1 - y0 - 2 * pad) * i / 3
        y = _coord(py(value))
        grid.append(f"M{LEFT},{y}H{W - RIGHT}")
        labels.append(f'<text class="tick y" x="{LEFT - 4}" y="{y}">{e(_num(value))}</text>')
    base = _coord(TOP + ph)
    parts.append(f'<path class="grid" d="{"".join(grid)}"/><path class="axis" d="M{LEFT},{base}H{W - RIGHT}"/>')
    parts.extend(labels)
    first, last = min(xs), max(xs)
    parts.append(f'<text class="tick" x="{_coord(px(first))}" y="{H - 8}">step {e(_num(first))}</text>')
    if last != first:
        parts.append(f'<text class="tick end" x="{_coord(px(last))}" y="{H - 8}">{e(_num(last))}</text>')
    for s in shown:
        pts = thin(s.points, limit)
        xy = [(_coord(px(x)), _coord(py(y))) for x, y in pts]
        d = "M" + "L".join(f"{x},{y}" for x, y in xy)
        parts.append(f'<path class="curve s-{e(s.name)}" data-series="{e(s.name)}" d="{d}"/>')
        if len(pts) <= 40:  # few points: mark each (zero-length segments with round caps)
            parts.append(f'<path class="dots s-{e(s.name)}" d="{"".join(f"M{x},{y}h0" for x, y in xy)}"/>')
    parts.append("</svg>")
    legend = "".join(f'<li><span class="key s-{e(s.name)}"></span>{e(LABELS.get(s.name, s.name))} '
                     f'<span class="last">{e(_num(s.points[-1][1]))}</span></li>' for s in shown)
    return (f'<figure class="plot"><figcaption>{e(title)}</figcaption>{"".join(parts)}'
            f'<ul class="legend">{legend}</ul></figure>')


def _status(status: str) -> str:
    return f'<span class="badge {STATUS_CLASS.get(status, "muted")}">{e(status)}</span>'


def _table(head: Sequence[str], rows: Iterable[tuple[str, Sequence[str]]], cls: str, *, labelled: bool = False) -> str:
    """A table; a `labelled` one becomes a list of cards at phone width (each cell carries its
    header in data-label; not done for the per-job tables, which would cost a few hundred bytes
    per job)."""
    th = "".join(f"<th>{e(h)}</th>" for h in head)
    if labelled:
        body = "".join((f'<tr class="{e(tr)}">' if tr else "<tr>")
                       + "".join(f'<td data-label="{e(h)}">{c}</td>' for h, c in zip(head, cells, strict=True))
                       + "</tr>" for tr, cells in rows)
    else:
        body = "".join((f'<tr class="{e(tr)}">' if tr else "<tr>") + "".join(f"<td>{c}</td>" for c in cells)
                       + "</tr>" for tr, cells in rows)
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{th}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def money(usd: float) -> str:
    return "<$0.01" if 0 < usd < 0.005 else f"${usd:,.2f}"


def _cost_cell(cost: Cost | None) -> str:
    """`$1.23 spent`, `$1.23 estimate` or `unknown` with the reason (how a figure was reached is in
    the job's own section: not repeated here, a page of 1,000 jobs stays small)."""
    if cost is None:
        return "—"
    if cost.usd is None:
        return f'<span class="cost unknown">unknown</span> <span class="muted-text">({e(cost.detail)})</span>'
    return (f'<span class="cost {e(cost.kind)}" data-usd="{cost.usd:.6f}">'
            f'<span class="n">{e(money(cost.usd))}</span> '
            f'<span class="muted-text">{e(cost.kind)}</span></span>')


def _cost_fact(cost: Cost) -> str:
    if cost.usd is None:
        return f"unknown: {e(cost.detail)}"
    return f"{e(money(cost.usd))} {e(cost.kind)} ({e(cost.detail)})"


def total_money(total: CostTotal) -> str:
    """`$1.23`; `≥ $1.23` while a figure is unknown; `unknown` when none is known."""
    from reconciler.render.cost import money_sum

    return money_sum(total.usd, total.unknown, total.spent + total.estimated + total.unknown, counted=False)


def cost_total_line(total: CostTotal) -> str:
    """`Total cost: ≥ $1.23 (1 spent, 2 estimated; 1 unknown)`"""
    parts = [f"{n} {label}" for n, label in ((total.spent, "spent"), (total.estimated, "estimated")) if n]
    head = ", ".join(parts) or "no known figure"
    tail = f"; {total.unknown} unknown" if total.unknown else ""
    return f"Total cost: {total_money(total)} ({head}{tail})"


def _jobs_table(report: Report) -> str:
    with_cost = any(j.cost for j in report.jobs)
    head = ["address", "id", "status", "model", "method", "age", "trained tokens"] + (["cost"] if with_cost else [])
    rows: list[tuple[str, list[str]]] = []
    for j in report.jobs:
        cells = [f'<a href="#{e(slug(j.address))}">{e(j.address)}</a>', f"<code>{e(j.id or '—')}</code>",
                 _status(j.status), e(j.model or "—"), e(j.method or "—"), e(age(report.now, j.created_at)),
                 f'<span class="n">{e(f"{j.trained_tokens:,}" if j.trained_tokens is not None else "—")}</span>']
        if with_cost:
            cells.append(_cost_cell(j.cost))
        rows.append(("", cells))
    if not rows:
        return '<p class="empty">No fine-tuning jobs in this workspace.</p>'
    total = (f'<p class="total" id="cost-total" data-usd="{report.cost_total.usd:.6f}">'
             f'{e(cost_total_line(report.cost_total))}</p>'
             if report.cost_total is not None else "")
    return _table(head, rows, "jobs labelled", labelled=True) + total


def _findings(report: Report) -> str:
    if not report.findings:
        return '<p class="empty">Nothing drifted and every job is healthy.</p>'
    rows: list[tuple[str, list[str]]] = []
    for f in report.findings:
        cls = "ignored" if f.ignored else f.axis
        note = f' <span class="muted-text">(ignored: {e(f.ignore_reason)})</span>' if f.ignored else ""
        rows.append((cls, [e(f.axis), e(f.category.replace("_", " ")), e(f.address), f"{e(f.message)}{note}"]))
    return _table(["axis", "what", "address", "detail"], rows, "findings labelled", labelled=True)


def _checkpoint_rows(checkpoints: Sequence[Checkpoint]) -> str:
    if not checkpoints:
        return '<p class="empty">No checkpoints yet.</p>'
    names = list(dict.fromkeys(k for c in checkpoints for k, _ in c.metrics))
    rows: list[tuple[str, list[str]]] = []
    for c in checkpoints:
        metrics = dict(c.metrics)
        step = "final model" if c.final else (str(c.step) if c.step is not None else "—")
        chosen = "".join(f'<span class="badge pick">selected by {e(a)}</span> ' for a in c.selected_by)
        grants = ", ".join(f'<code title="{e(g.permission_id)}">{e(g.project_id)}</code>'
                           + ("" if g.managed_by else ' <span class="muted-text">(unmanaged)</span>')
                           for g in c.grants) or "—"
        cells = [e(step), f"<code>{e(c.name)}</code> {chosen}", grants,
                 *(e(_num(metrics[n]) if n in metrics else "—") for n in names)]
        rows.append(("selected" if c.selected_by else "", cells))
    return _table(["step", "checkpoint", "grants", *(LABELS.get(n, n.replace("_", " ")) for n in names)], rows,
                  "checkpoints")


def _job(report: Report, j: JobReport, limit: int) -> str:
    facts = [("id", f"<code>{e(j.id or '—')}</code>"), ("model", e(j.model or "—")), ("method", e(j.method or "—")),
             ("created", e(when(j.created_at))), ("finished", e(when(j.finished_at))),
             ("trained tokens", e(f"{j.trained_tokens:,}" if j.trained_tokens is not None else "—"))]
    if j.cost:
        facts.append(("cost", _cost_fact(j.cost)))
    if j.fine_tuned_model:
        facts.append(("fine-tuned model", f"<code>{e(j.fine_tuned_model)}</code>"))
    dl = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts)
    error = f'<p class="error">{e(j.error)}</p>' if j.error else ""
    by_name = {s.name: s for s in j.series}
    charts = chart(f"{j.address}: loss", [by_name[n] for n in LOSS_SERIES if n in by_name], limit) + \
        chart(f"{j.address}: accuracy", [by_name[n] for n in ACCURACY_SERIES if n in by_name], limit)
    curves = (f'<div class="charts">{charts}</div><p class="source">Curves from the job\'s {e(j.curves_source)}.</p>'
              if charts else '<p class="empty">No training metrics yet.</p>')
    notes = "".join(f'<p class="note">{e(n)}</p>' for n in j.notes)
    return (f'<article class="job" id="{e(slug(j.address))}"><h3>{e(j.address)} {_status(j.status)}</h3>'
            f'<dl class="facts">{dl}</dl>{error}{curves}<h4>Checkpoints</h4>{_checkpoint_rows(j.checkpoints)}'
            f"{notes}</article>")


CSS = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#5b6470;--line:#d5dae0;--panel:#f5f7f9;
--ok:#1a7f37;--bad:#c62828;--warn:#9a6700;--busy:#0b62c4;--pick:#6f42c1;
--c1:#0b62c4;--c2:#d4590b;--c3:#2e8540}
@media (prefers-color-scheme:dark){:root{--bg:#0f1216;--fg:#e6e9ed;--muted:#9aa4af;--line:#333b45;
--panel:#171c22;--ok:#4ac26b;--bad:#ff6b6b;--warn:#e3b341;--busy:#58a6ff;--pick:#b392f0;
--c1:#58a6ff;--c2:#ff9a52;--c3:#56d364}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1200px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.2em 0}h2{font-size:1.2rem;margin:1.6em 0 .5em;border-bottom:1px solid var(--line);
padding-bottom:.2em}h3{font-size:1.05rem;margin:0 0 .5em;overflow-wrap:anywhere}h4{font-size:.95rem;margin:1em 0 .3em}
a{color:var(--busy)}code{font:12.5px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.meta{color:var(--muted);margin:0;overflow-wrap:anywhere}
.banner{margin:12px 0;padding:10px 14px;border-radius:6px;border-left:5px solid var(--ok);background:var(--panel);
font-weight:600;overflow-wrap:anywhere}
.banner.drifted{border-left-color:var(--warn)}.banner.unhealthy{border-left-color:var(--bad)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:8px;margin:12px 0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:1.3rem}.card span{color:var(--muted);font-size:.85rem}
nav{margin:8px 0;color:var(--muted)}nav a{margin-right:12px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;white-space:nowrap}
td .n,.n,table.checkpoints td:nth-child(n+4){font-variant-numeric:tabular-nums;white-space:nowrap}
table.jobs td:nth-child(2) code{white-space:nowrap}
tr.drift td:first-child{color:var(--warn);font-weight:600}tr.health td:first-child{color:var(--bad);font-weight:600}
tr.ignored{color:var(--muted)}tr.selected{background:color-mix(in srgb,var(--pick) 10%,transparent)}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:.78rem;font-weight:600;line-height:1.6;
border:1px solid currentColor;white-space:nowrap;vertical-align:middle}
.badge.ok{color:var(--ok)}.badge.bad{color:var(--bad)}.badge.warn{color:var(--warn)}.badge.busy{color:var(--busy)}
.badge.muted{color:var(--muted)}.badge.pick{color:var(--pick)}
rect.life-ok{fill:var(--ok)}rect.life-soon{fill:var(--warn)}rect.life-gone{fill:var(--bad)}
.muted-text{color:var(--muted)}
article.job{border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin:12px 0;background:var(--bg)}
dl.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:4px 16px;margin:0 0 8px}
dl.facts div{min-width:0}dt{color:var(--muted);font-size:.8rem}dd{margin:0;overflow-wrap:anywhere}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:12px}
figure.plot{margin:0;background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px}
figcaption{font-size:.85rem;color:var(--muted);margin-bottom:4px;overflow-wrap:anywhere}
svg.chart{width:100%;height:auto;display:block}
.grid{stroke:var(--line);stroke-width:1;fill:none}.axis{stroke:var(--muted);stroke-width:1;fill:none}
.tick{fill:var(--muted);font-size:11px;font-family:system-ui,sans-serif}.tick.y{text-anchor:end;dominant-baseline:middle}.tick.end{text-anchor:end}
.curve{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
.s-train_loss,.s-train_mean_token_accuracy{stroke:var(--c1);fill:var(--c1)}
.s-valid_loss,.s-valid_mean_token_accuracy{stroke:var(--c2);fill:var(--c2)}
.s-full_valid_loss,.s-full_valid_mean_token_accuracy{stroke:var(--c3);fill:var(--c3)}
path.curve,path.dots{fill:none}path.dots{stroke-width:5;stroke-linecap:round}path.s-valid_loss,path.s-valid_mean_token_accuracy{stroke-dasharray:6 3}
path.s-full_valid_loss,path.s-full_valid_mean_token_accuracy{stroke-dasharray:2 3}
path.dots{stroke-dasharray:none}table.checkpoints td:nth-child(3) code{white-space:nowrap;overflow-wrap:normal}
.legend{list-style:none;margin:4px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.82rem}
.legend .key{display:inline-block;width:18px;height:0;border-top:3px solid;margin-right:5px;vertical-align:middle}
.legend .key.s-train_loss,.legend .key.s-train_mean_token_accuracy{border-color:var(--c1)}
.legend .key.s-valid_loss,.legend .key.s-valid_mean_token_accuracy{border-color:var(--c2);border-top-style:dashed}
.legend .key.s-full_valid_loss,.legend .key.s-full_valid_mean_token_accuracy{border-color:var(--c3);
border-top-style:dotted}
.legend .last{color:var(--muted);font-variant-numeric:tabular-nums}
.total{font-weight:600;margin:.5em 0}.cost.unknown{color:var(--warn)}
.source,.empty,.note{color:var(--muted);font-size:.85rem;margin:.4em 0}.error{color:var(--bad);margin:.4em 0}
footer{color:var(--muted);font-size:.8rem;margin:24px 0 8px}
@media (max-width:600px){main{padding:10px}body{font-size:14px}article.job{padding:10px}
table.labelled,.labelled tbody,.labelled tr,.labelled td{display:block;width:100%}.labelled thead{display:none}
.labelled tr{border-bottom:1px solid var(--line);padding:6px 0}
.labelled td{border:0;padding:2px 0;display:flex;gap:10px;justify-content:space-between;text-align:right}
.labelled td::before{content:attr(data-label);color:var(--muted);text-align:left;flex:none;max-width:45%}
.labelled td>*{min-width:0}table.jobs td:nth-child(2) code{white-space:normal}}
@media print{:root{--bg:#fff;--fg:#000;--panel:#fff;--line:#bbb;--muted:#444}body{font-size:11pt}
nav{display:none}main{max-width:none;padding:0}.scroll{overflow:visible}a{color:inherit;text-decoration:none}
article.job,figure.plot,tr{break-inside:avoid}h2,h3{break-after:avoid}
.charts{grid-template-columns:1fr 1fr}}
"""


TIMELINE_WIDTH = 320      # px of the bar that stands for the longest time left


def _lifecycle(report: Report) -> str:
    """Each managed fine-tuned model, the day it stops answering and the days left, with a bar from
    today to that day on one scale (red: stopped, amber: within warn_days)."""
    if not report.lifecycle:
        return '<p class="empty">No managed fine-tuned model.</p>'
    longest = max([r.days_left for r in report.lifecycle if r.days_left is not None and r.days_left > 0] or [1])
    rows = []
    for r in report.lifecycle:
        if r.days_left is None:
            state, left, bar = "unknown", "no end known", ""
        else:
            state = "gone" if r.days_left <= 0 else "soon" if r.days_left <= report.warn_days else "ok"
            left = "stopped answering" if r.days_left <= 0 else f"{r.days_left} day{'' if r.days_left == 1 else 's'} left"
            width = 0 if r.days_left <= 0 else max(2, round(TIMELINE_WIDTH * r.days_left / longest))
            bar = (f'<svg class="timeline" width="{TIMELINE_WIDTH}" height="12" role="img" '
                   f'aria-label="{e(left)}"><rect class="life-{state}" x="0" y="2" width="{width}" height="8" rx="2">'
                   f"<title>{e(r.model)}: {e(left)}, until {e(r.serving_end or '')}</title></rect></svg>")
        day = f'<span title="source: {e(r.source)}">{e(r.serving_end)}</span>' if r.serving_end and r.source \
            else e(r.serving_end or "—")
        rows.append((f"life-{state}", [f"<code>{e(r.address)}</code>", f"<code>{e(r.model)}</code>", e(r.platform),
                                       day, e(left), bar]))
    return _table(["address", "fine-tuned model", "platform", "stops answering", "days left", "timeline"],
                  rows, "lifecycle", labelled=True)


def render_html(report: Report, *, points_per_series: int | None = None) -> str:
    """The page for `report`: a pure function, no I/O."""
    limit = points_per_series or points_budget(len(report.jobs))
    counts: dict[str, int] = {}
    for j in report.jobs:
        counts[j.status] = counts.get(j.status, 0) + 1
    tokens = sum(j.trained_tokens or 0 for j in report.jobs)
    drift = [f for f in report.findings if f.axis == "drift" and not f.ignored]
    health = [f for f in report.findings if f.axis == "health" and not f.ignored]
    cards = [(str(len(report.jobs)), "jobs"), *((str(n), s) for s, n in sorted(counts.items())),
             (f"{tokens:,}", "trained tokens"),
             *([(total_money(report.cost_total), "cost" + (" (some unknown)" if report.cost_total.unknown else ""))]
               if report.cost_total is not None else []),
             (str(len(drift)), "drift findings"),
             (str(len(health)), "health findings")]
    banner_cls = "banner" + ("" if report.in_sync else " drifted") + ("" if report.healthy else " unhealthy")
    warnings = "".join(f'<p class="note">{e(w)}</p>' for w in report.warnings)
    details = "".join(_job(report, j, limit) for j in report.jobs)
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>reconciler report: {e(report.state_file or 'workspace')}</title>",
        f"<style>{CSS}</style></head><body><main>",
        "<header><h1>Fine-tuning report</h1>",
        f'<p class="meta">state <code>{e(report.state_file)}</code> · specs <code>{e(report.spec_dir)}</code> · '
        f"generated {e(when(report.generated_at))}</p></header>",
        f'<p class="{banner_cls}" id="summary">{e(report.summary)}</p>',
        '<div class="cards">', *(f'<div class="card"><b>{e(v)}</b><span>{e(k)}</span></div>' for v, k in cards),
        "</div>",
        '<nav><a href="#jobs">Jobs</a><a href="#lifecycle">Lifecycle</a><a href="#drift">Drift and health</a>'
        '<a href="#details">Curves and checkpoints</a></nav>',
        f'<section id="jobs"><h2>Jobs</h2>{_jobs_table(report)}</section>',
        f'<section id="lifecycle"><h2>Lifecycle</h2>{_lifecycle(report)}</section>',
        f'<section id="drift"><h2>Drift and health</h2>{_findings(report)}{warnings}</section>',
        f'<section id="details"><h2>Curves and checkpoints</h2>{details or "<p class=empty>No jobs.</p>"}</section>',
        f"<footer>reconciler {e(__version__)} · read-only report: nothing was changed.</footer>",
        "</main></body></html>\n",
    ])
