"""The report's cost column: per job the spend once the API reports trained_tokens, the estimate of a
job still to train, "unknown" with the reason otherwise, and the total. Table-driven without a server
(report/costs.py, the HTML cell), then end to end: the real CLI against the real sandbox, where the
page's figures equal `reconciler cost` (spent) and `plan --json` (estimates)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from reconciler.cost.estimate import JobCost
from reconciler.cost.pricing import Price, PriceTable
from reconciler.report.costs import job_cost, total
from reconciler.report.html import cost_total_line, render_html
from reconciler.report.model import Cost, CostTotal, JobReport, Report
from tests.e2e.conftest import JOB_SPEC, World

PRICES = PriceTable([Price("gpt-4o-mini-2024-07-18", "supervised", 3.0, "1M tokens"),
                     Price("o4-mini-2025-04-16", "reinforcement", 100.0, "hour")])
MINI = "gpt-4o-mini-2024-07-18"
ESTIMATE = JobCost("FineTuningJob.bot", MINI, "supervised", examples=12, tokens_per_epoch=400, epochs=8,
                   epochs_auto=True, billed_tokens=3200, usd=0.0096, price=PRICES.lookup(MINI, "supervised"))
NO_PRICE = JobCost("FineTuningJob.bot", "gpt-4.1-mini-2025-04-14", "supervised", reason="no price for "
                   "gpt-4.1-mini-2025-04-14 (supervised)")


def _job(status: str, tokens: int | None = None, model: str = MINI, method: str = "supervised") -> dict[str, Any]:
    return {"id": "ftjob-1", "status": status, "model": model, "trained_tokens": tokens,
            "method": {"type": method}}


CASES: list[tuple[str, dict[str, Any], PriceTable | None, JobCost | None, str, float | None, str]] = [
    # name, job, prices, estimate, kind, usd, a piece of the detail
    ("succeeded: spent", _job("succeeded", 3200), PRICES, ESTIMATE, "spent", 0.0096, "3,200 trained tokens at $3.00"),
    ("running: the estimate", _job("running"), PRICES, ESTIMATE, "estimate", 0.0096, "auto (→ 8) epochs"),
    ("not created: the estimate", {"status": "not created (create)"}, PRICES, ESTIMATE, "estimate", 0.0096,
     "3,200 billed tokens"),
    ("no price: unknown", {"status": "not created (create)"}, PRICES, NO_PRICE, "unknown", None,
     "no price for gpt-4.1-mini-2025-04-14 (supervised)"),
    ("cancelled: never guessed", _job("cancelled"), PRICES, ESTIMATE, "unknown", None,
     "no trained_tokens reported (status cancelled)"),
    ("succeeded, model without a price", _job("succeeded", 3200, model="gpt-4.1-mini-2025-04-14"), PRICES, None,
     "unknown", None, "no price for gpt-4.1-mini-2025-04-14"),
    ("reinforcement: hourly", _job("succeeded", 10, model="o4-mini-2025-04-16", method="reinforcement"), PRICES,
     None, "unknown", None, "per hour of training"),
    ("running, spec not in the workspace", _job("running"), PRICES, None, "unknown", None,
     "no trained_tokens reported (status running)"),
]


@pytest.mark.parametrize(("name", "job", "prices", "estimate", "kind", "usd", "detail"), CASES,
                         ids=[c[0] for c in CASES])
def test_job_cost(name: str, job: dict[str, Any], prices: PriceTable | None, estimate: JobCost | None, kind: str,
                  usd: float | None, detail: str) -> None:
    cost = job_cost("FineTuningJob.bot", job, prices, estimate)
    assert cost is not None
    assert cost.kind == kind and detail in cost.detail, cost
    assert cost.usd == (pytest.approx(usd) if usd is not None else None)


def test_no_price_table_no_cost() -> None:
    assert job_cost("FineTuningJob.bot", _job("succeeded", 3200), None, None) is None


def test_total_and_its_line() -> None:
    costs = [Cost("spent", 1.5), Cost("estimate", 2.25), Cost("unknown", None, "why"), None]
    assert total(costs) == CostTotal(3.75, 1, 1, 1)
    assert cost_total_line(total(costs)) == "Total cost: ≥ $3.75 (1 spent, 1 estimated; 1 unknown)"
    assert cost_total_line(CostTotal(0.0, 0, 0, 2)) == "Total cost: unknown (no known figure; 2 unknown)"
    assert cost_total_line(CostTotal(3.75, 1, 1, 0)) == "Total cost: $3.75 (1 spent, 1 estimated)"


def test_the_page_shows_each_kind_and_the_total() -> None:
    jobs = (JobReport("FineTuningJob.a", "ftjob-1", "succeeded", cost=Cost("spent", 1.5, "500,000 trained tokens")),
            JobReport("FineTuningJob.b", None, "not created (create)", cost=Cost("estimate", 0.004, "x")),
            JobReport("FineTuningJob.c", None, "not created (create)", cost=Cost("unknown", None, "no <price>")))
    report = Report(generated_at=0.0, now=0.0, spec_dir="s", state_file="t", summary="IN SYNC", in_sync=True,
                    healthy=True, jobs=jobs, cost_total=total(j.cost for j in jobs))
    page = render_html(report)
    assert '<th>cost</th>' in page
    cells = re.findall(r'<td data-label="cost">(.*?)</td>', page)
    assert len(cells) == 3
    assert 'data-usd="1.500000"' in cells[0] and "$1.50" in cells[0] and "spent" in cells[0]
    assert "&lt;$0.01" in cells[1] and "estimate" in cells[1]
    assert "unknown" in cells[2] and "no &lt;price&gt;" in cells[2]
    assert 'id="cost-total" data-usd="1.504000">Total cost: ≥ $1.50 (1 spent, 1 estimated; 1 unknown)</p>' in page
    assert "<dt>cost</dt><dd>$1.50 spent (500,000 trained tokens)</dd>" in page


# ---- end to end --------------------------------------------------------------------------------

MORE_JOBS = """\
---
kind: FineTuningJob
name: next
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  metadata: {team: search}
  method: {type: supervised, supervised: {hyperparameters: {n_epochs: 2}}}
