"""Unknown money is never shown as money: every renderer that adds up spend says "unknown" for a
figure it does not know, "≥ $X" for a sum with unknown parts, JSON null and an empty CSV cell with
`cost_known`. Table-driven per renderer, and once through the real CLI against the sandbox."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from reconciler.cost.pricing import Price, PriceTable
from reconciler.cost.spend import group_spend, job_spend
from reconciler.cost.spend_summary import spend_summary
from reconciler.drift.findings import DriftReport
from reconciler.render.cost import money_sum, spend_csv, spend_json, spend_markdown, spend_text
from reconciler.render.drift import render, spend_total_line
from reconciler.report.html import total_money
from reconciler.report.model import CostTotal
from tests.e2e.conftest import JOB_SPEC, World

MINI = "gpt-4o-mini-2024-07-18"
PRICES = PriceTable([Price(MINI, "supervised", 3.0, "1M tokens")])


def _job(job_id: str, tokens: int | None, team: str = "support", status: str = "succeeded") -> dict[str, Any]:
    return {"id": job_id, "model": MINI, "status": status, "trained_tokens": tokens,
            "method": {"type": "supervised"}, "metadata": {"team": team}}


KNOWN = ("FineTuningJob.a", _job("ftjob-a", 1_000_000))
RUNNING = ("FineTuningJob.r", _job("ftjob-r", None, status="running"))
OTHER_RUNNING = ("FineTuningJob.s", _job("ftjob-s", None, team="search", status="running"))


@pytest.mark.parametrize(("known", "unknown", "count", "counted", "shown"), [
    (3.0, 0, 1, True, "$3.00"),
    (0.0, 0, 0, True, "$0.00"),
    (0.001, 0, 1, True, "<$0.01"),
    (3.0, 1, 2, True, "≥ $3.00 (1 unknown)"),
    (3.0, 1, 2, False, "≥ $3.00"),
    (0.0, 2, 2, True, "unknown"),
    (0.0, 1, 1, False, "unknown"),
])
def test_money_sum(known: float, unknown: int, count: int, counted: bool, shown: str) -> None:
    assert money_sum(known, unknown, count, counted=counted) == shown


# (jobs, the group's usd, the total line of `cost`, the drift summary's line head, JSON usd, complete)
CASES = [
    ([KNOWN], 3.0, "Total spend: $3.00 (1 job)", "Spend so far: $3.00 (", 3.0, True),
    ([KNOWN, RUNNING], 3.0, "Total spend: ≥ $3.00 (2 jobs; 1 unknown)", "Spend so far: ≥ $3.00 (", 3.0, False),
    ([RUNNING], None, "Total spend: unknown (1 job; 1 unknown)", "Spend so far: unknown (", None, False),
]


@pytest.mark.parametrize(("jobs", "group_usd", "total", "drift_head", "json_usd", "complete"), CASES)
def test_each_renderer_that_sums_spend(jobs: list[tuple[str, dict[str, Any]]], group_usd: float | None, total: str,
                                       drift_head: str, json_usd: float | None, complete: bool) -> None:
    rows = [job_spend(address, job, PRICES) for address, job in jobs]
    groups = group_spend(rows, "team")
    assert groups[0]["usd"] == group_usd
    # `reconciler cost`: text, Markdown, JSON, CSV, by job and by team
    for by, grouped in ((None, []), ("team", groups)):
        text = spend_text(rows, by, grouped)
        assert total in text and "$0.00" not in text
        markdown = spend_markdown(rows, by, grouped)
        assert "$0.00" not in markdown
        data = spend_json(rows, by, grouped)
        assert (data["usd"], data["complete"]) == (json_usd, complete)
        table = list(csv.DictReader(io.StringIO(spend_csv(rows, by, grouped))))
        assert all(r["usd"] != "0.000000" for r in table)
        for r in table:
            assert r["cost_known"] in ("true", "false")
            assert (r["usd"] == "") == (r["cost_known"] == "false" and (by is None or r["unknown"] == r["jobs"]))
    # drift's spend summary: the total line, the team table, JSON
    summary = spend_summary(jobs, PRICES)
    assert spend_total_line(summary).startswith(drift_head)
    report = DriftReport(findings=[], checked=len(jobs), generated_at=0.0)
    drift_text = render("text", report, summary)
    assert "$0.00" not in drift_text
    assert summary.to_dict()["usd"] == json_usd and summary.to_dict()["complete"] is complete


def test_a_team_whose_spend_is_all_unknown_shows_unknown_and_sorts_last() -> None:
    rows = [job_spend(a, j, PRICES) for a, j in (OTHER_RUNNING, KNOWN, RUNNING)]
    groups = group_spend(rows, "team")
    assert [(g["team"], g["usd"], g["unknown"]) for g in groups] == [("support", 3.0, 1), ("search", None, 1)]
    lines = spend_text(rows, "team", groups).splitlines()
    assert lines[1].split() == ["support", "2", "1,000,000", "≥", "$3.00", "1"]
    assert lines[2].split() == ["search", "1", "0", "unknown", "1"]
    table = list(csv.DictReader(io.StringIO(spend_csv(rows, "team", groups))))
    assert [(r["team"], r["usd"], r["cost_known"], r["unknown"]) for r in table] == [
        ("support", "3.000000", "false", "1"), ("search", "", "false", "1")]


@pytest.mark.parametrize(("total", "shown"), [
    (CostTotal(3.75, 1, 1, 0), "$3.75"), (CostTotal(3.75, 1, 1, 1), "≥ $3.75"), (CostTotal(0.0, 0, 0, 2), "unknown"),
    (CostTotal(0.0, 0, 0, 0), "$0.00")])
def test_the_report_page_total(total: CostTotal, shown: str) -> None:
    assert total_money(total) == shown


def test_cost_and_drift_of_a_job_still_training_through_the_cli(world: World) -> None:
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")   # the job has not trained: its spend is unknown
    text = world.ok("cost", "--by", "team").output
    assert text.splitlines()[1].split() == ["support", "1", "0", "unknown", "1"]
    assert "Total spend: unknown (1 job; 1 unknown)" in text and "$0.00" not in text
    rows = list(csv.DictReader(io.StringIO(world.ok("cost", "--format", "csv").output)))
    assert [(r["address"], r["usd"], r["cost_known"]) for r in rows] == [("FineTuningJob.bot", "", "false")]
    assert json.loads(world.ok("cost", "--json").output)["usd"] is None
    drift = world.run("drift", "--cost").output
    assert "Spend so far: unknown (1 managed job" in drift and "$0.00" not in drift
