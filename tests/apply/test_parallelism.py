"""`parallelism` bounds the API calls in flight; 1 means one at a time, in plan order.

Concurrency is observed with the fake's in-flight counter and a gate the test holds closed,
never with sleeps or timings."""

from __future__ import annotations

import itertools
import threading

from tests.apply.fake_client import finished_before
from tests.apply.harness import actions
from tests.apply.workspace import Background, Workspace, job_doc


def _independent_jobs(ws: Workspace, count: int) -> list[str]:
    """`count` jobs on one file that already exists in the world: no dependencies between them."""
    file_id = ws.client.add_file()["id"]
    ws.write("jobs", *(job_doc(f"job_{i}", file_id) for i in range(count)))
    return [f"FineTuningJob.job_{i}" for i in range(count)]


def test_parallelism_three_keeps_three_creates_in_flight_and_never_more(ws: Workspace) -> None:
    addresses = _independent_jobs(ws, 7)
    plan = ws.plan()
    release = threading.Event()
    ws.client.gate("create_job", event=release)

    running = Background(lambda: ws.apply(plan, parallelism=3))
    try:
        reached = ws.client.wait_in_flight(3)
    finally:
        release.set()
    result = running.join()

    assert reached, f"never 3 creates in flight at once (max {ws.client.max_in_flight})"
    assert result.ok and result.added == 7, result
    assert ws.client.max_in_flight == 3
    creates = ws.client.named("create_job")
    assert sorted(c.address or "" for c in creates) == sorted(addresses)
    assert len({c.thread for c in creates}) <= 3


def test_parallelism_bound_holds_for_every_call_not_only_creates(ws: Workspace) -> None:
    """Uploads, creates and the grants that wait on them share one bound."""
    ws.client.create_status = "succeeded"
    docs = []
    for i in range(4):
        ws.data(f"d{i}")
        docs += [f"""
kind: File
name: f{i}
spec:
  path: data/d{i}.jsonl
""", job_doc(f"j{i}", f"${{File.f{i}.id}}")]
    ws.write("main", *docs)
    plan = ws.plan()
    release = threading.Event()
    ws.client.gate("upload_file", event=release)

    running = Background(lambda: ws.apply(plan, parallelism=2))
    try:
        reached = ws.client.wait_in_flight(2)
    finally:
        release.set()
    result = running.join()

    assert reached
    assert result.ok and result.added == 8, result
    assert ws.client.max_in_flight == 2


def test_parallelism_one_runs_strictly_one_call_at_a_time_in_plan_order(ws: Workspace) -> None:
    _independent_jobs(ws, 5)
    plan = ws.plan()
    ws.client.reset_calls()

    result = ws.apply(plan, parallelism=1)

    assert result.ok and result.added == 5, result
    calls = ws.client.calls
    assert ws.client.max_in_flight == 1
    for earlier, later in itertools.pairwise(calls):
        assert finished_before(earlier, later), (earlier, later)
    assert len({c.thread for c in calls}) == 1
    planned = [a for a, action in actions(plan).items() if action == "create"]
    assert [c.address for c in ws.client.named("create_job")] == planned
