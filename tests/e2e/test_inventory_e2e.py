"""`reconciler inventory` through the real CLI against the real sandbox over HTTP: every managed
fine-tuned model with its serving end and days left on the API's clock, its grants; --all adds the
organisation's others; text, Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.e2e.conftest import JOB_SPEC, PERMISSION_SPEC, World


@pytest.mark.sandbox_now("2026-12-20T09:00:00Z")
def test_inventory_lists_each_model_with_its_end_days_left_and_grants(world: World) -> None:
    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % "true")
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")
    [job] = world.jobs()
    model = job["fine_tuned_model"]
    # a job no spec manages, trained in the same organisation
    sdk = world.sdk(admin=False)
    other = sdk.fine_tuning.jobs.create(model="gpt-4.1-mini-2025-04-14",
                                        training_file=job["training_file"], suffix="elsewhere")
    world.finish_jobs()

    data = json.loads(world.ok("inventory", "--json").output)
    assert data["today"] == "2026-12-20"   # the API's clock, not this machine's
    [entry] = data["models"]
    assert (entry["address"], entry["model"], entry["base"], entry["platform"]) == \
        ("FineTuningJob.bot", model, "gpt-4o-mini-2024-07-18", "openai")
    assert (entry["serving_end"], entry["days_left"], entry["shut_down"]) == ("2027-01-14", 25, False)
    assert entry["serving_end_source"] == f"the API's shutdown_date for {model}"  # the API's word wins
    assert sorted(g["project_id"] for g in entry["grants"]) == ["proj_alpha", "proj_beta"]
    assert data["summary"] == {"models": 1, "shut_down": 0, "ending_soon": 1, "unknown_end": 0, "unmanaged": 0}

    everything = json.loads(world.ok("inventory", "--all", "--json").output)
    unmanaged = [e for e in everything["models"] if not e["managed"]]
    assert [e["job_id"] for e in unmanaged] == [other.id]
    assert unmanaged[0]["serving_end"] == "2027-01-14"

    text = world.ok("inventory").output
    assert "FineTuningJob.bot" in text and "2027-01-14" in text and "proj_alpha, proj_beta" in text
    assert "1 stops answering within 30 days." in text
    rows = list(csv.DictReader(io.StringIO(world.ok("inventory", "--format", "csv").output)))
    assert rows[0]["model"] == model and rows[0]["days_left"] == "25" and rows[0]["grants"] == "proj_alpha proj_beta"
    markdown = world.ok("inventory", "--format", "markdown").output
    assert f"| `FineTuningJob.bot` | `{model}` |" in markdown


@pytest.mark.sandbox_now("2027-01-05T09:00:00Z")
def test_a_model_past_its_end_is_shut_down_and_red(world: World) -> None:
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")   # the day before OpenAI's last day of job creation
    world.finish_jobs()
    world.sandbox.advance(10 * 86400)      # 2027-01-15: gpt-4o-mini's fine-tunes have stopped answering
    data = json.loads(world.ok("inventory", "--json").output)
    [entry] = data["models"]
    assert (entry["serving_end"], entry["shut_down"]) == ("2027-01-14", True)
    assert entry["days_left"] < 0 and data["summary"]["shut_down"] == 1
    assert "1 shut down" in world.ok("inventory").output
