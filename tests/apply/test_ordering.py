"""The executor runs API calls in dependency order: what a change needs exists before it starts,
and on destroy dependents go first."""

from __future__ import annotations

import pytest

from reconciler.errors import ApiError
from tests.apply.fake_client import finished_before
from tests.apply.harness import action_of, actions, reversed_plan, steps_of
from tests.apply.workspace import Workspace, file_doc, job_doc, permission_doc

CKPT = "ft:gpt-4o-mini-2024-07-18:fake:bot:ckpt-step-10"


def test_upload_finishes_before_the_job_that_uses_the_file(ws: Workspace) -> None:
    for name in ("train", "other"):
        ws.data(name)
    ws.write("main", file_doc("train"), file_doc("other"), job_doc("bot"),
             job_doc("helper", "${File.other.id}"))

    result = ws.apply(parallelism=10)

    assert result.ok, result
    uploads = {c.args["path"].rsplit("/", 1)[-1]: c for c in ws.client.named("upload_file")}
    for address, filename in (("FineTuningJob.bot", "train.jsonl"), ("FineTuningJob.helper", "other.jsonl")):
        [create] = ws.client.creates_for(address)
        upload = uploads[filename]
        assert finished_before(upload, create), (upload, create)
        assert create.args["body"]["training_file"] == upload.result["id"]


def test_dependencies_hold_even_when_the_plan_lists_dependents_first(ws: Workspace) -> None:
    ws.client.create_status = "succeeded"
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot"),
             permission_doc("share", "${FineTuningJob.bot.fine_tuned_model}", ["proj_a"]))
    plan = reversed_plan(ws.plan())
    assert list(actions(plan)) == ["CheckpointPermission.share", "FineTuningJob.bot", "File.train"]

    result = ws.apply(plan, parallelism=1)

    assert result.ok and not result.pending, result
    assert [c.method for c in ws.client.mutations()] == ["upload_file", "create_job", "create_permissions"]


def test_job_is_created_before_the_grant_on_its_model(ws: Workspace) -> None:
    ws.client.create_status = "succeeded"  # the model exists as soon as the job does
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot"),
             permission_doc("share", "${FineTuningJob.bot.fine_tuned_model}", ["proj_a", "proj_b"]))
    plan = ws.plan()
    assert action_of(plan, "CheckpointPermission.share") == "pending"  # not known at plan time

    result = ws.apply(plan)

    assert result.ok and not result.pending, result
    create = ws.client.one("create_job")
    grant = ws.client.one("create_permissions")
    assert finished_before(create, grant)
    job = ws.client.job_for("FineTuningJob.bot")
    assert grant.args == {"checkpoint": job["fine_tuned_model"], "project_ids": ["proj_a", "proj_b"]}
    assert {g["project_id"] for g in ws.client.grants[job["fine_tuned_model"]]} == {"proj_a", "proj_b"}


def _running_job_with_a_grant(ws: Workspace) -> str:
    """File.train -> FineTuningJob.bot (running) -> a grant on one of its intermediate checkpoints."""
    ws.client.create_status = "running"
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot"),
             permission_doc("share", CKPT, ["proj_a"], depends_on=["FineTuningJob.bot"]))
    assert ws.apply().ok
    job: str = ws.client.job_for("FineTuningJob.bot")["id"]
    assert ws.client.jobs[job]["status"] == "running"
    assert [g["project_id"] for g in ws.client.grants[CKPT]] == ["proj_a"]
    ws.client.reset_calls()
    return job


def test_destroy_revokes_before_cancelling_and_cancels_before_deleting_the_file(ws: Workspace) -> None:
    job = _running_job_with_a_grant(ws)
    ws.reload()
    plan = ws.plan(destroy=True)
    assert [action_of(plan, a) for a in ("CheckpointPermission.share", "FineTuningJob.bot", "File.train")] \
        == ["delete", "delete", "delete"]

    result = ws.apply(plan, parallelism=10)

    assert result.ok and result.destroyed == 3, result
    revoke = ws.client.one("delete_permission")
    cancel = ws.client.one("cancel_job")
    delete = ws.client.one("delete_file")
    assert finished_before(revoke, cancel), (revoke, cancel)
    assert finished_before(cancel, delete), (cancel, delete)
    assert cancel.args == {"job_id": job}
    assert ws.client.grants[CKPT] == [] and ws.client.files == {}
    assert ws.client.jobs[job]["status"] == "cancelled"
    assert ws.on_disk()["resources"] == {}


