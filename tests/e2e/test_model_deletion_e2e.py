"""`lifecycle.delete_model_on_destroy` through the real CLI against the real sandbox over HTTP: the
plan shows the deletion as a destructive step (text, JSON, Markdown, summary), apply deletes the
model (DELETE /v1/models/{model}) and it stops serving; never without the flag; a run that stops
between the delete and the state write loses track of nothing."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.e2e.conftest import JOB_SPEC, World

FLAGGED = JOB_SPEC + "lifecycle: {delete_model_on_destroy: true}\n"


def _trained(w: World, spec: str) -> str:
    w.write("main.yaml", spec)
    w.ok("apply", "--auto-approve")
    w.finish_jobs()
    (job,) = w.jobs()
    model = job["fine_tuned_model"]
    assert job["status"] == "succeeded" and model.startswith("ft:gpt-4o-mini-2024-07-18:")
    return str(model)


def _serves(w: World, model: str) -> bool:
    try:
        w.sdk().fine_tuning.checkpoints.permissions.retrieve(model)
    except openai.NotFoundError:
        return False
    return True


def _deletes(w: World) -> int:
    return int(w.sandbox.stats().get("DELETE /v1/models/{model}", 0))


def test_destroy_deletes_the_model_and_the_plan_shows_it_in_every_form(world: World) -> None:
    model = _trained(world, FLAGGED)
    assert _serves(world, model)
    text = world.run("destroy", input="no\n").output
    assert f"- delete fine-tuned model {model} (lifecycle.delete_model_on_destroy)" in text
    assert "1 fine-tuned model to delete" in text
    data: dict[str, Any] = json.loads(world.ok("plan", "--destroy", "--json").output)
    change = next(c for c in data["resource_changes"] if c["address"] == "FineTuningJob.bot")
    assert change["action"] == "delete" and [s["op"] for s in change["steps"]] == ["delete_model", "forget"]
    assert change["steps"][0]["args"]["model"] == model and data["summary"]["delete_model"] == 1
    markdown = world.ok("plan", "--destroy", "--format", "markdown").output
    assert "1 fine-tuned model to delete" in markdown and model in markdown
    assert _deletes(world) == 0  # planning deletes nothing

    world.ok("destroy", "--auto-approve")
    assert _deletes(world) == 1 and not _serves(world, model)
    assert "FineTuningJob.bot" not in world.state()["resources"]
    with pytest.raises(openai.NotFoundError):
        world.sdk().models.delete(model)  # gone for good: a second delete is a 404


def test_without_the_flag_destroy_only_forgets_and_the_model_keeps_serving(world: World) -> None:
    model = _trained(world, JOB_SPEC)
    data = json.loads(world.ok("plan", "--destroy", "--json").output)
    change = next(c for c in data["resource_changes"] if c["address"] == "FineTuningJob.bot")
    assert change["action"] == "forget" and data["summary"]["delete_model"] == 0
    world.ok("destroy", "--auto-approve")
    assert _deletes(world) == 0 and _serves(world, model)


def test_replace_deletes_the_old_model_before_training_the_new_one(world: World) -> None:
    model = _trained(world, FLAGGED)
    world.write("main.yaml", FLAGGED.replace("suffix: support-v1", "suffix: support-v2"))
    data = json.loads(world.ok("plan", "--json").output)
    change = next(c for c in data["resource_changes"] if c["address"] == "FineTuningJob.bot")
    assert change["action"] == "replace"
    assert [s["op"] for s in change["steps"]] == ["delete_model", "forget", "create_job"]
    assert data["summary"]["delete_model"] == 1 and data["summary"]["destroy"] == 1
    world.ok("apply", "--auto-approve")
    assert _deletes(world) == 1 and not _serves(world, model)
    assert len(world.jobs()) == 2


def test_the_flag_on_a_file_is_refused_in_one_line(world: World) -> None:
    world.write("main.yaml", JOB_SPEC.replace("  path: data/train.jsonl\n",
                                              "  path: data/train.jsonl\nlifecycle: {delete_model_on_destroy: true}\n"))
    result = world.run("validate")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "lifecycle.delete_model_on_destroy: only a FineTuningJob has a fine-tuned model to delete" in result.output


def test_a_model_deleted_by_a_run_that_stopped_before_writing_state_is_not_lost(world: World) -> None:
    """The delete reached the API, the state never heard of it (the run was killed between the two):
    the next destroy sends it again, takes the 404 as done, and the job leaves state."""
    model = _trained(world, FLAGGED)
    world.sdk().models.delete(model)  # what the killed run did before it could write the state
    assert "model_deleted" not in world.state()["resources"]["FineTuningJob.bot"].get("meta", {})
    result = world.ok("destroy", "--auto-approve")
    assert f"fine-tuned model {model} was already deleted" in result.output
    assert "FineTuningJob.bot" not in world.state()["resources"] and not _serves(world, model)
