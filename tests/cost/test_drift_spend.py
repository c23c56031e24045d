"""Spend in drift reports: a summary per metadata `team` (or `--cost-by KEY`) when a managed job has
it, the total alone otherwise; in JSON and Markdown by default (what a scheduled CI job keeps and
posts), in text only with `--cost`, nowhere with `--no-cost`, never in JUnit. Table-driven without a
server (cost/spend_summary.py, render/drift.py), then the real CLI against the real sandbox: the
figures equal `reconciler cost`, and the summary costs no extra request."""

from __future__ import annotations

import importlib.resources
import json
from typing import Any

import jsonschema
import pytest

from reconciler.cost.pricing import Price, PriceTable
from reconciler.cost.spend_summary import spend_summary
from reconciler.drift.findings import DriftReport
from reconciler.render.drift import render, spend_total_line, spend_wanted
from tests.e2e.conftest import JOB_SPEC, World

MINI = "gpt-4o-mini-2024-07-18"
PRICES = PriceTable([Price(MINI, "supervised", 3.0, "1M tokens")])


def _job(job_id: str, tokens: int | None, team: str | None = None, model: str = MINI,
         status: str = "succeeded") -> dict[str, Any]:
    return {"id": job_id, "model": model, "status": status, "trained_tokens": tokens,
            "method": {"type": "supervised"}, "metadata": {"team": team} if team else {}}


JOBS = [("FineTuningJob.a", _job("ftjob-a", 1_000_000, "search")),
        ("FineTuningJob.b", _job("ftjob-b", 500_000, "search")),
        ("FineTuningJob.c", _job("ftjob-c", 2_000_000, "support")),
        ("FineTuningJob.d", _job("ftjob-d", None, "support", status="running")),
        ("FineTuningJob.e", _job("ftjob-e", 10, model="gpt-4.1-nano-2025-04-14"))]


@pytest.mark.parametrize(("kind", "cost", "wanted"), [
    ("json", None, True), ("markdown", None, True), ("text", None, False), ("junit", None, False),
    ("json", True, True), ("markdown", True, True), ("text", True, True), ("junit", True, False),
    ("json", False, False), ("markdown", False, False), ("text", False, False), ("junit", False, False)])
def test_which_forms_carry_spend(kind: str, cost: bool | None, wanted: bool) -> None:
    assert spend_wanted(kind, cost) is wanted


def test_grouped_by_team_when_a_job_has_one() -> None:
    spend = spend_summary(JOBS, PRICES)
    data = spend.to_dict()
    assert data["by"] == "team" and data["jobs"] == 5 and data["unknown"] == 2
    assert data["usd"] == pytest.approx(10.5) and data["complete"] is False   # a lower bound
    # a group with no known figure is null, never $0, and sorts after every known one
    assert [(g["team"], g["jobs"], g["usd"], g["unknown"]) for g in data["groups"]] == [
        ("support", 2, 6.0, 1), ("search", 2, 4.5, 0), ("(none)", 1, None, 1)]
    assert data["unknown_reasons"] == {"no price for gpt-4.1-nano-2025-04-14 (supervised)": 1,
                                       "no trained_tokens reported (status running)": 1}


def test_the_total_alone_without_the_key() -> None:
    spend = spend_summary(JOBS[:3], PRICES, "owner")
    assert spend.by is None and spend.groups == () and spend.usd == pytest.approx(10.5)
    assert spend_total_line(spend) == "Spend so far: $10.50 (3 managed jobs, 3,500,000 trained tokens)"


def _report() -> DriftReport:
    return DriftReport(findings=[], checked=5, generated_at=0.0, spec_dir="specs", state_file="state.json")


