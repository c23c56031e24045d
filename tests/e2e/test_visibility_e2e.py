"""Issue 14: never a hidden destructive step, never pay for a job bound to fail, never a green CI
over a failed job. The real CLI against the sandbox over HTTP; every claim is a count of what the
API received (writes by method and path) or of what is left in it."""

from __future__ import annotations

import io
import json
import re

from reconciler.plan.model import Action, Change, Op, Step
from reconciler.render.text import render_change

from .conftest import JOB_SPEC, PERMISSION_SPEC, chat_jsonl


def _writes(world) -> dict[str, int]:
    return {k: v for k, v in world.sandbox.stats().items() if not k.startswith("GET ")}


def _grants(world, checkpoint: str) -> list[str]:
    return sorted(p.project_id for p in world.sdk().fine_tuning.checkpoints.permissions.list(checkpoint))


def _checkpoint(world) -> str:
    return world.state()["resources"]["CheckpointPermission.share"]["id"]


# ---------------------------------------------------------------- a create that revokes


def _shared_then_permission_state_lost(world) -> str:
    """Apply a job shared with proj_alpha and proj_beta (exclusive), grant proj_gamma by hand, then
    lose the permission's record (`state rm`): the next plan creates the permission again. (Losing
    the whole state is refused instead: tests/e2e/test_lost_state_e2e.py.)"""
    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % "true")
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")
    checkpoint = _checkpoint(world)
    world.sdk().fine_tuning.checkpoints.permissions.create(checkpoint, project_ids=["proj_gamma"])
    world.ok("state", "rm", "CheckpointPermission.share")
    assert _grants(world, checkpoint) == ["proj_alpha", "proj_beta", "proj_gamma"]
    return checkpoint


def test_create_that_revokes_a_hand_made_grant_shows_it_in_text_markdown_and_json(world):
    checkpoint = _shared_then_permission_state_lost(world)

    text = world.ok("plan").output
    block = text.split("# CheckpointPermission.share")[1].split("\n\n")[0]
    assert "will be created; it also revokes 1 grant" in block, text
    revoke_lines = [line for line in block.splitlines() if re.match(r"^\s+- revoke proj_gamma ", line)]
    assert len(revoke_lines) == 1, text
    assert "Plan: 1 to add, 0 to change, 0 to destroy, 1 grant to revoke." in text, text

    markdown = world.ok("plan", "--format", "markdown").output
    assert "1 grant to revoke" in markdown and re.search(r"\n\s+- revoke proj_gamma ", markdown), markdown
    assert "| create | revoke 1 grant(s) |" in markdown  # in the table row, not only in the collapsed details

    data = json.loads(world.ok("plan", "--json").output)
    assert data["summary"]["revoke"] == 1 and data["summary"]["destroy"] == 0, data["summary"]
    assert data["summary"]["cancel_job"] == 0 and data["summary"]["delete_file"] == 0
    share = next(c for c in data["resource_changes"] if c["address"] == "CheckpointPermission.share")
    assert share["action"] == "create" and [s["op"] for s in share["steps"]] == ["revoke"]

    # what the plan showed is what apply does: exactly one revoke, the hand-made one
    world.sandbox.reset_stats()
    result = world.ok("apply", "--auto-approve")
    assert "1 grant to revoke" in result.output, result.output
    writes = _writes(world)
    assert sum(v for k, v in writes.items() if k.startswith("DELETE ")) == 1, writes
    assert _grants(world, checkpoint) == ["proj_alpha", "proj_beta"]


