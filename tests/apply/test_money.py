"""The money promise: never pay twice for a job, never lose track of one.

Every create is counted in the fake world: whatever goes wrong on the wire, one address gets one
job, and the state ends up knowing it."""

from __future__ import annotations

import pytest

from tests.apply.fake_client import api_error, connection_dropped, finished_before
from tests.apply.harness import action_of
from tests.apply.workspace import Workspace, file_doc, job_doc

BOT = "FineTuningJob.bot"


class Crash(BaseException):
    """The process dies here: nothing after this point runs (not an Exception: nothing catches it)."""


def _one_job(ws: Workspace, *, suffix: str = "bot") -> None:
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot", suffix=suffix))


def test_create_whose_answer_is_lost_is_found_by_metadata_and_adopted_not_created_twice(ws: Workspace) -> None:
    _one_job(ws)
    ws.client.fail("create_job", connection_dropped(), after_effect=True)

    result = ws.apply()

    assert result.ok and result.added == 2, result  # the file and the job
    [create] = ws.client.creates_for(BOT)
    assert create.outcome == "error:ConnectionFailedError"
    job = ws.client.job_for(BOT)  # exactly one job exists for the address
    assert len(ws.client.jobs) == 1
    lookup = ws.client.one("list_jobs", lambda c: c.start > create.start)
    assert finished_before(create, lookup)
    assert lookup.args["metadata"] == {"reconciler_address": BOT}
    recorded = ws.reload().resources[BOT]
    assert recorded.id == job["id"]
    assert recorded.digest == job["metadata"]["reconciler_digest"]
    # ... and the next plan is quiet: no second job.
    assert action_of(ws.plan(), BOT) == "no-op"


def test_create_whose_connection_drops_before_the_api_saw_it_is_sent_again_once_the_lookup_finds_nothing(
        ws: Workspace) -> None:
    """The lookup by metadata answered and found no job: only then is the create sent again."""
    _one_job(ws)
    ws.client.fail("create_job", connection_dropped(), after_effect=False)

    result = ws.apply()

    assert result.ok, result
    first, second = ws.client.creates_for(BOT)
    lookup = ws.client.one("list_jobs", lambda c: c.start > first.start)
    assert first.outcome == "error:ConnectionFailedError" and finished_before(first, lookup)
    assert finished_before(lookup, second) and second.outcome == "ok"
    assert first.args == second.args  # the same body and Idempotency-Key
    assert len(ws.client.jobs) == 1 and ws.reload().resources[BOT].id == ws.client.job_for(BOT)["id"]


def test_create_whose_lookup_fails_is_not_sent_again(ws: Workspace) -> None:
    _one_job(ws)
    ws.client.fail("create_job", connection_dropped(), after_effect=False)
    # only the lookup after the dropped create fails (the plan also lists the address to create)
    ws.client.fail("list_jobs", api_error(503, "unavailable", method="GET"),
                   match=lambda args: "reconciler_address" in args["metadata"] and bool(ws.client.creates_for(BOT)))

    result = ws.apply()

    assert [a for a, _ in result.failures] == [BOT]
    assert "looking for the job by its metadata failed" in result.failures[0][1]
    assert len(ws.client.creates_for(BOT)) == 1 and ws.client.jobs == {}
    assert BOT not in ws.reload().resources
    # The next apply creates it, once.
    ws.client.reset_calls()
    assert ws.apply().ok
    assert len(ws.client.creates_for(BOT)) == 1 and len(ws.client.jobs) == 1


def test_a_lost_answer_for_a_job_cancelled_meanwhile_is_not_adopted(ws: Workspace) -> None:
    """The lookup after a dropped create ignores a cancelled job with the same tags."""
    _one_job(ws)
    ws.client.fail("create_job", connection_dropped(), after_effect=True)
    ws.client.before("list_jobs", lambda args: [ws.client.set_status(j, "cancelled") for j in list(ws.client.jobs)],
                     match=lambda args: "reconciler_address" in args["metadata"])

    result = ws.apply()

    assert [a for a, _ in result.failures] == [BOT]
    assert BOT not in ws.reload().resources


