"""The platforms' end dates through the real CLI, on the sandbox over HTTP started at a given day:
a create after OpenAI's job-creation end is refused before any request that changes anything, a
create says when its model stops answering (text, JSON, Markdown), and a managed model close to
its end (or past it) is a health finding of `drift`, not drift."""

from __future__ import annotations

import importlib.resources
import json

import jsonschema
import pytest

from .conftest import JOB_SPEC

DAY = 86400.0
CHANGING = ("POST", "DELETE")


def _schema(name: str) -> dict:
    return json.loads((importlib.resources.files("reconciler") / "render" / "schema" / name).read_text())


def changing_requests(world) -> dict[str, int]:
    return {k: n for k, n in world.sandbox.stats().items() if k.split(" ", 1)[0] in CHANGING}


@pytest.mark.sandbox_now("2027-01-07T09:00:00Z")
def test_plan_after_the_job_creation_end_is_refused_and_sends_nothing(world) -> None:
    world.write("main.yaml", JOB_SPEC)
    for command in (("plan",), ("apply", "--auto-approve")):
        result = world.run(*command)
        assert result.exit_code == 1, result.output
        lines = [line for line in result.output.splitlines() if "2027-01-06" in line]
        assert len(lines) == 1, result.output
        assert "main.yaml:9: FineTuningJob.bot: spec.model:" in lines[0]
        assert "https://developers.openai.com/api/docs/deprecations" in lines[0]
        assert "Traceback" not in result.output
    assert changing_requests(world) == {}, world.sandbox.stats()
    assert world.jobs() == []
    assert not world.state_file.exists() or not world.state()["resources"]


@pytest.mark.sandbox_now("2026-12-20T09:00:00Z")
def test_plan_says_when_the_new_model_stops_answering(world) -> None:
    world.write("main.yaml", JOB_SPEC)
    text = world.ok("plan").output
    assert "the fine-tuned model will stop answering on 2027-01-14, 25 days from now" in text
    plan = json.loads(world.ok("plan", "--json").output)
    jsonschema.validate(plan, _schema("plan.schema.json"))
    job = next(c for c in plan["resource_changes"] if c["address"] == "FineTuningJob.bot")
    assert job["serving_end"]["date"] == "2027-01-14"
    assert job["serving_end"]["days_left"] == 25
    assert job["serving_end"]["base"] == "gpt-4o-mini-2024-07-18"
    file = next(c for c in plan["resource_changes"] if c["address"] == "File.train")
    assert "serving_end" not in file
    markdown = world.ok("plan", "--format", "markdown").output
    assert "1 job(s) to create train models that will stop answering on 2027-01-14, 25 days from now" in markdown
    assert changing_requests(world) == {}


@pytest.mark.sandbox_now("2026-12-20T09:00:00Z")
def test_drift_fails_on_health_with_the_days_left_then_reports_the_model_gone(world) -> None:
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    model = world.jobs()[0]["fine_tuned_model"]
    assert model.startswith("ft:gpt-4o-mini-2024-07-18:")
    ids = [m.id for m in world.sdk().models.list()]
    assert model in ids

    # 2026-12-20 + 12 days: 2027-01-01, 13 days before 2027-01-14 (within the default 30)
    world.sandbox.advance(12 * DAY - 3600)
    result = world.run("drift", "--fail-on", "health")
    assert result.exit_code == 2, result.output
    assert f"fine-tuned model {model} stops answering on 2027-01-14, 13 days left" in result.output
    assert world.run("drift").exit_code == 0   # a model's end is health, never drift
    report = json.loads(world.run("drift", "--format", "json", "--fail-on", "health").output)
    jsonschema.validate(report, _schema("drift.schema.json"))
    found = [f for f in report["findings"] if f["category"] == "serving_ends"]
    assert [(f["address"], f["axis"]) for f in found] == [("FineTuningJob.bot", "health")]
    assert report["models"] == [{"address": "FineTuningJob.bot", "model": model, "base": "gpt-4o-mini-2024-07-18",
                                 "platform": "openai", "serving_ends": "2027-01-14", "days_left": 13,
                                 "source": f"the API's shutdown_date for {model}"}]
    assert f"FineTuningJob.bot: {model} (openai): until 2027-01-14 (13 days left)" in result.output

    # past the end: the model no longer answers; the job is not gone, so nothing drifted
    world.sandbox.advance(14 * DAY)
    assert model not in [m.id for m in world.sdk().models.list()]
    result = world.run("drift", "--fail-on", "health")
    assert result.exit_code == 2, result.output
    assert f"fine-tuned model {model} stopped answering on 2027-01-14" in result.output
    junit = world.run("drift", "--format", "junit", "--fail-on", "health").output
    assert "model_gone:" in junit and "<error" in junit
    assert world.run("drift").exit_code == 0, world.run("drift").output


@pytest.mark.sandbox_now("2026-12-20T09:00:00Z")
def test_warn_days_in_settings_decides_what_is_a_health_finding(world) -> None:
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.write("settings.yaml", "kind: Settings\nname: default\nspec:\n  lifecycle: {warn_days: 10}\n")
    assert world.run("drift", "--fail-on", "health").exit_code == 0   # 25 days left, more than 10
    world.write("settings.yaml", "kind: Settings\nname: default\nspec:\n  lifecycle: {warn_days: 40}\n")
    result = world.run("drift", "--fail-on", "health")
    assert result.exit_code == 2 and "25 days left" in result.output, result.output


@pytest.mark.sandbox_now("2026-12-20T09:00:00Z")
def test_an_override_in_settings_moves_the_creation_end(world) -> None:
    world.write("main.yaml", JOB_SPEC)
    world.write("settings.yaml", "kind: Settings\nname: default\nspec:\n  lifecycle:\n    end_dates:\n"
                "      openai: {job_creation_ends: '2026-12-01'}\n")
    result = world.run("plan")
    assert result.exit_code == 1, result.output
    assert "from 2026-12-01 (source: override in" in result.output and "settings.yaml:4" in result.output
    assert changing_requests(world) == {}
