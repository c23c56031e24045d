"""After `sync --prune` revokes a grant made by hand, the next `drift` is clean: the state must not
still record the revoked grant (it used to, and drift then said "grant removed outside reconciler")."""

from __future__ import annotations

import json

import pytest

from .conftest import JOB_SPEC, PERMISSION_SPEC


@pytest.mark.parametrize("exclusive", ["false", "true"])
def test_hand_grant_drift_prune_then_no_drift(world, exclusive):
    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % exclusive)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")
    checkpoint = world.state()["resources"]["CheckpointPermission.share"]["id"]
    world.ok("drift")  # in sync
    world.sdk().fine_tuning.checkpoints.permissions.create(checkpoint, project_ids=["proj_intruder"])

    first = world.run("drift", "--format", "json")
    assert first.exit_code == 2, first.output
    findings = [f for f in json.loads(first.output)["findings"] if not f.get("ignored")]
    assert len(findings) == 1 and "proj_intruder" in json.dumps(findings[0]), findings

    pruned = world.run("sync", "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert "proj_intruder" in pruned.output, pruned.output  # a prune (exclusive: false) or the set's revoke
    projects = [p.project_id for p in world.sdk().fine_tuning.checkpoints.permissions.list(checkpoint)]
    assert sorted(projects) == ["proj_alpha", "proj_beta"]
    recorded = world.state()["resources"]["CheckpointPermission.share"]["attributes"]
    assert "proj_intruder" not in json.dumps(recorded)

    after = world.run("drift", "--format", "json")
    assert after.exit_code == 0, after.output
    assert [f for f in json.loads(after.output)["findings"] if not f.get("ignored")] == []
    assert world.run("drift").exit_code == 0
    assert len(world.jobs()) == 1
