"""One failed action does not stop independent ones; what depends on it is skipped, said so, and
the state written at the end holds exactly what did complete."""

from __future__ import annotations

from reconciler.errors import ApiError
from tests.apply.fake_client import api_error
from tests.apply.harness import action_of
from tests.apply.workspace import Workspace, file_doc, job_doc, permission_doc


def _body_for(address: str):  # type: ignore[no-untyped-def]
    return lambda args: (args["body"].get("metadata") or {}).get("reconciler_address") == address


def _world(ws: Workspace) -> None:
    """good:   File.good -> FineTuningJob.good                       (independent, succeeds)
    bad:    File.bad (upload answers 400) -> FineTuningJob.on_bad
    broken: File.good -> FineTuningJob.broken (create answers 400) -> FineTuningJob.child (its model)"""
    ws.data("good")
    ws.data("bad")
    ws.write("main", file_doc("good"), file_doc("bad"),
             job_doc("good", "${File.good.id}"),
             job_doc("on_bad", "${File.bad.id}"),
             job_doc("broken", "${File.good.id}"),
             job_doc("child", "${File.good.id}", model="${FineTuningJob.broken.fine_tuned_model}"))
    ws.client.fail("upload_file", api_error(400, "file is not valid JSONL", path="/files"),
                   match=lambda args: args["path"].endswith("bad.jsonl"))
    ws.client.fail("create_job", api_error(400, "invalid hyperparameters"),
                   match=_body_for("FineTuningJob.broken"))


def test_dependents_of_a_failure_are_skipped_and_independent_changes_complete(ws: Workspace) -> None:
    _world(ws)
    plan = ws.plan()
    assert {action_of(plan, a) for a in ("FineTuningJob.good", "FineTuningJob.child")} == {"create"}

    result = ws.apply(plan, parallelism=4)

    assert not result.ok
    assert result.added == 2  # File.good, FineTuningJob.good
    assert (result.changed, result.destroyed, result.adopted) == (0, 0, 0)
    assert sorted(a for a, _ in result.failures) == ["File.bad", "FineTuningJob.broken"]
    assert "400" in dict(result.failures)["FineTuningJob.broken"]
    skipped = dict(result.skipped)
    assert sorted(skipped) == ["FineTuningJob.child", "FineTuningJob.on_bad"]
    assert "not attempted" in skipped["FineTuningJob.on_bad"] and "File.bad" in skipped["FineTuningJob.on_bad"]
    assert "not attempted" in skipped["FineTuningJob.child"] and "FineTuningJob.broken" in skipped["FineTuningJob.child"]
    assert result.pending == []
    # Nothing was even tried for the skipped ones; the independent job was created.
    assert ws.client.creates_for("FineTuningJob.on_bad") == ws.client.creates_for("FineTuningJob.child") == []
    assert len(ws.client.creates_for("FineTuningJob.good")) == 1
    assert [c.outcome for c in ws.client.creates_for("FineTuningJob.broken")] == ["error:ApiError"]


def test_state_written_at_the_end_holds_the_successes_and_not_the_failures(ws: Workspace) -> None:
    _world(ws)

    ws.apply(parallelism=4)

    on_disk = ws.on_disk()
    assert on_disk["serial"] == 1
    assert sorted(on_disk["resources"]) == ["File.good", "FineTuningJob.good"]
    good = ws.client.job_for("FineTuningJob.good")
    assert on_disk["resources"]["FineTuningJob.good"]["id"] == good["id"]
    assert on_disk["resources"]["File.good"]["id"] == good["training_file"]
    # The journal was folded into the state file and removed.
    assert not ws.journal_path.exists()
    reloaded = ws.reload()
    assert reloaded.recovered_from_journal == 0
    assert sorted(reloaded.resources) == ["File.good", "FineTuningJob.good"]


def test_next_apply_retries_only_what_did_not_complete(ws: Workspace) -> None:
    _world(ws)
    ws.apply(parallelism=4)
    ws.client.reset_calls()
    ws.reload()

    plan = ws.plan()
    assert action_of(plan, "FineTuningJob.good") == "no-op"
    assert action_of(plan, "File.good") == "no-op"
    result = ws.apply(plan)

    # The fail rules applied once: this time File.bad, on_bad and broken go through; child needs
    # broken's model, which only exists once broken has trained, so it waits.
    assert result.ok, result
    assert result.added == 3
    assert [a for a, _ in result.pending] == ["FineTuningJob.child"]
    assert "FineTuningJob.broken is still validating_files" in result.pending[0][1]
    assert ws.client.creates_for("FineTuningJob.good") == ws.client.creates_for("FineTuningJob.child") == []
    assert len(ws.client.jobs) == 3 and ws.client.count("upload_file") == 1


def test_every_finished_action_is_journalled_before_a_dependent_starts(ws: Workspace) -> None:
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot"))
    seen: list[list[str]] = []
    ws.client.before("create_job", lambda args: seen.append(ws.journal_addresses()))

    assert ws.apply().ok

    assert seen == [["File.train"]]
    assert not ws.journal_path.exists()


def test_a_job_that_fails_to_be_made_leaves_its_pending_grant_skipped_not_pending(ws: Workspace) -> None:
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot"),
             permission_doc("share", "${FineTuningJob.bot.fine_tuned_model}", ["proj_a"]))
    ws.client.fail("create_job", api_error(400, "invalid model"))
    plan = ws.plan()
    assert action_of(plan, "CheckpointPermission.share") == "pending"

    result = ws.apply(plan)

    assert [a for a, _ in result.failures] == ["FineTuningJob.bot"]
    assert result.pending == []
    assert [a for a, _ in result.skipped] == ["CheckpointPermission.share"]
    assert "not attempted" in dict(result.skipped)["CheckpointPermission.share"]
    assert ws.client.count("create_permissions") == 0


def test_an_unexpected_exception_in_one_change_does_not_lose_the_others(ws: Workspace) -> None:
    ws.data("a")
    ws.data("b")
    ws.write("main", file_doc("a"), file_doc("b"))
    ws.client.fail("upload_file", lambda: RuntimeError("bug in a client"), match=lambda args: args["path"].endswith("a.jsonl"))

    result = ws.apply()

    assert [a for a, _ in result.failures] == ["File.a"]
    assert "internal error" in result.failures[0][1]
    assert sorted(ws.on_disk()["resources"]) == ["File.b"]


def test_api_error_class_is_the_real_one() -> None:
    err = api_error(400)()
    assert isinstance(err, ApiError) and err.status == 400