def test_a_rerun_after_a_crash_reuses_the_idempotency_key_and_gets_the_same_job(ws: Workspace) -> None:
    """The run dies between the API creating the job and the journal recording it, and the job
    listing lags (the new job is not listed yet), so the next plan cannot adopt it: the
    Idempotency-Key, the same for the same state, address and inputs, is what stops a second job."""
    ws.store.write(ws.state)  # a state that exists on disk (its lineage is what the key builds on)
    _one_job(ws)
    ws.client.fail("create_job", Crash, after_effect=True)
    with pytest.raises(Crash):
        ws.apply()
    [first] = ws.client.jobs.values()
    ws.client.hidden_from_listing.add(first["id"])

    ws.reload()
    plan = ws.plan()
    assert action_of(plan, BOT) == "create"  # the lagging listing shows nothing to adopt
    result = ws.apply(plan)

    assert result.ok and result.added == 1, result
    keys = [c.args["idempotency_key"] for c in ws.client.creates_for(BOT)]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert ws.client.idempotent_replays == 1
    assert list(ws.client.jobs) == [first["id"]]  # one job, paid once
    assert ws.reload().resources[BOT].id == first["id"]


def test_a_rerun_after_a_crash_in_the_very_first_apply_does_not_create_twice(ws: Workspace) -> None:
    # No state file yet, and the job is the first action (its file exists already), so the crash
    # leaves no journal line behind either.
    ws.write("main", job_doc("bot", ws.client.add_file()["id"]))
    ws.client.fail("create_job", Crash, after_effect=True)
    with pytest.raises(Crash):
        ws.apply()
    [first] = ws.client.jobs.values()
    ws.client.hidden_from_listing.add(first["id"])

    ws.reload()
    ws.apply()

    assert list(ws.client.jobs) == [first["id"]]


def test_a_crash_after_the_journal_line_is_recovered_without_a_second_create(ws: Workspace) -> None:
    """Killed after the job was journalled but before the state was written: the next load replays
    the journal, and the plan finds nothing to do."""
    _one_job(ws)
    ws.data("other")
    ws.write("more", file_doc("other"))
    # Die on the upload that comes after the job (parallelism 1: plan order).
    ws.client.fail("upload_file", Crash, match=lambda args: args["path"].endswith("other.jsonl"))
    with pytest.raises(Crash):
        ws.apply(parallelism=1)
    assert not ws.state_path.exists()
    job = ws.client.job_for(BOT)

    state = ws.reload()
    assert state.recovered_from_journal >= 2
    assert state.resources[BOT].id == job["id"]
    plan = ws.plan()
    assert action_of(plan, BOT) == "no-op"
    assert ws.apply(plan).ok
    assert len(ws.client.creates_for(BOT)) == 1 and len(ws.client.jobs) == 1


def test_cancel_answered_400_because_the_job_finished_meanwhile_does_not_fail_the_destroy(ws: Workspace) -> None:
    ws.client.create_status = "running"
    _one_job(ws)
    assert ws.apply().ok
    job = ws.client.job_for(BOT)["id"]
    ws.remove("main")
    ws.write("main", file_doc("train"))
    plan = ws.plan()
    assert action_of(plan, BOT) == "delete"
    ws.client.set_status(job, "succeeded")  # it finished between the plan and the apply
    ws.client.reset_calls()

    result = ws.apply(plan)

    assert result.ok, result
    assert result.failures == [] and result.destroyed == 1
    cancel = ws.client.one("cancel_job")
    assert cancel.outcome == "error:ApiError"
    assert finished_before(cancel, ws.client.one("get_job"))
    assert ws.client.jobs[job]["status"] == "succeeded"
    assert BOT not in ws.reload().resources


def test_cancel_answered_400_during_a_replace_still_creates_the_new_job_once(ws: Workspace) -> None:
    ws.client.create_status = "running"
    _one_job(ws, suffix="v1")
    assert ws.apply().ok
    old = ws.client.job_for(BOT)["id"]
    _one_job(ws, suffix="v2")
    plan = ws.plan()
    ws.client.set_status(old, "succeeded")
    ws.client.reset_calls()

    result = ws.apply(plan)

    assert result.ok, result
    assert [c.outcome for c in ws.client.named("cancel_job")] == ["error:ApiError"]
    [create] = ws.client.creates_for(BOT)
    assert ws.reload().resources[BOT].id == create.result["id"] != old
    assert len(ws.client.jobs) == 2


def test_cancel_failing_for_another_reason_fails_the_change_and_keeps_the_job_in_state(ws: Workspace) -> None:
    ws.client.create_status = "running"
    _one_job(ws)
    assert ws.apply().ok
    job = ws.client.job_for(BOT)["id"]
    ws.write("main", file_doc("train"))
    plan = ws.plan()
    ws.client.fail("cancel_job", api_error(500, "server error", path=f"/fine_tuning/jobs/{job}/cancel"))

    result = ws.apply(plan)

    assert [a for a, _ in result.failures] == [BOT]
    assert ws.client.jobs[job]["status"] == "running"
    assert ws.reload().resources[BOT].id == job  # never lose track of a running, paid job
