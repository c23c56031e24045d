"""The geometry of the report's line charts: scales, ticks, one SVG path per curve and the hover
bands that show the values at a step. Pure numbers and strings; the template draws them."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Chart", "Curve", "Hover", "Line", "Tick", "fmt", "layout", "nice_ticks", "thin", "value_range"]

# SVG user units; the chart scales to its box
W, H = 400, 190
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 10, 26
DOTS_UP_TO = 40           # a curve of at most this many points also marks each point


@dataclass(frozen=True)
class Line:
    """One curve to draw: `name` is the metric (train_loss, ...), `run` the sweep run it belongs to
    ("" on a single job's chart), `label` what the legend and the hover text call it."""

    name: str
    points: Sequence[tuple[float, float]]
    label: str
    run: str = ""
    run_index: int = -1


@dataclass(frozen=True)
class Tick:
    at: str                   # the coordinate, formatted
    label: str


@dataclass(frozen=True)
class Curve:
    name: str
    run: str
    run_index: int
    d: str
    dots: str                 # "" when the curve has too many points to mark each


@dataclass(frozen=True)
class Hover:
    x: str
    width: str
    text: str


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    left: int
    right_edge: int
    base: str
    grid: str
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    curves: tuple[Curve, ...]
    hovers: tuple[Hover, ...]
    top: int
    plot_height: int


def fmt(value: float) -> str:
    """A metric or step as a short number: 3,840 / 12 / 0.412 / 1.234."""
    if abs(value) >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.4g}"


def _coord(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def thin(points: Sequence[tuple[float, float]], limit: int) -> Sequence[tuple[float, float]]:
    """At most `limit` points, evenly strided, the first and last always kept."""
    if len(points) <= limit or limit < 2:
        return points
    stride = (len(points) - 1) / (limit - 1)
    return [points[round(i * stride)] for i in range(limit)]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values (1, 2 or 5 × 10^k apart) from lo to hi, about `count` of them."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10, 20, 50) if (hi - lo) / (m * power) <= count + 1)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    value = first
    while value <= hi + step * 1e-9:
        out.append(round(value, 10))
        value += step
    return out


def value_range(lines: Sequence[Line]) -> tuple[float, float] | None:
    values = [y for line in lines for _, y in line.points]
    return (min(values), max(values)) if values else None


def _nearest(points: Sequence[tuple[float, float]], xs: Sequence[float], x: float, reach: float) -> float | None:
    i = bisect.bisect_left(xs, x)
    best: tuple[float, float] | None = None
    for j in (i - 1, i):
        if 0 <= j < len(points) and (best is None or abs(points[j][0] - x) < abs(best[0] - x)):
            best = points[j]
    return best[1] if best is not None and abs(best[0] - x) <= reach else None


def layout(title: str, lines: Sequence[Line], limit: int, *, y_range: tuple[float, float] | None = None,
           hovers: int = 24, ticks: int = 5, dots: bool = True) -> Chart | None:
    """The chart of `lines` (None when none has a point): y from `y_range` when given (a sweep's
    shared scale), else from the lines; about `ticks` x labels at round steps; `hovers` bands at most, each with
    the values of every line at its step; `dots` marks each point of a short curve."""
    shown = [line for line in lines if line.points]
    if not shown:
        return None
    xs = [p[0] for line in shown for p in line.points]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = y_range if y_range is not None else value_range(shown) or (0.0, 1.0)
    pad = (y1 - y0) * 0.08 or max(abs(y0) * 0.05, 0.01)
    lo, hi = y0 - pad, y1 + pad
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return TOP + (hi - y) / (hi - lo) * ph

    y_ticks, grid = [], []
    for i in range(4):
        value = y0 + (y1 - y0) * i / 3
        at = _coord(py(value))
        grid.append(f"M{LEFT},{at}H{W - RIGHT}")
        y_ticks.append(Tick(at, fmt(value)))
    # a label at the very left would run into the axis name ("step") below the y labels
    x_ticks = tuple(Tick(_coord(px(v)), fmt(v)) for v in nice_ticks(min(xs), max(xs), ticks) if px(v) >= LEFT + 12)
    curves = []
    for line in shown:
        pts = thin(line.points, limit)
        xy = [(_coord(px(x)), _coord(py(y))) for x, y in pts]
        d = "M" + "L".join(f"{x},{y}" for x, y in xy)
        marks = "".join(f"M{x},{y}h0" for x, y in xy) if dots and len(pts) <= DOTS_UP_TO else ""
        curves.append(Curve(line.name, line.run, line.run_index, d, marks))
    steps = sorted(set(xs))
    picked = thin([(s, 0.0) for s in steps], max(2, hovers)) if hovers else []
    centres = [s for s, _ in picked]
    bands = []
    columns = [(line, [p[0] for p in line.points]) for line in shown]
    for i, step in enumerate(centres):
        left = (step + centres[i - 1]) / 2 if i else x0
        right = (step + centres[i + 1]) / 2 if i + 1 < len(centres) else x1
        reach = max(step - left, right - step)
        values = []
        for line, line_xs in columns:
            near = _nearest(line.points, line_xs, step, reach)
            if near is not None:
                values.append(f"{line.label} {fmt(near)}")
        if values:
            a, b = px(left), px(right)
            bands.append(Hover(_coord(a), _coord(max(1.0, b - a)), f"step {fmt(step)}: " + " · ".join(values)))
    return Chart(title, W, H, LEFT, W - RIGHT, _coord(TOP + ph), "".join(grid), tuple(y_ticks), x_ticks,
                 tuple(curves), tuple(bands), TOP, ph)


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    text: str                 # the hover text: range and count
    passing: bool             # the bucket lies at or above the threshold


@dataclass(frozen=True)
class Histogram:
    width: int
    height: int
    left: int
    base: str
    bars: tuple[Bar, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    threshold: str            # x of the threshold line
    top: int


def histogram(counts: Sequence[int], threshold: float) -> Histogram:
    """Bars of ten score buckets over [0, 1] ([0.9, 1.0] closed), one scale from 0 to the largest
    count, and the threshold as a vertical line."""
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    top = max(1, max(counts, default=0))
    width = pw / max(1, len(counts))
    bars = []
    for i, n in enumerate(counts):
        lo, hi = i / len(counts), (i + 1) / len(counts)
        height = ph * n / top
        bars.append(Bar(_coord(LEFT + i * width + 1), _coord(TOP + ph - height), _coord(width - 2), _coord(height),
                        f"score {lo:.1f}–{hi:.1f}: {n} prompt{'' if n == 1 else 's'}", lo >= threshold))
    y_ticks = tuple(Tick(_coord(TOP + ph - ph * v / top), fmt(v)) for v in nice_ticks(0, top, 3) if v == int(v))
    x_ticks = tuple(Tick(_coord(LEFT + pw * v), fmt(v) if v not in (0, 1) else str(int(v))) for v in (0, 0.5, 1))
    return Histogram(W, H, LEFT, _coord(TOP + ph), tuple(bars), x_ticks, y_ticks,
                     _coord(LEFT + pw * min(1.0, max(0.0, threshold))), TOP)