def test_each_form() -> None:
    spend = spend_summary(JOBS, PRICES)
    report = _report()
    text = render("text", report, spend)
    lines = text.splitlines()
    head = next(i for i, x in enumerate(lines) if x.startswith("Spend (managed jobs"))
    assert lines[head] == "Spend (managed jobs, trained_tokens × price, by team):"
    assert lines[head + 1].split() == ["team", "jobs", "trained", "tokens", "spend", "unknown"]
    assert lines[head + 2].split() == ["support", "2", "2,000,000", "≥", "$6.00", "1"]
    assert lines[head + 3].split() == ["search", "2", "1,500,000", "$4.50"]
    assert lines[head + 4].split() == ["(none)", "1", "10", "unknown", "1"]   # never $0.00
    ends = {lines[head + 2].index("$6.00") + 5, lines[head + 3].index("$4.50") + 5, lines[head + 4].index("unknown") + 7}
    assert len(ends) == 1  # the spend column right-aligned
    assert lines[-1].startswith("  Spend so far: ≥ $10.50 (5 managed jobs, 3,500,010 trained tokens; 2 unknown: ")
    assert "Spend" not in render("text", report)

    markdown = render("markdown", report, spend)
    assert "**Spend so far: ≥ $10.50 (5 managed jobs" in markdown and "| support | 2 | 2,000,000 | ≥ $6.00 | 1 |" in markdown
    assert "| (none) | 1 | 10 | unknown | 1 |" in markdown
    data = json.loads(render("json", report, spend))
    assert data["spend"]["usd"] == pytest.approx(10.5) and "spend" not in json.loads(render("json", report))
    schema = json.loads((importlib.resources.files("reconciler") / "render" / "schema" / "drift.schema.json")
                        .read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    assert "Spend" not in render("junit", report, spend)


def test_a_team_name_cannot_break_the_markdown_table() -> None:
    spend = spend_summary([("FineTuningJob.a", _job("ftjob-a", 1000, "a|b\nc"))], PRICES)
    assert "| a\\|b c | 1 |" in render("markdown", _report(), spend)


# ---- end to end --------------------------------------------------------------------------------

OTHER = """\
---
kind: FineTuningJob
name: search
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  metadata: {team: search}
  method: {type: supervised, supervised: {hyperparameters: {n_epochs: 2}}}
"""


def test_drift_reports_spend_by_team_as_reconciler_cost_does(world: World) -> None:
    world.write("main.yaml", JOB_SPEC + OTHER)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    expected = json.loads(world.ok("cost", "--by", "team", "--json").output)

    md, js, xml = (world.root / f"drift.{x}" for x in ("md", "json", "xml"))
    text = world.ok("drift", "--output", str(md), "--output", str(js), "--output", str(xml)).output
    assert text.startswith("IN SYNC") and "Spend" not in text  # text: only when asked
    report = json.loads(js.read_text())
    jsonschema.validate(report, json.loads((importlib.resources.files("reconciler") / "render" / "schema"
                                            / "drift.schema.json").read_text(encoding="utf-8")))
    spend = report["spend"]
    assert spend["by"] == "team" and spend["jobs"] == 2 and spend["unknown"] == 0
    assert spend["usd"] == pytest.approx(expected["usd"])
    assert {g["team"]: g["usd"] for g in spend["groups"]} == {g["team"]: g["usd"] for g in expected["groups"]}
    assert "**Spend so far: $" in md.read_text() and "| support | 1 |" in md.read_text()
    assert "Spend" not in xml.read_text()

    with_cost = world.ok("drift", "--cost").output
    assert "Spend (managed jobs, trained_tokens × price, by team):" in with_cost
    assert with_cost.rstrip().splitlines()[-1].startswith("  Spend so far: $")
    by_owner = json.loads(world.ok("drift", "--format", "json", "--cost-by", "owner").output)["spend"]
    assert by_owner["by"] is None and by_owner["groups"] == [] and by_owner["usd"] == pytest.approx(expected["usd"])

    # the summary reads nothing more than the report did
    world.sandbox.reset_stats()
    world.ok("drift", "--format", "json", "--no-cost")
    without = world.sandbox.stats()
    world.sandbox.reset_stats()
    data = json.loads(world.ok("drift", "--format", "json").output)
    assert "spend" in data and world.sandbox.stats() == without
    assert "spend" not in json.loads(world.ok("drift", "--format", "json", "--no-cost").output)


def test_a_running_job_is_unknown_with_the_reason(world: World) -> None:
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    spend = json.loads(world.ok("drift", "--format", "json").output)["spend"]
    assert spend["usd"] is None and spend["complete"] is False and spend["unknown"] == 1   # null, never 0
    assert list(spend["unknown_reasons"]) == ["no trained_tokens reported (status validating_files)"]