def test_destructive_steps_are_red_minus_lines_under_their_resource():
    """On a terminal: a revoke under a create, a cancel and a file deletion are each one red `-`."""
    calls: list[tuple[str, str | None]] = []

    def style(text: str, **kw: object) -> str:
        calls.append((text, kw.get("fg")))  # type: ignore[arg-type]
        return f"<{kw.get('fg')}>{text}</>"

    create = Change("CheckpointPermission.x", "CheckpointPermission", Action.CREATE,
                    after={"project_ids": ["proj_a"]},
                    steps=(Step(Op.REVOKE, "revoke proj_z (not listed and exclusive is true)",
                                {"permission_id": "cp_1", "project_id": "proj_z"}),))
    delete = Change("FineTuningJob.j", "FineTuningJob", Action.DELETE, before={"suffix": "a"}, prior_id="ftjob-1",
                    steps=(Step(Op.CANCEL_JOB, "cancel ftjob-1 (running)", {"id": "ftjob-1"}),
                           Step(Op.FORGET, "remove from state", {"id": "ftjob-1"})))
    replace = Change("File.f", "File", Action.REPLACE, before={"sha256": "a"}, after={"sha256": "b"},
                     prior_id="file-1",
                     steps=(Step(Op.UPLOAD, "upload t.jsonl (10 bytes)"), Step(Op.DELETE_FILE, "delete file-1")))
    for change, detail in ((create, "revoke proj_z"), (delete, "cancel ftjob-1"), (replace, "delete file-1")):
        lines = render_change(change, style)
        minus = [line for line in lines if "<red>-</>" in line and detail in line]
        assert len(minus) == 1, lines
    assert all(fg == "red" for text, fg in calls if text == "-")


# ---------------------------------------------------------------- an empty spec folder


