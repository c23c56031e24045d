"""The HTML renderer as a pure function: escaping, one SVG path per curve, empty data, thinning,
and that the page needs nothing from the network."""

from __future__ import annotations

import re

from reconciler.report.gather import parse_events, parse_result_csv
from reconciler.report.html import points_budget, render_html
from reconciler.report.model import Checkpoint, Cost, FindingRow, Grant, JobReport, Report, Series

EVIL = "<script>alert('x')</script>&\""


def _report(jobs: tuple[JobReport, ...] = (), findings: tuple[FindingRow, ...] = ()) -> Report:
    return Report(generated_at=1_700_000_000.0, now=1_700_003_600.0, spec_dir="specs", state_file="state/x.json",
                  summary="IN SYNC: no drift; health: ok (0 managed objects checked)", in_sync=True, healthy=True,
                  jobs=jobs, findings=findings)


def _job(address: str = "FineTuningJob.bot", **kw: object) -> JobReport:
    base: dict[str, object] = {"id": "ftjob-1", "status": "succeeded", "model": "gpt-4o-mini", "method": "supervised",
                               "created_at": 1_700_000_000.0, "trained_tokens": 3840}
    base.update(kw)
    return JobReport(address, **base)  # type: ignore[arg-type]


def _curve(name: str, n: int = 3) -> Series:
    return Series(name, tuple((float(i * 10), 1.0 / (i + 1)) for i in range(n)))


def test_api_text_is_escaped_everywhere() -> None:
    job = _job(status=EVIL, model=EVIL, method=EVIL, error=EVIL, fine_tuned_model=EVIL, notes=(EVIL,),
               series=(Series(EVIL, ((1.0, 1.0), (2.0, 0.5))),),
               checkpoints=(Checkpoint(EVIL, id=EVIL, step=3, metrics=((EVIL, 1.0),), selected_by=(EVIL,),
                                       grants=(Grant(EVIL, EVIL, EVIL),)),))
    report = _report((job,), (FindingRow("drift", EVIL, EVIL, EVIL, True, EVIL),))
    page = render_html(report)
    assert "<script" not in page
    assert "alert('x')" not in page
    assert page.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;") >= 8


def test_one_svg_path_per_curve_and_per_job() -> None:
    a = _job("FineTuningJob.a", series=(_curve("train_loss"), _curve("valid_loss"), _curve("train_mean_token_accuracy")))
    b = _job("FineTuningJob.b", id="ftjob-2", series=(_curve("train_loss"),))
    page = render_html(_report((a, b)))
    articles = re.findall(r'<article class="job" id="([^"]+)">(.*?)</article>', page, re.S)
    assert [name for name, _ in articles] == ["job-FineTuningJob-a", "job-FineTuningJob-b"]
    paths = {name: re.findall(r'<path class="curve s-([a-z_]+)" data-series="\1" d="M[^"]+"', body)
             for name, body in articles}
    assert paths == {"job-FineTuningJob-a": ["train_loss", "valid_loss", "train_mean_token_accuracy"],
                     "job-FineTuningJob-b": ["train_loss"]}
    assert page.count('<svg class="chart"') == 3  # a: loss + accuracy, b: loss only


def test_empty_workspace_and_job_without_metrics() -> None:
    page = render_html(_report())
    assert "No fine-tuning jobs in this workspace." in page
    assert "Nothing drifted and every job is healthy." in page
    assert "<svg" not in page
    page = render_html(_report((_job(status="queued", checkpoints=()),)))
    assert "No training metrics yet." in page and "No checkpoints yet." in page
    assert "<svg" not in page


def test_long_runs_are_thinned_to_the_budget() -> None:
    job = _job(series=(_curve("train_loss", 10_000),))
    page = render_html(_report((job,)), points_per_series=50)
    d = re.search(r'data-series="train_loss" d="([^"]+)"', page)
    assert d is not None
    assert d.group(1).count("L") == 49
    assert points_budget(1) == 400 and points_budget(1000) == 60 and points_budget(100_000) == 24


def test_page_is_self_contained() -> None:
    job = _job(series=(_curve("train_loss"),), cost=Cost("spent", 12.5, "3,840 trained tokens"))
    page = render_html(_report((job,)))
    assert not re.search(r"<script|<link|src=|url\(|@import", page)
    assert not re.search(r"https?://", page)
    assert "@media (prefers-color-scheme:dark)" in page and "@media print" in page
    assert "<th>cost</th>" in page
    assert "<th>cost</th>" not in render_html(_report((_job(),)))  # no cost column without data


def test_selected_checkpoint_and_grants_are_marked() -> None:
    cp = Checkpoint("ft:m:ckpt-step-36", id="ftckpt_1", step=36, metrics=(("valid_loss", 0.1),),
                    selected_by=("data.FineTuningJobCheckpoints.best",),
                    grants=(Grant("proj_a", "cp_1", "CheckpointPermission.share"), Grant("proj_x", "cp_2")))
    page = render_html(_report((_job(checkpoints=(cp,)),)))
    assert 'class="selected"' in page and "selected by data.FineTuningJobCheckpoints.best" in page
    assert "proj_a</code>" in page and "proj_x</code> <span class=\"muted-text\">(unmanaged)</span>" in page


def test_metrics_from_events_and_from_the_result_file() -> None:
    events = [{"type": "metrics", "data": {"step": 20, "train_loss": 0.5, "train_mean_token_accuracy": 0.8}},
              {"type": "message", "message": "Step 1"},
              {"type": "metrics", "data": {"step": 10, "train_loss": 0.9, "valid_loss": "nan"}}]
    series = {s.name: s.points for s in parse_events(events)}
    assert series == {"train_loss": ((10.0, 0.9), (20.0, 0.5)), "train_mean_token_accuracy": ((20.0, 0.8),)}
    csv = b"step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n1,0.9,0.5,,\n2,0.4,0.7,0.45,0.66\n"
    series = {s.name: s.points for s in parse_result_csv(csv)}
    assert series == {"train_loss": ((1.0, 0.9), (2.0, 0.4)), "valid_loss": ((2.0, 0.45),),
                      "train_mean_token_accuracy": ((1.0, 0.5), (2.0, 0.7)),
                      "valid_mean_token_accuracy": ((2.0, 0.66),)}
