"""Every destructive step is in the plan, including the ones a pending change takes later: a grant
that follows a job's model (`${FineTuningJob.bot.fine_tuned_model}`), the job replaced. The plan
(text, Markdown, JSON and its summary) says which grants on the old model will be revoked once the
new model exists; `apply --wait` says each revoke as it happens (and any apply each cancel and
delete); and a revoke the plan did not show is never done (the real executor against the real
sandbox, the plan's steps taken away)."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from reconciler.api.client import ApiClient
from reconciler.apply.executor import Executor
from reconciler.kinds import registry
from reconciler.loading import load_specs
from reconciler.plan.model import Action, Op
from reconciler.planner.refresh import PlanOptions, refresh_and_plan
from reconciler.state import StateStore

from .conftest import ADMIN_KEY, JOB_SPEC, PERMISSION_SPEC, PROJECT_KEY

SPEC = JOB_SPEC + PERMISSION_SPEC % "true"


@contextmanager
def clock_running(world: Any) -> Iterator[None]:
    """The sandbox clock moves on while apply --wait polls (no sleeping in the test itself)."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.05):
            world.sandbox.advance(20)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()


def granted_then_replaced(world: Any) -> str:
    """Job trained and its model granted to two projects; then the spec replaces the job. Returns
    the old model."""
    world.write("main.yaml", SPEC)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")
    old = world.state()["resources"]["CheckpointPermission.share"]["id"]
    world.write("main.yaml", SPEC.replace("support-v1", "support-v2"))
    return str(old)


def grants_on(world: Any, model: str) -> list[str]:
    return sorted(p.project_id for p in world.sdk().fine_tuning.checkpoints.permissions.list(model))


def test_the_plan_shows_the_revokes_a_pending_grant_takes_and_apply_says_each(world) -> None:
    old = granted_then_replaced(world)
    text = world.ok("plan").output
    for project in ("proj_alpha", "proj_beta"):
        assert f"- will revoke {project} from {old} when the grant moves to a new checkpoint [cp_" in text, text
    assert "Plan: 1 to add, 0 to change, 0 to destroy, 2 grants to revoke (2 once a pending value is known)." in text
    markdown = world.ok("plan", "--format", "markdown").output
    assert "2 grants to revoke (2 once a pending value is known)" in markdown
    assert f"then revoke proj_alpha from {old} when the grant moves to a new checkpoint" in markdown, markdown
    plan = json.loads(world.ok("plan", "--json").output)
    assert plan["summary"]["revoke"] == 2
    share = next(c for c in plan["resource_changes"] if c["address"] == "CheckpointPermission.share")
    assert share["action"] == "pending"
    assert [(s["op"], s["args"]["checkpoint"], s["args"]["project_id"]) for s in share["steps"]] == \
        [("revoke", old, "proj_alpha"), ("revoke", old, "proj_beta")]

    with clock_running(world):
        result = world.ok("apply", "--auto-approve", "--wait", "--poll-interval", "0.05", "--timeout", "60s")
    for project in ("proj_alpha", "proj_beta"):
        assert f"CheckpointPermission.share: revoking {project} from {old} [cp_" in result.output, result.output
    new = world.state()["resources"]["CheckpointPermission.share"]["id"]
    assert new != old and grants_on(world, old) == [] and grants_on(world, new) == ["proj_alpha", "proj_beta"]


def test_apply_does_no_revoke_the_plan_did_not_show(world) -> None:
    old = granted_then_replaced(world)
    specs = load_specs(world.specs, {})
    store = StateStore(world.state_file)
    state = store.load()
    client = ApiClient(world.sandbox.base_url, PROJECT_KEY, ADMIN_KEY, timeout=30, deadline=60)
    plan, _ = refresh_and_plan(specs, state, client, PlanOptions(kinds=registry))
    share = plan.change_for("CheckpointPermission.share")
    assert share is not None and share.action is Action.PENDING and [s.op for s in share.steps] == [Op.REVOKE] * 2
    # the plan as one that showed no revoke (made before it could know of them)
    silent = dataclasses.replace(plan, changes=tuple(dataclasses.replace(c, steps=()) if c is share else c
                                                     for c in plan.changes))
    with store.lock("apply"), clock_running(world):
        result = Executor(silent, client=client, store=store, state=state, wait_for_jobs=True, timeout=60,
                          poll_interval=0.05).run()
    assert result.failures == [("CheckpointPermission.share",
                                f"would revoke proj_alpha from {old}, proj_beta from {old}, which the plan did "
                                "not show; nothing was changed: run plan again to see it")]
    assert store.load().resources["CheckpointPermission.share"].id == old   # still tracked
    assert grants_on(world, old) == ["proj_alpha", "proj_beta"]   # nothing revoked unseen
    # the next plan, the new model known, shows the move and its revokes; applying it does them
    text = world.ok("plan").output
    assert f"- revoke proj_alpha on {old} [cp_" in text, text
    world.ok("apply", "--auto-approve")
    assert grants_on(world, old) == []


def test_apply_says_each_cancel_and_delete_as_it_happens(world) -> None:
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    job = world.state()["resources"]["FineTuningJob.bot"]["id"]
    world.write("main.yaml", JOB_SPEC.replace("support-v1", "support-v2"))   # replaces the running job
    assert f"FineTuningJob.bot: cancelling {job}\n" in world.ok("apply", "--auto-approve").output
    resources = world.state()["resources"]
    file, job = resources["File.train"]["id"], resources["FineTuningJob.bot"]["id"]
    output = world.ok("destroy", "--auto-approve").output
    assert f"FineTuningJob.bot: cancelling {job}\n" in output and f"File.train: deleting {file}\n" in output, output
