"""The data the ML engineer's view is built from, table-driven: instance addresses, resolved
hyperparameters (with what `auto` became), durations, the ages on the API's clock, a sweep's
ranking by its data source's metric, and the job ids a checkpoint data source names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from reconciler.report.gather import _job_ids
from reconciler.report.html import age, render_html, span
from reconciler.report.model import Checkpoint, Hyperparameter, JobReport, Report, Series
from reconciler.report.sweeps import Pick, hyperparameters, instance, sweeps


@pytest.mark.parametrize(("address", "want"), [
    ('FineTuningJob.sweep["lr=0.5,epochs=1"]', ("FineTuningJob.sweep", "lr=0.5,epochs=1")),
    ("FineTuningJob.bot", ("FineTuningJob.bot", "")),
    ('FineTuningJob.x["a"]', ("FineTuningJob.x", "a")),
])
def test_instance(address: str, want: tuple[str, str]) -> None:
    assert instance(address) == want


SUPERVISED = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3, "batch_size": 1,
                                                                       "learning_rate_multiplier": 1.8}}}


@pytest.mark.parametrize(("job", "requested", "want"), [
    # resolved by the API, the spec left batch size and LR multiplier to it
    ({"method": SUPERVISED}, {"method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}}},
     [("n_epochs", "3", False), ("batch_size", "1", True), ("learning_rate_multiplier", "1.8", True)]),
    # "auto" said explicitly counts as left to the API
    ({"method": SUPERVISED}, {"method": {"type": "supervised", "supervised": {"hyperparameters": {
        "n_epochs": "auto", "batch_size": 1, "learning_rate_multiplier": 1.8}}}},
     [("n_epochs", "3", True), ("batch_size", "1", False), ("learning_rate_multiplier", "1.8", False)]),
    # not resolved yet (queued): shown as auto, not marked
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": "auto"}}}}, None,
     [("n_epochs", "auto", False)]),
    # the deprecated top-level hyperparameters, DPO's beta after the ones a reader expects
    ({"hyperparameters": {"beta": 0.1, "n_epochs": 2}}, {"hyperparameters": {"n_epochs": 2}},
     [("n_epochs", "2", False), ("beta", "0.1", True)]),
    ({}, None, []),
])
def test_hyperparameters(job: dict[str, Any], requested: dict[str, Any] | None,
                         want: list[tuple[str, str, bool]]) -> None:
    assert [(h.name, h.value, h.auto) for h in hyperparameters(job, requested)] == want


@pytest.mark.parametrize(("seconds", "text"), [(None, "—"), (0, "0s"), (59, "59s"), (140, "2m"), (3600, "1h 0m"),
                                               (25_560, "7h 6m"), (3 * 86400 + 4 * 3600, "3d 4h")])
def test_span(seconds: float | None, text: str) -> None:
    assert span(seconds) == text


def test_duration_is_created_to_finished() -> None:
    assert JobReport("FineTuningJob.a", "j", "succeeded", created_at=100.0, finished_at=400.0).duration == 300.0
    assert JobReport("FineTuningJob.a", "j", "running", created_at=100.0).duration is None


def test_times_and_ages_share_the_api_clock() -> None:
    """The page's `generated` time is the API's clock its ages are measured on: a sandbox whose
    clock ran an hour ahead shows created 05:00, generated 06:00, age 1h 0m, and names this
    machine's clock beside it."""
    job = JobReport("FineTuningJob.a", "j", "succeeded", created_at=1_700_002_800.0, finished_at=1_700_002_940.0)
    report = Report(generated_at=1_700_002_800.0 + 10, now=1_700_006_400.0, spec_dir="s", state_file="f",
                    summary="IN SYNC", in_sync=True, healthy=True, jobs=(job,))
    page = render_html(report)
    assert "generated 2023-11-15 00:00 UTC on the API's clock (this machine's: 2023-11-14 23:00 UTC)" in page
    assert '<td data-label="age">1h 0m</td><td data-label="duration">2m</td>' in page
    assert age(report.now, job.created_at) == "1h 0m"
    same = Report(generated_at=1_700_006_400.0, now=1_700_006_400.0, spec_dir="s", state_file="f", summary="x",
                  in_sync=True, healthy=True)
    assert "this machine" not in render_html(same)


