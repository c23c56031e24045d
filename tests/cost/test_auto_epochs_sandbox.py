"""`n_epochs: "auto"` means the same number of epochs in the plan's estimate and on the sandbox's bill:
the sandbox resolves it with the cookbook's rule (reconciler/cost/epochs.py), as the real API does.
Table-driven against the sandbox's lifecycle (no server), then end to end: the real CLI's plan estimate
for an auto-epoch job equals `reconciler cost` after the job finished on the real sandbox over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.cost.epochs import auto_epochs
from reconciler_sandbox import lifecycle
from tests.e2e.conftest import JOB_SPEC, World, chat_jsonl

# Examples -> epochs, the cookbook's function worked by hand (the checkpoints of the cookbook's table plus the edges).
CASES = [(1, 25), (3, 25), (4, 25), (9, 11), (10, 10), (12, 8), (33, 3), (34, 3), (50, 3), (100, 3),
         (1000, 3), (8333, 3), (8334, 2), (12500, 2), (12501, 1), (30000, 1)]


@pytest.mark.parametrize(("examples", "epochs"), CASES)
def test_the_sandbox_resolves_auto_epochs_by_the_cookbooks_rule(examples: int, epochs: int) -> None:
    job = {"examples": examples, "method_type": "supervised",
           "hyperparameters": {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"}}
    resolved = lifecycle.resolved_hyperparameters(job)
    assert resolved["n_epochs"] == epochs == auto_epochs(examples)


def test_a_number_of_epochs_as_written_is_kept() -> None:
    job = {"examples": 12, "method_type": "supervised", "hyperparameters": {"n_epochs": 2}}
    assert lifecycle.resolved_hyperparameters(job)["n_epochs"] == 2


def _estimate(w: World) -> dict[str, Any]:
    data = json.loads(w.ok("plan", "--json").output)
    change = next(c for c in data["resource_changes"] if c["address"] == "FineTuningJob.bot")
    cost: dict[str, Any] = change["cost"]
    return cost


@pytest.mark.parametrize(("examples", "epochs"), [(12, 8), (9000, 2)])
def test_the_plan_estimate_of_an_auto_epoch_job_is_what_the_sandbox_bills(world: World, examples: int,
                                                                         epochs: int) -> None:
    (world.specs / "data" / "train.jsonl").write_text(chat_jsonl(examples))
    world.write("main.yaml", JOB_SPEC)
    estimate = _estimate(world)
    assert estimate["examples"] == examples and estimate["epochs_auto"] is True and estimate["epochs"] == epochs

    world.ok("apply", "--auto-approve")
    world.sandbox.advance(2 * 3600)  # the longest sandbox job runs an hour after 20 s of validation and queue
    jobs = world.jobs()
    assert len(jobs) == 1 and jobs[0]["status"] == "succeeded"
    assert jobs[0]["method"]["supervised"]["hyperparameters"]["n_epochs"] == epochs
    assert jobs[0]["trained_tokens"] == estimate["billed_tokens"] == estimate["tokens_per_epoch"] * epochs

    spent = json.loads(world.ok("cost", "--json").output)
    assert spent["jobs"] == 1 and spent["unknown"] == 0
    assert spent["usd"] == pytest.approx(estimate["usd"])