---
kind: FineTuningJob
name: nano
spec:
  model: gpt-3.5-turbo-1106
  training_file: ${File.train.id}
  method: {type: supervised, supervised: {hyperparameters: {n_epochs: 2}}}
"""

RUNNING_JOB = """\
---
kind: FineTuningJob
name: running
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  method: {type: supervised, supervised: {hyperparameters: {n_epochs: 3}}}
"""


def _estimates(w: World) -> dict[str, dict[str, Any]]:
    data = json.loads(w.ok("plan", "--json").stdout)
    return {c["address"]: c["cost"] for c in data["resource_changes"] if "cost" in c}


def _cells(page: str) -> dict[str, str]:
    rows = re.findall(r'<tr><td data-label="address"><a href="#[^"]+">([^<]+)</a></td>(.*?)</tr>', page, re.S)
    out = {}
    for address, body in rows:
        cell = re.search(r'<td data-label="cost">(.*?)</td>', body, re.S)
        assert cell is not None, address
        out[address] = cell.group(1)
    return out


def _usd(cell: str) -> float:
    found = re.search(r'data-usd="([0-9.]+)"', cell)
    assert found is not None, cell
    return float(found.group(1))


def test_report_costs_equal_the_spend_and_the_plan_estimates(world: World) -> None:
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.write("main.yaml", JOB_SPEC + RUNNING_JOB)
    running_estimate = _estimates(world)["FineTuningJob.running"]
    world.ok("apply", "--auto-approve")  # created, left running (the clock is not moved)
    world.write("main.yaml", JOB_SPEC + RUNNING_JOB + MORE_JOBS)
    estimates = _estimates(world)
    spent = {item["address"]: item for item in json.loads(world.ok("cost", "--json").stdout)["items"]}
    assert spent["FineTuningJob.bot"]["usd"] > 0 and spent["FineTuningJob.running"]["usd"] is None

    page_file = world.root / "report.html"
    world.ok("report", "--html", str(page_file))
    page = page_file.read_text()
    cells = _cells(page)
    assert sorted(cells) == ["FineTuningJob.bot", "FineTuningJob.nano", "FineTuningJob.next",
                             "FineTuningJob.running"]
    assert "spent" in cells["FineTuningJob.bot"]
    assert _usd(cells["FineTuningJob.bot"]) == pytest.approx(spent["FineTuningJob.bot"]["usd"], abs=1e-6)
    assert "estimate" in cells["FineTuningJob.running"]
    assert _usd(cells["FineTuningJob.running"]) == pytest.approx(running_estimate["usd"], abs=1e-6)
    assert "estimate" in cells["FineTuningJob.next"]
    assert _usd(cells["FineTuningJob.next"]) == pytest.approx(estimates["FineTuningJob.next"]["usd"], abs=1e-6)
    assert "unknown" in cells["FineTuningJob.nano"]
    assert "no price for gpt-3.5-turbo-1106 (supervised)" in cells["FineTuningJob.nano"]

    expected = (spent["FineTuningJob.bot"]["usd"] + running_estimate["usd"] + estimates["FineTuningJob.next"]["usd"])
    total_line = re.search(r'<p class="total" id="cost-total" data-usd="([0-9.]+)">([^<]+)</p>', page)
    assert total_line is not None
    assert float(total_line.group(1)) == pytest.approx(expected, abs=1e-5)
    assert total_line.group(2).endswith("(1 spent, 2 estimated; 1 unknown)")
