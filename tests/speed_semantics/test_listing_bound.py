"""Refresh is bound by what reconciler manages, not by the organisation's history.

With 50,000 jobs nobody manages in the organisation and 100 managed ones, a no-op plan lists only
this workspace's jobs (`metadata[reconciler_lineage]=…`): at most 3 job-list calls, counted by the
sandbox. `drift`, which reports jobs no spec manages, still lists every job, and says why under
--debug. Counts only, never timings."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from reconciler_sandbox.history import add_history
from tests.e2e.conftest import World

MANAGED = 100
HISTORY = 50_000
JOB_LIST = "GET /v1/fine_tuning/jobs"


def specs(n: int) -> str:
    parts = ["kind: File\nname: train\nspec:\n  path: data/train.jsonl\n"]
    for i in range(n):
        parts.append(f"kind: FineTuningJob\nname: job{i}\nspec:\n  model: gpt-4o-mini\n"
                     f"  training_file: ${{File.train.id}}\n  suffix: s{i}\n  seed: {i}\n"
                     "  method:\n    type: supervised\n")
    return "---\n".join(parts)


def job_lists(world: World) -> int:
    return world.sandbox.stats().get(JOB_LIST, 0)


def managed_world(world: World, n: int, history: int) -> dict[str, Any]:
    world.write("jobs.yaml", specs(n))
    world.ok("apply", "--auto-approve")
    return add_history(world.sandbox.world, history)


def test_noop_plan_lists_only_managed_jobs_among_50000(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="reconciler.refresh")
    held = managed_world(world, MANAGED, HISTORY)
    assert held["jobs"] == MANAGED + HISTORY
    world.sandbox.reset_stats()
    result = world.ok("plan", "--detailed-exitcode")
    assert "No changes" in result.output
    assert job_lists(world) <= 3, world.sandbox.stats()
    assert world.sandbox.stats().get("GET /v1/fine_tuning/jobs/{job_id}", 0) == 0

    # drift reports unmanaged jobs: it must see them all (one list call per 100 jobs), and says why
    world.sandbox.reset_stats()
    world.run("drift")
    assert job_lists(world) >= (MANAGED + HISTORY) // 100
    assert "job listing: every job: drift reports jobs no spec manages" in caplog.text


def test_plan_debug_names_the_filter(world: World, caplog: pytest.LogCaptureFixture) -> None:
    managed_world(world, 3, 0)
    caplog.set_level(logging.DEBUG, logger="reconciler.refresh")
    world.ok("plan")
    assert "job listing: filtered: only this workspace's jobs (metadata[reconciler_lineage]=" in caplog.text


def test_a_data_source_over_all_jobs_still_sees_every_job(world: World) -> None:
    """A data source that reads every job is answered from the full listing (a later round), not
    from the filtered one: the hand-made job is found."""
    managed_world(world, 2, 5)
    world.write("data.yaml", """\
        kind: data.FineTuningJobs
        name: history
        spec:
          metadata: {team: history}
        """)
    world.sandbox.reset_stats()
    world.ok("plan")
    # the filtered listing first, then the listing of every job for the data source
    assert job_lists(world) == 2, world.sandbox.stats()
