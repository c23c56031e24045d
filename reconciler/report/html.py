"""Render a Report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no
network. A pure function of its input, on Jinja2 templates (templates/) with autoescape: every
value a template prints is escaped by `render.escape.html_text` (the environment's finalize, so
the page escapes exactly as the other HTML outputs do); only Markup the templates build is not."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup

from reconciler import __version__
from reconciler.render.cost import money_sum
from reconciler.render.escape import html_text
from reconciler.report import chart as charts
from reconciler.report.model import (
    ACCURACY_SERIES,
    LOSS_SERIES,
    Cost,
    CostTotal,
    JobReport,
    LifecycleRow,
    Report,
    Sweep,
)

__all__ = ["cost_total_line", "money", "points_budget", "render_html"]

LABELS = {
    "train_loss": "train loss", "valid_loss": "valid loss", "full_valid_loss": "full valid loss",
    "train_mean_token_accuracy": "train accuracy", "valid_mean_token_accuracy": "valid accuracy",
    "full_valid_mean_token_accuracy": "full valid accuracy",
}
HP_LABELS = {"n_epochs": "epochs", "batch_size": "batch size", "learning_rate_multiplier": "LR multiplier"}
CLOCK_SKEW = 60         # seconds between this machine's clock and the API's before the page says so
STATUS_CLASS = {
    "succeeded": "ok", "failed": "bad", "cancelled": "muted", "running": "busy", "queued": "busy",
    "validating_files": "busy", "paused": "warn",
}
MAX_POINTS = 400        # per series; a long run is thinned (first and last point always kept)
MIN_POINTS = 24
PAGE_POINTS = 60_000    # points for the whole page, shared by the jobs (keeps 1,000 jobs a few MB)
TIMELINE_WIDTH = 320    # px of the bar that stands for the longest time left


def points_budget(jobs: int) -> int:
    """Points per series when a page shows `jobs` jobs."""
    return max(MIN_POINTS, min(MAX_POINTS, PAGE_POINTS // max(1, jobs)))


PAGE_HOVERS = 6_000     # hover bands for the whole page (each ~110 bytes with its <title>)


@dataclass(frozen=True)
class Budget:
    """What one chart may hold on a page of N jobs: the page stays a few MB at 1,000 jobs."""

    points: int          # per series
    hovers: int          # bands per chart: 40 on a small page, none past 750 jobs
    ticks: int           # x-axis labels, about


def budget(jobs: int, points: int | None = None) -> Budget:
    hovers = min(40, PAGE_HOVERS // max(1, 2 * jobs))
    if hovers < 4:       # a band per quarter of the run says little; the legend keeps the last values
        hovers = 0
    return Budget(points or points_budget(jobs), hovers, 5 if hovers >= 10 else 3)


def slug(text: str) -> str:
    return "job-" + re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts)) if ts is not None else "—"


def age(now: float, ts: float | None) -> str:
    """How long before `now` (the API's clock, like `ts`) a time was."""
    return "—" if ts is None else span(now - ts)


def span(seconds_: float | None) -> str:
    """A length of time: 45s, 12m, 7h 6m, 3d 4h."""
    if seconds_ is None:
        return "—"
    seconds = max(0, int(seconds_))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m"
    return f"{hours // 24}d {hours % 24}h"


def money(usd: float) -> str:
    return "<$0.01" if 0 < usd < 0.005 else f"${usd:,.2f}"


def total_money(total: CostTotal) -> str:
    """`$1.23`; `≥ $1.23` while a figure is unknown; `unknown` when none is known."""
    return money_sum(total.usd, total.unknown, total.spent + total.estimated + total.unknown, counted=False)


def cost_total_line(total: CostTotal) -> str:
    """`Total cost: ≥ $1.23 (1 spent, 2 estimated; 1 unknown)`"""
    parts = [f"{n} {label}" for n, label in ((total.spent, "spent"), (total.estimated, "estimated")) if n]
    head = ", ".join(parts) or "no known figure"
    tail = f"; {total.unknown} unknown" if total.unknown else ""
    return f"Total cost: {total_money(total)} ({head}{tail})"


def _escape(value: Any) -> Any:
    """The environment's finalize: a text is escaped here (render.escape's HTML rule); Markup and
    numbers pass to autoescape, which leaves them as they are. A text the rule leaves unchanged
    holds nothing autoescape would change either, so it is passed on as it is (one Markup less)."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    escaped = html_text(value)
    return value if escaped is value else Markup(escaped)


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("reconciler.report", "templates"), autoescape=True,
                             finalize=_escape, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(when=when, slug=slug, num=charts.fmt,
                       tokens=lambda n: f"{n:,}" if n is not None else "—",
                       metric_label=lambda n: LABELS.get(n, n.replace("_", " ")))
    env.globals.update(status_class=lambda s: STATUS_CLASS.get(s, "muted"), dict=dict, money=money,
                       cost_total_line=cost_total_line, cost_cell=_cost_cell)
    return env


def _cost_cell(cost: Cost | None) -> Markup:
    """`$1.23 spent`, `$1.23 estimate` or `unknown` with the reason (how a figure was reached is in
    the job's own section: not repeated here, a page of 1,000 jobs stays small)."""
    e = html_text
    if cost is None:
        return Markup("—")
    if cost.usd is None:
        return Markup(f'<span class="cost unknown">unknown</span> <span class="muted-text">({e(cost.detail)})</span>')
    return Markup(f'<span class="cost {e(cost.kind)}" data-usd="{cost.usd:.6f}">'
                  f'<span class="n">{e(money(cost.usd))}</span> <span class="muted-text">{e(cost.kind)}</span></span>')


def _cost_fact(cost: Cost) -> str:
    if cost.usd is None:
        return f"unknown: {cost.detail}"
    return f"{money(cost.usd)} {cost.kind} ({cost.detail})"


def _code(text: str) -> Markup:
    return Markup(f"<code>{html_text(text)}</code>")


Legend = list[tuple[str, str, str]]


def _hyperparameters(j: JobReport) -> Markup:
    """`epochs 3 · batch size 1 (auto) · LR multiplier 1.8 (auto)`: the value the API reports,
    marked where the spec left it to the API."""
    return Markup(" · ").join(
        Markup('<span class="hp">{} {}{}</span>').format(
            Markup(html_text(HP_LABELS.get(h.name, h.name.replace("_", " ")))), Markup(html_text(h.value)),
            Markup(" <small>(auto)</small>") if h.auto else "")
        for h in j.hyperparameters)


def _job_chart(title: str, series: Sequence[Any], limit: Budget, y_range: tuple[float, float] | None = None,
               ) -> tuple[charts.Chart, Legend] | None:
    lines = [charts.Line(s.name, s.points, LABELS.get(s.name, s.name)) for s in series if s.points]
    laid = charts.layout(title, lines, limit.points, hovers=limit.hovers, ticks=limit.ticks, y_range=y_range)
    if laid is None:
        return None
    return laid, [(f"s-{s.name}", s.label, charts.fmt(s.points[-1][1])) for s in lines]


@dataclass(frozen=True)
class _JobView:
    job: JobReport
    facts: list[tuple[str, Any]]
    charts: list[tuple[charts.Chart, Legend]]
    metric_names: list[str]


def _job_view(j: JobReport, limit: Budget, y_ranges: Mapping[str, tuple[float, float]]) -> _JobView:
    facts: list[tuple[str, Any]] = [
        ("id", _code(j.id or "—")), ("model", j.model or "—"),
        ("method", j.method or "—"), ("created", when(j.created_at)), ("finished", when(j.finished_at)),
        ("duration", span(j.duration)),
        ("trained tokens", f"{j.trained_tokens:,}" if j.trained_tokens is not None else "—"),
        ("hyperparameters", _hyperparameters(j) or "—"), ("seed", str(j.seed) if j.seed is not None else "—")]
    if j.cost:
        facts.append(("cost", _cost_fact(j.cost)))
    if j.fine_tuned_model:
        facts.append(("fine-tuned model", _code(j.fine_tuned_model)))
    by_name = {s.name: s for s in j.series}
    shared = y_ranges.get(j.sweep) if j.sweep else None  # a sweep's runs share its loss scale
    drawn = [_job_chart(f"{j.address}: loss", [by_name[n] for n in LOSS_SERIES if n in by_name], limit, shared),
             _job_chart(f"{j.address}: accuracy", [by_name[n] for n in ACCURACY_SERIES if n in by_name], limit)]
    names = list(dict.fromkeys(k for c in j.checkpoints for k, _ in c.metrics))
    return _JobView(j, facts, [c for c in drawn if c is not None], names)


@dataclass(frozen=True)
class _SweepView:
    sweep: Sweep
    chart: tuple[charts.Chart, Legend] | None
    jobs: Mapping[str, JobReport]
    colour: Mapping[str, int]                  # run address -> its colour in the overlay (r0..r7)


SWEEP_SERIES = ("train_loss", "valid_loss")


def _sweep_views(report: Report, limit: Budget) -> tuple[list[_SweepView], dict[str, tuple[float, float]]]:
    """Per sweep one overlay chart of every run's train (solid) and validation (dashed) loss on
    one scale, and that scale, which the runs' own loss charts share."""
    by_address = {j.address: j for j in report.jobs}
    views, ranges = [], {}
    for sweep in report.sweeps:
        members = [by_address[r.address] for r in sorted(sweep.runs, key=lambda r: r.address)]
        lines = [charts.Line(s.name, s.points, f"{j.run} {LABELS.get(s.name, s.name)}", j.run, i)
                 for i, j in enumerate(members) for s in j.series if s.name in SWEEP_SERIES and s.points]
        loss = [charts.Line(s.name, s.points, "") for j in members for s in j.series if s.name in LOSS_SERIES]
        found = charts.value_range(loss)
        if found is not None:
            ranges[sweep.address] = found
        laid = charts.layout(f"{sweep.address}: loss of every run", lines, limit.points, y_range=found,
                             hovers=limit.hovers, ticks=limit.ticks, dots=False)
        legend: Legend = [(f"run r{i % 8}", j.run, "") for i, j in enumerate(members)]
        legend += [(f"style s-{name}", LABELS[name], "") for name in SWEEP_SERIES if any(line.name == name for line in lines)]
        views.append(_SweepView(sweep, (laid, legend) if laid is not None else None, by_address,
                                {j.address: i % 8 for i, j in enumerate(members)}))
    return views, ranges


@dataclass(frozen=True)
class _LifeView:
    row: LifecycleRow
    state: str
    left: str
    width: int | None


def _lifecycle(report: Report) -> list[_LifeView]:
    """Each managed fine-tuned model, the day it stops answering and the days left, with a bar from
    today to that day on one scale (red: stopped, amber: within warn_days)."""
    longest = max([r.days_left for r in report.lifecycle if r.days_left is not None and r.days_left > 0] or [1])
    out = []
    for r in report.lifecycle:
        if r.days_left is None:
            out.append(_LifeView(r, "unknown", "no end known", None))
            continue
        state = "gone" if r.days_left <= 0 else "soon" if r.days_left <= report.warn_days else "ok"
        left = "stopped answering" if r.days_left <= 0 else f"{r.days_left} day{'' if r.days_left == 1 else 's'} left"
        width = 0 if r.days_left <= 0 else max(2, round(TIMELINE_WIDTH * r.days_left / longest))
        out.append(_LifeView(r, state, left, width))
    return out


def render_html(report: Report, *, points_per_series: int | None = None) -> str:
    """The page for `report`: a pure function, no I/O (the templates are package data)."""
    limit = budget(len(report.jobs), points_per_series)
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
    env = _environment()
    sweep_views, y_ranges = _sweep_views(report, limit)
    skew = abs(report.generated_at - report.now) > CLOCK_SKEW
    css = Markup(env.loader.get_source(env, "report.css")[0]) if env.loader else Markup("")
    return env.get_template("page.html.j2").render(
        r=report, css=css, version=__version__, cards=cards,
        banner_cls="banner" + ("" if report.in_sync else " drifted") + ("" if report.healthy else " unhealthy"),
        with_cost=any(j.cost for j in report.jobs), age=lambda ts: age(report.now, ts),
        lifecycle=_lifecycle(report), timeline_width=TIMELINE_WIDTH,
        details=[_job_view(j, limit, y_ranges) for j in report.jobs], sweeps=sweep_views, skew=skew,
        duration=span, hyperparameters=_hyperparameters, metric_label=LABELS,
        comparisons=[(c, charts.histogram(c.histogram, c.threshold)) for c in report.comparisons])