def test_destroy_order_comes_from_the_dependencies_not_from_the_plan_order(ws: Workspace) -> None:
    _running_job_with_a_grant(ws)
    ws.reload()
    plan = reversed_plan(ws.plan(destroy=True))
    assert list(actions(plan)) == ["File.train", "FineTuningJob.bot", "CheckpointPermission.share"]

    result = ws.apply(plan, parallelism=1)

    assert result.ok, result
    assert [c.method for c in ws.client.mutations()] == ["delete_permission", "cancel_job", "delete_file"]


def test_replace_cancels_the_old_job_then_creates_the_new_one(ws: Workspace) -> None:
    ws.client.create_status = "running"
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot", suffix="v1"))
    assert ws.apply().ok
    old = ws.client.job_for("FineTuningJob.bot")["id"]
    ws.client.reset_calls()

    ws.write("main", file_doc("train"), job_doc("bot", suffix="v2"))
    plan = ws.plan()
    assert action_of(plan, "FineTuningJob.bot") == "replace"
    assert steps_of(plan, "FineTuningJob.bot") == ["cancel_job", "create_job"]
    result = ws.apply(plan)

    assert result.ok and (result.added, result.destroyed) == (1, 1), result
    cancel = ws.client.one("cancel_job")
    create = ws.client.one("create_job")
    assert cancel.args == {"job_id": old}
    assert finished_before(cancel, create)
    assert create.args["body"]["suffix"] == "v2"
    assert ws.client.jobs[old]["status"] == "cancelled"
    assert ws.reload().resources["FineTuningJob.bot"].id == create.result["id"] != old


def test_replace_with_create_before_destroy_creates_first_then_cancels(ws: Workspace) -> None:
    ws.client.create_status = "running"
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot", suffix="v1", create_before_destroy=True))
    assert ws.apply().ok
    old = ws.client.job_for("FineTuningJob.bot")["id"]
    ws.client.reset_calls()

    ws.write("main", file_doc("train"), job_doc("bot", suffix="v2", create_before_destroy=True))
    plan = ws.plan()
    assert steps_of(plan, "FineTuningJob.bot") == ["create_job", "cancel_job"]
    result = ws.apply(plan)

    assert result.ok, result
    create = ws.client.one("create_job")
    cancel = ws.client.one("cancel_job")
    assert finished_before(create, cancel)
    assert cancel.args == {"job_id": old}
    assert ws.reload().resources["FineTuningJob.bot"].id == create.result["id"]


def test_destroy_revokes_a_grant_reached_through_a_data_source_before_cancelling_its_job(ws: Workspace) -> None:
    ws.client.create_status = "running"
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot"), """
kind: data.FineTuningJobCheckpoints
name: latest
spec:
  fine_tuning_job_id: ${FineTuningJob.bot.id}
