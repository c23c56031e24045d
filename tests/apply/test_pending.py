"""A grant on a model that does not exist yet is pending, not failed; with wait_for_jobs the
executor polls the job (on a fake clock: these tests never sleep) and grants once it succeeded."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.apply.events import EventKind
from tests.apply.fake_client import FakeClient, finished_before
from tests.apply.harness import action_of
from tests.apply.workspace import Workspace, file_doc, job_doc, permission_doc

SHARE = "CheckpointPermission.share"
BOT = "FineTuningJob.bot"


@dataclass
class FakeClock:
    """monotonic() and sleep() for the executor: sleeping advances the clock and lets the fake
    world move on (`on_sleep`), instantly."""

    client: FakeClient
    now: float = 1000.0
    slept: list[float] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)  # the bot job's status after each sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        assert len(self.slept) < 100, "the executor keeps waiting: the loop does not end"
        self.slept.append(seconds)
        self.now += seconds
        if self.statuses:
            self.client.set_status(self.client.job_for(BOT)["id"], self.statuses.pop(0))


def _job_and_grant(ws: Workspace) -> None:
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot"),
             permission_doc("share", "${FineTuningJob.bot.fine_tuned_model}", ["proj_a"]))


def test_grant_on_a_model_not_trained_yet_is_pending_not_failed(ws: Workspace) -> None:
    _job_and_grant(ws)
    plan = ws.plan()
    assert action_of(plan, SHARE) == "pending"

    result = ws.apply(plan)

    assert result.ok, result
    assert result.failures == [] and result.skipped == []
    assert [a for a, _ in result.pending] == [SHARE]
    assert "FineTuningJob.bot" in result.pending[0][1] and "validating_files" in result.pending[0][1]
    assert result.added == 2  # the file and the job; the grant is not counted
    assert ws.client.count("create_permissions") == 0
    assert SHARE not in ws.reload().resources
    kinds = [e.kind for e in ws.events if e.address == SHARE]
    assert kinds == [EventKind.START, EventKind.PENDING]


def test_the_next_run_grants_once_the_job_has_succeeded(ws: Workspace) -> None:
    _job_and_grant(ws)
    ws.apply()
    ws.client.set_status(ws.client.job_for(BOT)["id"], "succeeded")
    ws.client.reset_calls()

    ws.reload()
    plan = ws.plan()
    assert action_of(plan, SHARE) == "create"
    result = ws.apply(plan)

    assert result.ok and result.pending == [], result
    grant = ws.client.one("create_permissions")
    assert grant.args["checkpoint"] == ws.client.job_for(BOT)["fine_tuned_model"]
    assert ws.reload().resources[SHARE].id == grant.args["checkpoint"]


def test_wait_for_jobs_polls_until_the_job_succeeds_then_grants(ws: Workspace) -> None:
    _job_and_grant(ws)
    clock = FakeClock(ws.client, statuses=["queued", "running", "succeeded"])

    result = ws.apply(wait_for_jobs=True, poll_interval=30.0, monotonic=clock.monotonic, sleep=clock.sleep)

    assert result.ok and result.pending == [], result
    assert result.added == 3
    assert clock.slept == [30.0, 30.0, 30.0]
    polls = ws.client.named("get_job")
    assert [p.result["status"] for p in polls] == ["validating_files", "queued", "running", "succeeded"]
    grant = ws.client.one("create_permissions")
    assert finished_before(polls[-1], grant)
    model = ws.client.job_for(BOT)["fine_tuned_model"]
    assert grant.args == {"checkpoint": model, "project_ids": ["proj_a"]}
    state = ws.reload()
    assert state.resources[SHARE].id == model
    assert state.resources[BOT].attributes["status"] == "succeeded"  # the last poll is recorded
    waiting = [e for e in ws.events if e.kind is EventKind.WAITING]
    assert len(waiting) == 3 and all(e.address == SHARE for e in waiting)


def test_wait_for_jobs_gives_up_at_the_timeout_and_reports_pending(ws: Workspace) -> None:
    _job_and_grant(ws)
    clock = FakeClock(ws.client)  # the job never moves on

    result = ws.apply(wait_for_jobs=True, timeout=100.0, poll_interval=30.0,
                      monotonic=clock.monotonic, sleep=clock.sleep)

    assert result.failures == [] and result.skipped == [], result
    assert [a for a, _ in result.pending] == [SHARE]
    assert "--timeout" in result.pending[0][1]
    assert sum(clock.slept) <= 100.0 + 1e-9
    assert ws.client.count("create_permissions") == 0
    assert ws.on_disk()["resources"].keys() == {"File.train", BOT}


def test_wait_for_jobs_on_a_job_that_fails_reports_the_grant_failed(ws: Workspace) -> None:
    _job_and_grant(ws)
    clock = FakeClock(ws.client, statuses=["running", "failed"])

    result = ws.apply(wait_for_jobs=True, poll_interval=5.0, monotonic=clock.monotonic, sleep=clock.sleep)

    assert [a for a, _ in result.failures] == [SHARE]
    assert "failed" in result.failures[0][1] and "no model" in result.failures[0][1]
    assert ws.client.count("create_permissions") == 0
    assert ws.reload().resources[BOT].attributes["status"] == "failed"
