"""The comparisons the report reads from a recordings folder, table-driven: what `compare`
writes is read back, anything else is refused in one line naming the file; the histogram's bars;
hostile answers are text on the page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ConfigError
from reconciler.kinds.evaluation.grading import summarise
from reconciler.report.chart import histogram
from reconciler.report.comparisons import read_comparisons
from reconciler.report.html import render_html
from reconciler.report.model import Report

EVIL = "<script>alert('x')</script>&\""


def _written(scores: list[float], threshold: float = 0.9, **extra: Any) -> dict[str, Any]:
    """A report.json as recording/compare.py writes it."""
    worst = [{"index": i, "prompt_id": f"p{i}", "prompt": f"Q{i} {EVIL}", "recorded": f"A{i} {EVIL}",
              "answer": f"B{i}", "score": s} for i, s in sorted(enumerate(scores), key=lambda x: x[1])[:2]]
    return {"version": 1, "address": "FineTuningJob.bot", "recorded": "ft:gpt-4o-mini:org::abc",
            "candidate": "gpt-4.1-mini", "grader": {"type": "text_similarity", "evaluation_metric": "fuzzy_match"},
            "summary": summarise(scores, threshold), "unscored": 1, "worst": worst, "folder": "x",
            "scores": [{"index": i, "prompt_id": f"p{i}", "score": s} for i, s in enumerate(scores)], **extra}


def _put(root: Path, address: str, model: str, data: Any) -> Path:
    path = root / address / "compare" / model / "report.json"
    path.parent.mkdir(parents=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_reads_what_compare_writes(tmp_path: Path) -> None:
    _put(tmp_path, "FineTuningJob.bot", "gpt-4.1-mini", _written([0.1, 0.55, 0.95, 1.0], threshold=0.5))
    _put(tmp_path, "FineTuningJob.bot", "self", {**_written([1.0, 1.0]), "candidate": "ft:self"})
    (tmp_path / "FineTuningJob.bot" / "recording").mkdir()
    found = read_comparisons(tmp_path)
    assert [(c.candidate, c.passed) for c in found] == [("ft:self", True), ("gpt-4.1-mini", True)]
    c = found[1]
    assert (c.grader, c.threshold, c.count, c.unscored, c.mean) == ("text_similarity:fuzzy_match", 0.5, 4, 1, 0.65)
    assert c.histogram == (0, 1, 0, 0, 0, 1, 0, 0, 0, 2)
    assert [(w.index, w.score) for w in c.worst] == [(0, 0.1), (1, 0.55)]


BAD = {
    "not JSON": ("{", "unreadable"),
    "another version": ({"version": 2, "summary": {}}, "not a comparison report this version reads"),
    "no summary": ({"version": 1}, "not a comparison report this version reads"),
    "histogram of nine": ({"version": 1, "summary": {"histogram": [0] * 9}}, "summary.histogram: expected ten counts"),
    "a score that is text": ({**_written([0.5]), "worst": [{"score": "high"}]}, "worst[0].score: expected a number"),
    "an infinite mean": ({**_written([0.5]), "summary": {**summarise([0.5], 0.9), "mean": float("inf")}},
                         "summary.mean: expected a number"),
}


@pytest.mark.parametrize(("data", "message"), BAD.values(), ids=BAD.keys())
def test_anything_else_is_one_line_naming_the_file(tmp_path: Path, data: Any, message: str) -> None:
    path = _put(tmp_path, "FineTuningJob.bot", "m", data)
    with pytest.raises(ConfigError) as err:
        read_comparisons(tmp_path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value) and "\n" not in str(err.value)


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        read_comparisons(tmp_path / "nope")


def test_histogram_bars_share_one_scale_and_mark_the_passing_buckets() -> None:
    h = histogram([0, 0, 1, 0, 0, 2, 0, 0, 0, 4], 0.5)
    heights = [float(b.height) for b in h.bars]
    assert heights[9] == 2 * heights[5] == 4 * heights[2] and heights[0] == 0
    assert [b.passing for b in h.bars] == [False] * 5 + [True] * 5
    assert h.bars[9].text == "score 0.9–1.0: 4 prompts" and h.bars[2].text == "score 0.2–0.3: 1 prompt"
    assert float(h.threshold) == pytest.approx((float(h.bars[5].x) - 1), abs=0.2)


def test_page_section_escapes_answers_and_says_when_nothing_was_compared(tmp_path: Path) -> None:
    _put(tmp_path, "FineTuningJob.bot", "gpt-4.1-mini", _written([0.2, 0.4]))
    base = Report(generated_at=0.0, now=0.0, spec_dir="s", state_file="f", summary="x", in_sync=True, healthy=True)
    page = render_html(Report(**{**base.__dict__, "recordings": str(tmp_path),
                                 "comparisons": read_comparisons(tmp_path)}))
    assert "<script" not in page
    assert '<div class="answer">A0 &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;</div>' in page
    assert '<span class="badge bad">FAIL</span>' in page and 'href="#comparisons"' in page
    empty = render_html(Report(**{**base.__dict__, "recordings": "recs"}))
    assert "No comparison in <code>recs</code> yet" in empty
    assert 'id="comparisons"' not in render_html(base)