""", permission_doc("share", "${data.FineTuningJobCheckpoints.latest.fine_tuned_model_checkpoint}", ["proj_a"]))
    assert ws.apply().ok  # the job has no checkpoint yet: the grant waits
    job = ws.client.job_for("FineTuningJob.bot")["id"]
    ws.client.checkpoints[job] = [{"id": "ftckpt-1", "object": "fine_tuning.job.checkpoint", "step_number": 10,
                                   "fine_tuned_model_checkpoint": CKPT, "fine_tuning_job_id": job,
                                   "metrics": {}, "created_at": 1}]
    ws.reload()
    assert ws.apply().ok
    assert [g["project_id"] for g in ws.client.grants[CKPT]] == ["proj_a"]
    ws.client.reset_calls()

    ws.reload()
    result = ws.apply(ws.plan(destroy=True), parallelism=1)

    assert result.ok, result
    assert [c.method for c in ws.client.mutations()] == ["delete_permission", "cancel_job", "delete_file"]


def test_old_file_is_deleted_only_after_the_job_trained_on_it_was_replaced(ws: Workspace) -> None:
    ws.client.create_status = "running"
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot", create_before_destroy=True))
    assert ws.apply().ok
    old_job = ws.client.job_for("FineTuningJob.bot")["id"]
    ws.client.reset_calls()

    ws.data("train", examples=5)  # new content: a new upload, and so a new training run
    ws.reload()
    plan = ws.plan()
    assert action_of(plan, "File.train") == action_of(plan, "FineTuningJob.bot") == "replace"
    result = ws.apply(plan)

    assert result.ok, result
    assert [c.method for c in ws.client.mutations()] == ["upload_file", "create_job", "cancel_job", "delete_file"]
    assert ws.client.one("cancel_job").args == {"job_id": old_job}


class Crash(BaseException):
    """The process dies here: nothing after it runs, the journal keeps what was recorded."""


def _file_and_cbd_job(ws: Workspace) -> tuple[str, str]:
    ws.client.create_status = "running"
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot", create_before_destroy=True))
    assert ws.apply().ok
    old_file = ws.client.one("upload_file").result["id"]
    old_job: str = ws.client.job_for("FineTuningJob.bot")["id"]
    ws.client.reset_calls()
    ws.data("train", examples=5)
    ws.reload()
    return old_file, old_job


def test_old_file_is_kept_and_recorded_when_the_replacement_job_fails_then_deleted_next_run(ws: Workspace) -> None:
    old_file, old_job = _file_and_cbd_job(ws)
    ws.client.fail("create_job", lambda: ApiError("invalid training file", status=400))

    result = ws.apply(ws.plan())

    assert not result.ok and [a for a, _ in result.failures] == ["FineTuningJob.bot"], result
    assert "delete_file" not in [c.method for c in ws.client.mutations()]  # the old job still trains on it
    assert old_file in ws.client.files and ws.client.jobs[old_job]["status"] == "running"
    recorded = ws.on_disk()["resources"]["File.train"]
    assert recorded["id"] != old_file and recorded["meta"]["deposed"] == [old_file]  # not lost
    ws.client.reset_calls()

    ws.reload()
    plan = ws.plan()
    assert action_of(plan, "FineTuningJob.bot") == "replace"
    assert steps_of(plan, "File.train") == []  # the old job still uses it: not planned for deletion yet
    result = ws.apply(plan)

    assert result.ok, result
    assert [c.method for c in ws.client.mutations()] == ["create_job", "cancel_job"]
    ws.client.reset_calls()

    ws.reload()  # the old job is replaced now: the old file goes
    plan = ws.plan()
    assert (action_of(plan, "File.train"), steps_of(plan, "File.train")) == ("update", ["delete_file"])
    assert ws.apply(plan).ok
    assert [c.method for c in ws.client.mutations()] == ["delete_file"]
    assert ws.client.one("delete_file").args == {"file_id": old_file}
    assert "meta" not in ws.on_disk()["resources"]["File.train"]
    ws.reload()
    assert {action_of(ws.plan(), a) for a in ("File.train", "FineTuningJob.bot")} == {"no-op"}
    assert len(ws.client.jobs) == 2


def test_a_crash_between_the_upload_and_the_old_files_delete_loses_no_file(ws: Workspace) -> None:
    old_file, old_job = _file_and_cbd_job(ws)

    def die(args: dict[str, object]) -> None:
        raise Crash()

    ws.client.before("create_job", die, times=1)
    with pytest.raises(Crash):
        ws.apply(ws.plan(), parallelism=1)
    assert [c.method for c in ws.client.mutations()] == ["upload_file", "create_job"]
    assert len(ws.client.jobs) == 1  # died before the create had its effect
    ws.client.reset_calls()

    state = ws.reload()  # the journal is replayed
    assert state.resources["File.train"].meta["deposed"] == [old_file]
    result = ws.apply(ws.plan())

    assert result.ok, result
    assert [c.method for c in ws.client.mutations()] == ["create_job", "cancel_job"]  # once: no second job
    assert ws.client.jobs[old_job]["status"] == "cancelled"
    ws.client.reset_calls()
    ws.reload()
    assert ws.apply(ws.plan()).ok  # the old job is replaced now: the old file goes
    assert [c.method for c in ws.client.mutations()] == ["delete_file"]
    assert ws.client.one("delete_file").args == {"file_id": old_file}
    assert len(ws.client.jobs) == 2 and set(ws.client.files) == {ws.reload().resources["File.train"].id}


@pytest.mark.parametrize(("deposed", "deleted"), [
    (["OLD"], ["OLD"]),                # an old upload left to delete: the next plan deletes it
    (["OLD", "OLD_GONE"], ["OLD"]),    # one already gone: nothing to delete for it
    (["JOB_FILE"], []),                # a job of ours still trains on it: kept for now
    ("OLD", []),                       # not a list (a hand-edited state): ignored, never split into letters
    ([1, None, ""], []),
    ([], []),
])
def test_the_plan_deletes_a_recorded_old_upload_only_when_nothing_of_ours_uses_it(
        ws: Workspace, deposed: object, deleted: list[str]) -> None:
    ws.client.create_status = "running"
    ws.data("train")
    ws.data("other")
    ws.write("main", file_doc("train"), job_doc("bot"))
    assert ws.apply().ok
    ids = {"JOB_FILE": ws.client.one("upload_file").result["id"], "OLD_GONE": "file-gone"}
    ids["OLD"] = ws.client.upload_file(ws.specs / "data" / "other.jsonl", purpose="fine-tune",
                                       filename="other.jsonl", idempotency_key="k")["id"]
    state = ws.reload()
    state.resources["File.train"].meta = {
        "deposed": [ids.get(i, i) if isinstance(i, str) else i for i in deposed] if isinstance(deposed, list)
        else deposed}
    ws.store.write(state)
    ws.reload()
    ws.client.reset_calls()

    plan = ws.plan()

    expected = [ids[i] for i in deleted]
    change = plan.change_for("File.train")
    assert change is not None
    assert [s.args["id"] for s in change.steps] == expected
    assert action_of(plan, "File.train") == ("update" if expected else "no-op")
    assert ws.apply(plan).ok
    assert [c.args["file_id"] for c in ws.client.named("delete_file")] == expected
    assert all(i not in ws.client.files for i in expected) and ids["JOB_FILE"] in ws.client.files


def test_destroy_from_a_state_that_names_only_the_data_source_still_revokes_first(ws: Workspace) -> None:
    """A state written before data-source dependencies were recorded: the grant names only
    data.FineTuningJobCheckpoints.latest, which a destroy plan does not read again."""
    ws.client.create_status = "running"
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot"), """
kind: data.FineTuningJobCheckpoints
name: latest
spec:
  fine_tuning_job_id: ${FineTuningJob.bot.id}
""", permission_doc("share", "${data.FineTuningJobCheckpoints.latest.fine_tuned_model_checkpoint}", ["proj_a"]))
    assert ws.apply().ok
    job = ws.client.job_for("FineTuningJob.bot")["id"]
    ws.client.checkpoints[job] = [{"id": "ftckpt-1", "object": "fine_tuning.job.checkpoint", "step_number": 10,
                                   "fine_tuned_model_checkpoint": CKPT, "fine_tuning_job_id": job,
                                   "metrics": {}, "created_at": 1}]
    ws.reload()
    assert ws.apply().ok
    state = ws.reload()
    assert state.resources["CheckpointPermission.share"].depends_on == \
        ["data.FineTuningJobCheckpoints.latest", "FineTuningJob.bot"]  # recorded as Terraform does
    state.resources["CheckpointPermission.share"].depends_on = ["data.FineTuningJobCheckpoints.latest"]
    ws.store.write(state)
    ws.reload()
    ws.client.reset_calls()

    result = ws.apply(ws.plan(destroy=True), parallelism=1)

    assert result.ok, result
    assert [c.method for c in ws.client.mutations()] == ["delete_permission", "cancel_job", "delete_file"]
