"""The chart geometry, table-driven: round ticks, thinning, the shared scale a sweep passes in,
and the hover bands that carry each line's value at a step."""

from __future__ import annotations

import itertools

import pytest

from reconciler.report.chart import Line, fmt, layout, nice_ticks, thin


@pytest.mark.parametrize(("lo", "hi", "want"), [
    (0, 100, [0, 20, 40, 60, 80, 100]),
    (1, 36, [10, 20, 30]),
    (0, 7, [0, 2, 4, 6]),
    (5, 5, [5]),
    (0.1, 0.5, [0.1, 0.2, 0.3, 0.4, 0.5]),
    (1, 1234, [500, 1000]),
])
def test_nice_ticks(lo: float, hi: float, want: list[float]) -> None:
    assert nice_ticks(lo, hi) == want


@pytest.mark.parametrize(("value", "text"), [(3840, "3,840"), (12.0, "12"), (0.41234, "0.412"), (1.23456, "1.235")])
def test_fmt(value: float, text: str) -> None:
    assert fmt(value) == text


def test_thin_keeps_ends() -> None:
    pts = [(float(i), 0.0) for i in range(101)]
    out = thin(pts, 5)
    assert [x for x, _ in out] == [0, 25, 50, 75, 100]
    assert thin(pts[:3], 5) == pts[:3]


def test_x_axis_labels_beyond_first_and_last() -> None:
    c = layout("t", [Line("train_loss", [(float(s), 1.0 / s) for s in range(1, 61)], "train loss")], 400)
    assert c is not None
    assert [t.label for t in c.x_ticks] == ["10", "20", "30", "40", "50", "60"]
    assert len(c.y_ticks) == 4


def test_hover_bands_name_every_line_at_their_step() -> None:
    train = Line("train_loss", [(1.0, 0.9), (2.0, 0.7), (3.0, 0.5), (4.0, 0.4)], "train loss")
    valid = Line("valid_loss", [(2.0, 0.8), (4.0, 0.6)], "valid loss")
    c = layout("t", [train, valid], 400, hovers=10)
    assert c is not None
    assert [h.text for h in c.hovers] == ["step 1: train loss 0.9", "step 2: train loss 0.7 · valid loss 0.8",
                                          "step 3: train loss 0.5", "step 4: train loss 0.4 · valid loss 0.6"]
    # bands tile the plot without gaps
    xs = [(float(h.x), float(h.width)) for h in c.hovers]
    assert all(abs(a + w - b) < 0.2 for (a, w), (b, _) in itertools.pairwise(xs))


def test_hover_bands_are_bounded() -> None:
    long = Line("train_loss", [(float(s), 1.0) for s in range(5000)], "train loss")
    c = layout("t", [long], 60, hovers=8)
    assert c is not None and len(c.hovers) == 8 and c.curves[0].d.count("L") == 59 and c.curves[0].dots == ""


def test_a_shared_scale_places_equal_values_at_equal_heights() -> None:
    a = layout("a", [Line("train_loss", [(1.0, 0.5), (2.0, 0.4)], "a")], 400, y_range=(0.0, 2.0))
    b = layout("b", [Line("train_loss", [(1.0, 0.5), (2.0, 1.9)], "b")], 400, y_range=(0.0, 2.0))
    assert a is not None and b is not None
    assert a.y_ticks == b.y_ticks
    assert a.curves[0].d.split("L")[0].split(",")[1] == b.curves[0].d.split("L")[0].split(",")[1]


def test_nothing_to_draw() -> None:
    assert layout("t", [Line("train_loss", [], "x")], 400) is None


@pytest.mark.parametrize(("jobs", "hovers", "ticks"), [(1, 40, 5), (100, 30, 5), (300, 10, 5), (500, 6, 3),
                                                       (750, 4, 3), (751, 0, 3), (1000, 0, 3)])
def test_hover_bands_share_a_page_budget(jobs: int, hovers: int, ticks: int) -> None:
    from reconciler.report.html import budget

    assert (budget(jobs).hovers, budget(jobs).ticks) == (hovers, ticks)
    c = layout("t", [Line("train_loss", [(float(s), 1.0) for s in range(100)], "x")], 60, hovers=budget(jobs).hovers)
    assert c is not None and len(c.hovers) == hovers


def test_no_x_label_runs_into_the_axis_name() -> None:
    c = layout("t", [Line("train_loss", [(float(s), 1.0) for s in range(0, 101)], "x")], 400)
    assert c is not None and [t.label for t in c.x_ticks] == ["20", "40", "60", "80", "100"]
