"""Issue 20: one out-of-band change is one drift finding. A grant made by hand used to be reported
as grant_added (the state did not know it), unmanaged_grant (no spec lists it) and, with
`exclusive: true`, out_of_sync (the next apply revokes it) — three lines for one act."""

from __future__ import annotations

import json

import pytest

from reconciler.drift.findings import DRIFT, HEALTH, Finding, one_per_change

from .conftest import JOB_SPEC, PERMISSION_SPEC


def _synced(world, exclusive: str):
    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % exclusive)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")
    return world.state()["resources"]["CheckpointPermission.share"]


def _findings(world) -> list[dict]:
    result = world.run("drift", "--format", "json")
    assert result.exit_code == 2, result.output
    return json.loads(result.output)["findings"]


@pytest.mark.parametrize("exclusive", ["true", "false"])
def test_a_grant_made_by_hand_is_one_finding(world, exclusive):
    checkpoint = _synced(world, exclusive)["id"]
    world.sdk().fine_tuning.checkpoints.permissions.create(checkpoint, project_ids=["proj_intruder"])
    about = [f for f in _findings(world) if "proj_intruder" in json.dumps(f)]
    assert len(about) == 1, about
    assert about[0]["category"] == "grant_added" and about[0]["attribute"] == "grant[proj_intruder]"
    assert "no spec lists it" in about[0]["message"]
    assert ("the next apply reverts it" in about[0]["message"]) == (exclusive == "true")
    text = world.run("drift").output
    assert text.count("proj_intruder") == 1 and "1 grant added)" in text


def test_a_grant_revoked_by_hand_is_one_finding(world):
    resource = _synced(world, "true")
    beta = next(g for g in resource["attributes"]["permissions"] if g["project_id"] == "proj_beta")
    world.sdk().fine_tuning.checkpoints.permissions.delete(beta["id"], fine_tuned_model_checkpoint=resource["id"])
    about = [f for f in _findings(world) if "proj_beta" in json.dumps(f)]
    assert [f["category"] for f in about] == ["grant_removed"], about


def test_sync_prune_still_revokes_the_merged_hand_grant(world):
    checkpoint = _synced(world, "false")["id"]
    world.sdk().fine_tuning.checkpoints.permissions.create(checkpoint, project_ids=["proj_intruder"])
    result = world.run("sync", "--prune")
    assert result.exit_code == 0, result.output
    assert "proj_intruder: Destruction complete" in result.output
    projects = [p.project_id for p in world.sdk().fine_tuning.checkpoints.permissions.list(checkpoint)]
    assert "proj_intruder" not in projects and {"proj_alpha", "proj_beta"} <= set(projects)


def _f(category: str, attribute: str = "grant[p]", address: str = "CheckpointPermission.a", axis: str = DRIFT,
       message: str = "") -> Finding:
    return Finding(address, "CheckpointPermission", axis, category, message or category, attribute)


@pytest.mark.parametrize("findings, expected", [
    # (category, message) of what is kept, in order
    ([_f("grant_added"), _f("out_of_sync"), _f("unmanaged_grant")],
     [("grant_added", "grant_added; no spec lists it; the next apply reverts it")]),
    ([_f("unmanaged_grant"), _f("grant_added")], [("grant_added", "grant_added; no spec lists it")]),
    ([_f("grant_removed"), _f("out_of_sync")], [("grant_removed", "grant_removed; the next apply reverts it")]),
    ([_f("grant_added", "grant[p]"), _f("grant_added", "grant[q]")],
     [("grant_added", "grant_added"), ("grant_added", "grant_added")]),
    ([_f("out_of_sync", "*"), _f("out_of_sync", "*")], [("out_of_sync", "out_of_sync")] * 2),   # "*": not merged
    ([_f("failed", "status", axis=HEALTH), _f("cancelled_outside", "status")],
     [("failed", "failed"), ("cancelled_outside", "cancelled_outside")]),   # health never merged
    ([_f("grant_added", address="A.x"), _f("grant_added", address="A.y")],
     [("grant_added", "grant_added"), ("grant_added", "grant_added")]),
])
def test_one_per_change(findings, expected):
    assert [(f.category, f.message) for f in one_per_change(findings)] == expected


def test_an_ignore_rule_on_any_merged_category_ignores_the_one_finding(world):
    checkpoint = _synced(world, "true")["id"]
    world.sdk().fine_tuning.checkpoints.permissions.create(checkpoint, project_ids=["proj_intruder"])
    (world.specs / ".reconcilerignore").write_text(
        "- match: CheckpointPermission.share\n  category: unmanaged_grant\n  reason: IT grants these\n")
    result = world.run("drift", "--format", "json")
    report = json.loads(result.output)
    about = [f for f in report["findings"] if "proj_intruder" in json.dumps(f)]
    assert len(about) == 1 and about[0]["ignored"] is True
    assert result.exit_code == 0, result.output