def test_empty_spec_folder_is_refused_unless_destroy_is_asked(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    (world.specs / "main.yaml").unlink()
    world.sandbox.reset_stats()

    for command in (("plan",), ("apply", "--auto-approve"), ("sync",), ("drift",)):
        result = world.run(*command)
        assert result.exit_code == 1, (command, result.output)
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, result.output
        assert str(world.specs) in errors[0] and "manages 2 objects" in errors[0], errors[0]
        assert "--destroy" in errors[0] and "Traceback" not in result.output
    assert _writes(world) == {}, world.sandbox.stats()
    assert len(world.state()["resources"]) == 2

    plan = world.ok("plan", "--destroy").output
    assert "Plan: 0 to add, 0 to change, 2 to destroy, 1 job to cancel, 1 file to delete." in plan, plan
    world.ok("destroy", "--auto-approve")
    assert world.state()["resources"] == {}
    assert [j["status"] for j in world.jobs()] == ["cancelled"]


def test_empty_spec_folder_with_an_empty_state_is_fine(world):
    world.specs.mkdir(parents=True, exist_ok=True)
    assert "No changes." in world.ok("plan").output


# ---------------------------------------------------------------- invalid training data


def _bad_jsonl() -> str:
    lines = chat_jsonl(12).splitlines()
    for i in (2, 5, 7, 11):
        lines[i] = '{"prompt": "no messages here"}'
    return "\n".join(lines) + "\n"


def _messages(output: str) -> list[str]:
    return sorted(line for line in output.splitlines() if "data/train.jsonl line " in line)


def test_invalid_training_data_is_refused_by_plan_and_apply_before_any_write(world):
    (world.specs / "data" / "train.jsonl").write_text(_bad_jsonl())
    world.write("main.yaml", JOB_SPEC)
    validate = world.run("validate")
    assert validate.exit_code == 1
    expected = _messages(validate.output)
    assert len(expected) == 4, validate.output

    world.sandbox.reset_stats()
    for command in (("plan",), ("apply", "--auto-approve"), ("sync",)):
        result = world.run(*command)
        assert result.exit_code == 1, (command, result.output)
        assert _messages(result.output) == expected, (command, result.output)
        assert "Traceback" not in result.output
    assert _writes(world) == {}, world.sandbox.stats()
    assert world.jobs() == [] and list(world.sdk().files.list()) == []


def test_a_file_whose_new_content_is_invalid_is_not_uploaded(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    (world.specs / "data" / "train.jsonl").write_text(_bad_jsonl())
    world.sandbox.reset_stats()
    result = world.run("apply", "--auto-approve")
    assert result.exit_code == 1 and len(_messages(result.output)) == 4, result.output
    assert _writes(world) == {}, world.sandbox.stats()
    assert len(world.jobs()) == 1 and len(list(world.sdk().files.list())) == 1


def test_only_files_that_would_be_uploaded_are_read_for_the_checks(world, monkeypatch):
    """A File in sync is not read again by the checks (a large data set costs one pass, when it is
    uploaded); one whose content changed is."""
    import reconciler.kinds.job.training_files as training_files

    checked: list[str] = []
    real = training_files.check_file

    def counting(path, fmt, **kw):
        checked.append(str(path))
        return real(path, fmt, **kw)

    monkeypatch.setattr(training_files, "check_file", counting)
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    assert len(checked) == 1
    world.ok("plan")
    world.ok("apply", "--auto-approve")
    assert len(checked) == 1, checked
    (world.specs / "data" / "train.jsonl").write_text(chat_jsonl(13))
    world.ok("plan")
    assert len(checked) == 2, checked


# ---------------------------------------------------------------- a file id written in the spec

LITERAL_JOB = """\
kind: FineTuningJob
name: bot
spec:
  model: gpt-4o-mini
  training_file: %s
  suffix: literal
"""


def test_job_on_a_file_id_that_does_not_exist_fails_at_plan_not_at_apply(world):
    world.write("main.yaml", LITERAL_JOB % "file-doesnotexist")
    world.sandbox.reset_stats()
    for command in (("plan",), ("apply", "--auto-approve")):
        result = world.run(*command)
        assert result.exit_code == 1, (command, result.output)
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, result.output
        assert "main.yaml:5: FineTuningJob.bot: spec.training_file: file file-doesnotexist does not exist" \
            in errors[0], errors[0]
    stats = world.sandbox.stats()
    assert _writes(world) == {}, stats
    assert stats.get("GET /v1/files/{file_id}") == 2, stats  # one read per run
    assert world.jobs() == []


def test_job_on_a_file_with_another_purpose_fails_at_plan(world):
    uploaded = world.sdk().files.create(file=("notes.jsonl", io.BytesIO(chat_jsonl().encode())),
                                        purpose="assistants")
    world.write("main.yaml", LITERAL_JOB % uploaded.id)
    result = world.run("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert f"file {uploaded.id} has purpose 'assistants', not 'fine-tune'" in result.output
    assert world.jobs() == []


def test_job_on_an_existing_fine_tune_file_id_is_created(world):
    uploaded = world.sdk().files.create(file=("t.jsonl", io.BytesIO(chat_jsonl().encode())), purpose="fine-tune")
    world.write("main.yaml", LITERAL_JOB % uploaded.id)
    world.ok("apply", "--auto-approve")
    assert [j["training_file"] for j in world.jobs()] == [uploaded.id]
    assert "No changes." in world.ok("plan").output


# ---------------------------------------------------------------- drift --fail-on


def _failed_job(world) -> None:
    """A job that fails: its data is uploaded by hand (invalid) and named by id, which the local
    training-data checks cannot read."""
    bad = world.sdk().files.create(file=("bad.jsonl", io.BytesIO(b'{"prompt": "no messages"}\n' * 12)),
                                   purpose="fine-tune")
    world.write("main.yaml", LITERAL_JOB % bad.id)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    assert [j["status"] for j in world.jobs()] == ["failed"]


def test_drift_fail_on_makes_a_failed_job_red(world):
    _failed_job(world)
    assert world.run("drift").exit_code == 0  # default --fail-on drift: as before
    assert world.run("drift", "--fail-on", "drift").exit_code == 0
    health = world.run("drift", "--fail-on", "health")
    assert health.exit_code == 2, health.output
    assert "failed" in health.output
    assert world.run("drift", "--fail-on", "any").exit_code == 2
    report = json.loads(world.run("drift", "--fail-on", "any", "--format", "json").output)
    assert report["has_errors"] is True and report["has_drift"] is False


def test_drift_fail_on_health_ignores_drift_and_any_catches_it(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.sdk().fine_tuning.jobs.cancel(world.state()["resources"]["FineTuningJob.bot"]["id"])
    assert world.run("drift").exit_code == 2
    assert world.run("drift", "--fail-on", "health").exit_code == 0
    assert world.run("drift", "--fail-on", "any").exit_code == 2


def test_drift_fail_on_in_sync_is_0(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")
    for mode in ("drift", "health", "any"):
        assert world.run("drift", "--fail-on", mode).exit_code == 0, mode


def test_drift_fail_on_rejects_an_unknown_value(world):
    world.write("main.yaml", JOB_SPEC)
    result = world.run("drift", "--fail-on", "everything")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "everything" in result.output