def _run(key: str, job_id: str, valid: list[float], *, picked: bool = False, series_only: bool = False) -> JobReport:
    checkpoints = () if series_only else tuple(
        Checkpoint(f"ckpt-{job_id}-{i}", id=f"{job_id}-c{i}", step=i, metrics=(("valid_loss", v),),
                   selected_by=("data.FineTuningJobCheckpoints.best",) if picked and v == min(valid) else ())
        for i, v in enumerate(valid, 1))
    series = (Series("valid_loss", tuple((float(i), v) for i, v in enumerate(valid, 1))),)
    return JobReport(f'FineTuningJob.sweep["{key}"]', job_id, "succeeded", series=series, checkpoints=checkpoints,
                     sweep="FineTuningJob.sweep", run=key)


@dataclass
class Case:
    jobs: list[JobReport]
    picks: list[Pick]
    want: list[tuple[str, float | None, bool]]
    metric: str = "valid_loss"


CASES = {
    "ranked by the data source's lowest valid_loss, best checkpoint per run": Case(
        [_run("a", "j1", [0.9, 0.5, 0.6]), _run("b", "j2", [0.8, 0.3], picked=True), _run("c", "j3", [])],
        [Pick("data.FineTuningJobCheckpoints.best", ("j1", "j2", "j3"), {"lowest": "valid_loss"}, "j2-c2")],
        [("b", 0.3, True), ("a", 0.5, False), ("c", None, False)]),
    "highest: the larger value first": Case(
        [_run("a", "j1", [0.2, 0.4]), _run("b", "j2", [0.7])],
        [Pick("data.FineTuningJobCheckpoints.top", ("j1", "j2"), {"highest": "valid_loss"}, None)],
        [("b", 0.7, False), ("a", 0.4, False)]),
    "no data source: valid_loss, the last logged value when no checkpoint": Case(
        [_run("a", "j1", [0.9, 0.4], series_only=True), _run("b", "j2", [0.2, 0.5], series_only=True)], [],
        [("a", 0.4, False), ("b", 0.5, False)]),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_sweep_ranking(case: Case) -> None:
    found = sweeps(case.jobs, case.picks)
    assert len(found) == 1 and found[0].metric == case.metric
    assert [(r.run, r.value, r.selected) for r in found[0].runs] == case.want


def test_one_instance_or_plain_jobs_are_no_sweep() -> None:
    plain = JobReport("FineTuningJob.a", "j", "succeeded")
    assert sweeps([plain, _run("only", "j1", [0.5])], []) == ()


@dataclass
class _Res:
    id: str | None


@dataclass
class _State:
    resources: dict[str, _Res]


STATE = _State({'FineTuningJob.sweep["a"]': _Res("j1"), 'FineTuningJob.sweep["b"]': _Res("j2"),
                "FineTuningJob.one": _Res("j9"), "FineTuningJob.new": _Res(None)})


@pytest.mark.parametrize(("value", "want"), [
    ("ftjob-literal", ["ftjob-literal"]),
    ("${FineTuningJob.one.id}", ["j9"]),
    (['${FineTuningJob.sweep["a"].id}', '${FineTuningJob.sweep["b"].id}'], ["j1", "j2"]),
    ("${FineTuningJob.sweep[*].id}", ["j1", "j2"]),
    (["${FineTuningJob.new.id}", "${FineTuningJob.one.fine_tuned_model}", "ftjob-x"], ["ftjob-x"]),
    (None, []),
])
def test_job_ids_a_data_source_names(value: Any, want: list[str]) -> None:
    assert _job_ids(value, STATE) == want


def test_page_shows_hyperparameters_seed_and_one_overlay_per_sweep() -> None:
    hp = (Hyperparameter("n_epochs", "2"), Hyperparameter("batch_size", "1", auto=True))
    a = _run("lr=0.5", "j1", [0.9, 0.5])
    b = _run("lr=1.0", "j2", [0.8, 0.3], picked=True)
    jobs = tuple(JobReport(**{**j.__dict__, "hyperparameters": hp, "seed": 42,
                              "series": (*j.series, Series("train_loss", ((1.0, 1.0), (2.0, 0.6))))}) for j in (a, b))
    report = Report(generated_at=0.0, now=0.0, spec_dir="s", state_file="f", summary="x", in_sync=True, healthy=True,
                    jobs=jobs, sweeps=sweeps(jobs, []))
    page = render_html(report)
    assert page.count('<svg class="chart"') == 3  # one overlay + each run's loss chart
    assert page.count('class="curve run r') == 4  # 2 runs x (train, valid)
    assert '<span class="hp">epochs 2</span> · <span class="hp">batch size 1 <small>(auto)</small></span>' in page
    assert "<dt>seed</dt><dd>42</dd>" in page
    assert '<tr class="run-row selected"><td>1</td>' in page and '<span class="badge pick">selected</span>' in page
