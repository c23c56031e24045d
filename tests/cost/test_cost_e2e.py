"""Cost in the real CLI against the real sandbox over HTTP: the plan's estimate (text, JSON, Markdown),
the sandbox's `trained_tokens` agreeing with it, the token-count cache, and `reconciler cost`."""

from __future__ import annotations

import csv
import importlib.resources
import io
import json
from typing import Any

import jsonschema
import pytest

from tests.e2e.conftest import JOB_SPEC, World

SPEC_4_EPOCHS = JOB_SPEC.replace("n_epochs: auto", "n_epochs: 4")


def _plan_json(w: World, *args: str) -> dict[str, Any]:
    result = w.ok("plan", "--json", *args)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_plan_shows_the_cost_of_each_new_job_and_the_total(world: World) -> None:
    world.write("main.yaml", SPEC_4_EPOCHS)
    text = world.ok("plan").output
    line = next(x for x in text.splitlines() if "estimated cost:" in x)
    assert "12 examples" in line and "× 4 epochs" in line and "$3.00 / 1M tokens" in line
    assert "Estimated training cost: " in text and "(1 job)" in text

    data = _plan_json(world)
    schema = json.loads((importlib.resources.files("reconciler") / "render" / "schema" / "plan.schema.json")
                        .read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    assert data["format_version"] == "1.6"
    job = next(c for c in data["resource_changes"] if c["address"] == "FineTuningJob.bot")
    cost = job["cost"]
    assert cost["version"] == 1 and cost["examples"] == 12 and cost["epochs"] == 4 and not cost["epochs_auto"]
    assert cost["billed_tokens"] == cost["tokens_per_epoch"] * 4
    assert cost["usd"] == pytest.approx(cost["billed_tokens"] * 3.0 / 1e6)
    assert cost["price"]["per"] == "1M tokens" and cost["price"]["source"].startswith("https://")
    assert all("cost" not in c for c in data["resource_changes"] if c["kind"] == "File")
    summary = data["summary"]["cost"]
    assert summary["usd"] == pytest.approx(cost["usd"]) and summary["jobs"] == 1 and summary["complete"]

    markdown = world.ok("plan", "--format", "markdown").output
    assert "Estimated training cost:" in markdown and "| `FineTuningJob.bot` |" in markdown


def test_auto_epochs_are_shown_resolved(world: World) -> None:
    world.write("main.yaml", JOB_SPEC)
    text = world.ok("plan").output
    assert "auto (→ 8) epochs" in text  # 12 examples: the cookbook's rule gives 100 // 12 = 8
    assert _plan_json(world)["resource_changes"][1]["cost"]["epochs_auto"] is True


def test_a_model_without_a_price_is_unknown_with_the_reason(world: World) -> None:
    world.write("main.yaml", SPEC_4_EPOCHS.replace("model: gpt-4o-mini", "model: gpt-3.5-turbo-1106"))
    text = world.ok("plan").output
    assert "unknown: no price for gpt-3.5-turbo-1106 (supervised)" in text
    assert "Estimated training cost: unknown (1 job; 1 unknown" in text
    cost = _plan_json(world)["summary"]["cost"]
    assert cost["complete"] is False and cost["unknown"] == 1 and cost["usd"] == 0


# gpt-4.1-nano has a price (prices.json) but was retired for fine-tuning on 2026-10-23: a plan refuses it
@pytest.mark.parametrize(("model", "usd_per_1m"), [("gpt-4.1-mini", 5.00), ("gpt-4.1", 25.00),
                                                   ("gpt-4o", 25.00), ("gpt-4o-mini", 3.00)])
def test_every_model_the_platform_trains_has_a_sourced_dollar_estimate(world: World, model: str,
                                                                       usd_per_1m: float) -> None:
    world.write("main.yaml", SPEC_4_EPOCHS.replace("model: gpt-4o-mini", f"model: {model}"))
    text = world.ok("plan").output
    line = next(x for x in text.splitlines() if "estimated cost:" in x)
    assert f"at ${usd_per_1m:.2f} / 1M tokens" in line and "unknown" not in line
    cost = next(c for c in _plan_json(world)["resource_changes"] if c["address"] == "FineTuningJob.bot")["cost"]
    assert cost["usd"] == pytest.approx(cost["billed_tokens"] * usd_per_1m / 1e6) and cost["usd"] > 0
    assert cost["price"]["source"] == "https://developers.openai.com/api/docs/pricing"
    assert cost["price"]["as_of"] == "2026-12-07"


def test_the_sandbox_bills_what_the_plan_estimated(world: World) -> None:
    world.write("main.yaml", SPEC_4_EPOCHS)
    estimate = next(c for c in _plan_json(world)["resource_changes"] if c["address"] == "FineTuningJob.bot")["cost"]
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    jobs = world.jobs()
    assert len(jobs) == 1 and jobs[0]["status"] == "succeeded"
    assert jobs[0]["trained_tokens"] == estimate["billed_tokens"]
    spent = json.loads(world.ok("cost", "--json").output)
    assert spent["usd"] == pytest.approx(estimate["usd"]) and spent["jobs"] == 1 and spent["unknown"] == 0


def test_cost_groups_by_a_metadata_key_in_every_format(world: World) -> None:
    world.write("main.yaml", SPEC_4_EPOCHS)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    text = world.ok("cost", "--by", "team").output
    assert text.splitlines()[0].split() == ["team", "jobs", "trained", "tokens", "spend", "unknown"]
    assert text.splitlines()[1].startswith("support ") and "Total spend: " in text
    data = json.loads(world.ok("cost", "--by", "team", "--format", "json").output)
    assert data["by"] == "team" and data["groups"][0]["team"] == "support" and data["groups"][0]["jobs"] == 1
    rows = list(csv.DictReader(io.StringIO(world.ok("cost", "--by", "team", "--format", "csv").output)))
    assert rows[0]["team"] == "support" and float(rows[0]["usd"]) == pytest.approx(data["usd"])
    assert "| support | 1 |" in world.ok("cost", "--by", "team", "--format", "markdown").output
    plain = world.ok("cost").output
    assert "FineTuningJob.bot" in plain and "succeeded" in plain


def test_a_no_op_plan_counts_nothing_and_a_second_plan_reads_the_cache(world: World,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import reconciler.cli.cost as cli_cost

    calls: list[str] = []
    real = cli_cost.count_in_child

    def counting(ctx: Any, requests: Any) -> Any:  # the files counted (in the child process)
        calls.extend(str(path) for path, _fmt, _encoding in requests)
        return real(ctx, requests)

    monkeypatch.setattr(cli_cost, "count_in_child", counting)
    world.write("main.yaml", SPEC_4_EPOCHS)
    first = world.ok("plan").output
    second = world.ok("plan").output
    assert len(calls) == 1  # the second plan found the count in <state dir>/.cache/token-counts.json
    assert [x for x in first.splitlines() if "cost" in x] == [x for x in second.splitlines() if "cost" in x]
    assert (world.state_file.parent / ".cache" / "token-counts.json").is_file()
    world.ok("apply", "--auto-approve")
    calls.clear()
    noop = world.ok("plan").output
    assert "No changes." in noop and "cost" not in noop.lower() and calls == []


def test_a_settings_price_overrides_the_shipped_one(world: World) -> None:
    world.write("main.yaml", SPEC_4_EPOCHS.replace("model: gpt-4o-mini", "model: gpt-4.1-mini"))
    world.write("settings.yaml", """\
        kind: Settings
        name: default
        spec:
          pricing:
            - {model: gpt-4.1-mini-2025-04-14, method: supervised, per_1m_tokens: 1.5, source: https://example.com/x}
        """)
    data = _plan_json(world)
    cost = next(c for c in data["resource_changes"] if c["address"] == "FineTuningJob.bot")["cost"]
    assert cost["price"] == {"usd": 1.5, "per": "1M tokens", "model": "gpt-4.1-mini-2025-04-14",
                             "method": "supervised", "source": "https://example.com/x", "as_of": "",
                             "origin": "settings"}
    assert data["summary"]["cost"]["complete"] is True
