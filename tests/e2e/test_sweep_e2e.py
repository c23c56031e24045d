"""Issue 16: examples/sweep (six jobs from a 2 x 3 matrix → the lowest valid_loss across them → one
grant) applied with `apply --wait` on the real sandbox over HTTP, then the winner changing: a
better learning rate added to the matrix creates only the three new jobs, and once they finish
the plan moves the grant (the revoke shown, with both metric values as the reason).

The sandbox's loss grows with a learning-rate multiplier's distance from the default (1.8,
lifecycle.lr_penalty), so lr=1.8 beats lr=1.0, which beats lr=0.5, whatever the job ids."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from tests.e2e.conftest import World

ROOT = Path(__file__).resolve().parents[2]
WAIT = ("--wait", "--poll-interval", "0.2", "--timeout", "600s")


@pytest.fixture
def sweep_world(tmp_path: Path):
    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox(speed=300.0) as sandbox:
        w = World(sandbox, tmp_path)
        shutil.copytree(ROOT / "examples" / "sweep", w.specs)
        yield w


def _grants(w: World) -> dict[str, list[str]]:
    """checkpoint -> projects granted, for every checkpoint of every job in the sandbox."""
    out: dict[str, list[str]] = {}
    for job in w.jobs():
        for ckpt in w.sdk().fine_tuning.jobs.checkpoints.list(job["id"]):
            name = ckpt.fine_tuned_model_checkpoint
            perms = w.sdk().fine_tuning.checkpoints.permissions.retrieve(name)
            if perms.data:
                out[name] = [p.project_id for p in perms.data]
    return out


def _lr_of(w: World, checkpoint: str) -> float:
    for job in w.jobs():
        for ckpt in w.sdk().fine_tuning.jobs.checkpoints.list(job["id"]):
            if ckpt.fine_tuned_model_checkpoint == checkpoint:
                return float(job["method"]["supervised"]["hyperparameters"]["learning_rate_multiplier"])
    raise AssertionError(f"{checkpoint} belongs to no job")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_sweep_picks_the_best_and_moves_the_grant_when_a_better_job_finishes(sweep_world: World) -> None:
    w = sweep_world
    w.ok("apply", "--auto-approve", *WAIT)
    assert len(w.jobs()) == 6  # one job per matrix row, none twice
    state = w.state()["resources"]
    assert sorted(a for a in state if a.startswith("FineTuningJob.")) == sorted(
        f'FineTuningJob.sweep["lr={lr},epochs={e}"]' for lr in ("0.5", "1.0") for e in (1, 2, 3))
    grants = _grants(w)
    assert list(grants.values()) == [["proj_analytics"]], grants
    first = next(iter(grants))
    assert _lr_of(w, first) == 1.0
    w.finish_jobs()
    w.ok("plan", "--detailed-exitcode")  # nothing to do once the sweep is applied
    # instance addresses (keys with dots) in the commands that take one
    job_id = state['FineTuningJob.sweep["lr=0.5,epochs=1"]']["id"]
    assert w.ok("output", 'FineTuningJob.sweep["lr=0.5,epochs=1"].id', "--raw").output.strip() == job_id
    listed = w.ok("state", "list", "FineTuningJob.sweep").output
    assert listed.count("FineTuningJob.sweep[") == 6, listed
    targeted = w.ok("plan", "--no-color", "--target", "FineTuningJob.sweep").output
    assert "No changes." in targeted, targeted
    typo = w.run("plan", "--target", 'FineTuningJob.sweep["lr=0.5,epochs=4"]')
    assert typo.exit_code == 1 and "did you mean 'FineTuningJob.sweep[\"lr=0.5,epochs=" in typo.output, typo.output

    # a better learning rate: only its three instances are new; nothing else is touched
    specs = w.specs / "specs.yaml"
    specs.write_text(specs.read_text().replace("lr: [0.5, 1.0]", "lr: [0.5, 1.0, 1.8]"))
    planned = w.ok("plan", "--no-color", "--detailed-exitcode", code=2).output
    as_json = json.loads(w.ok("plan", "--json", "--detailed-exitcode", code=2).output)
    jsonschema.validate(as_json, json.loads((ROOT / "reconciler" / "render" / "schema" / "plan.schema.json").read_text()))
    # the grant may move to a better checkpoint once the new jobs finish: the revoke that takes is shown
    assert "Plan: 3 to add, 0 to change, 0 to destroy, 1 grant to revoke (1 once a pending value is known)." \
        in planned, planned
    assert f"- will revoke proj_analytics from {first} when the grant moves to a new checkpoint" in planned, planned
    assert planned.count("will be created") == 3 and 'FineTuningJob.sweep["lr=1.8,epochs=2"]' in planned
    w.ok("apply", "--auto-approve")
    assert len(w.jobs()) == 9
    w.finish_jobs()

    moved = w.ok("plan", "--no-color", "--detailed-exitcode", code=2).output
    assert "CheckpointPermission.share_best" in moved and f"the checkpoint changed from {first}" in moved, moved
    assert "lowest valid_loss:" in moved and " beats " in moved, moved
    assert "revoke proj_analytics" in moved, moved  # the revoke on the old winner is shown
    w.ok("apply", "--auto-approve")
    grants = _grants(w)
    assert list(grants.values()) == [["proj_analytics"]], grants
    assert first not in grants and _lr_of(w, next(iter(grants))) == 1.8
    w.ok("plan", "--detailed-exitcode")
    assert len(w.jobs()) == 9  # never a job twice
