"""What the listener hears: one start and one outcome per change, in an order that matches what
happened (a dependent starts only after what it needs is done; a skipped change never starts)."""

from __future__ import annotations

import itertools

from reconciler.apply.events import Event, EventKind
from tests.apply.fake_client import api_error
from tests.apply.workspace import Workspace, file_doc, job_doc, permission_doc

OUTCOMES = {EventKind.DONE, EventKind.FAILED, EventKind.PENDING, EventKind.SKIPPED}


def _index(events: list[Event], address: str, kind: EventKind) -> int:
    found = [i for i, e in enumerate(events) if e.address == address and e.kind is kind]
    assert len(found) == 1, f"{address}: {len(found)} {kind.value} events in {events}"
    return found[0]


def _check_lifecycles(events: list[Event]) -> dict[str, EventKind]:
    """Every address: at most one START, exactly one outcome, the outcome after the START."""
    outcome: dict[str, EventKind] = {}
    for address in {e.address for e in events}:
        mine = [e for e in events if e.address == address and e.kind in OUTCOMES | {EventKind.START}]
        ends = [e for e in mine if e.kind in OUTCOMES]
        assert len(ends) == 1, f"{address}: {mine}"
        starts = [e for e in mine if e.kind is EventKind.START]
        if ends[0].kind is EventKind.SKIPPED:
            assert starts == [], f"{address} was skipped but started: {mine}"
        else:
            assert len(starts) == 1 and mine[0].kind is EventKind.START, f"{address}: {mine}"
        outcome[address] = ends[0].kind
    return outcome


def test_start_and_done_per_change_in_dependency_order(ws: Workspace) -> None:
    ws.client.create_status = "succeeded"
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot"),
             permission_doc("share", "${FineTuningJob.bot.fine_tuned_model}", ["proj_a"]))

    assert ws.apply().ok
    events = ws.events

    assert _check_lifecycles(events) == {"File.train": EventKind.DONE, "FineTuningJob.bot": EventKind.DONE,
                                         "CheckpointPermission.share": EventKind.DONE}
    chain = ["File.train", "FineTuningJob.bot", "CheckpointPermission.share"]
    for earlier, later in itertools.pairwise(chain):
        assert _index(events, earlier, EventKind.DONE) < _index(events, later, EventKind.START)
    start = events[_index(events, "FineTuningJob.bot", EventKind.START)]
    done = events[_index(events, "FineTuningJob.bot", EventKind.DONE)]
    assert (start.verb, done.verb) == ("Creating", "Creation")
    assert done.object_id == ws.client.job_for("FineTuningJob.bot")["id"]
    assert events[_index(events, "File.train", EventKind.DONE)].object_id == ws.client.one("upload_file").result["id"]


def test_failed_change_and_skipped_dependent_are_reported_in_order(ws: Workspace) -> None:
    ws.data("train")
    ws.data("other")
    ws.write("main", file_doc("train"), file_doc("other"), job_doc("bot"))
    ws.client.fail("upload_file", api_error(400, "bad file", path="/files"),
                   match=lambda args: args["path"].endswith("train.jsonl"))

    result = ws.apply(parallelism=1)
    events = ws.events

    assert not result.ok
    assert _check_lifecycles(events) == {"File.train": EventKind.FAILED, "File.other": EventKind.DONE,
                                         "FineTuningJob.bot": EventKind.SKIPPED}
    failed = events[_index(events, "File.train", EventKind.FAILED)]
    assert "400" in failed.message and "bad file" in failed.message
    skipped = events[_index(events, "FineTuningJob.bot", EventKind.SKIPPED)]
    assert "not attempted" in skipped.message and "File.train" in skipped.message
    assert _index(events, "File.train", EventKind.FAILED) < _index(events, "FineTuningJob.bot", EventKind.SKIPPED)


def test_destroy_events_use_destroy_verbs(ws: Workspace) -> None:
    ws.client.create_status = "running"
    ws.data("train")
    ws.write("main", file_doc("train"), job_doc("bot"))
    assert ws.apply().ok
    ws.events.clear()

    assert ws.apply(ws.plan(destroy=True)).ok

    outcome = _check_lifecycles(ws.events)
    assert outcome == {"File.train": EventKind.DONE, "FineTuningJob.bot": EventKind.DONE}
    assert {e.verb for e in ws.events if e.kind is EventKind.START} == {"Destroying"}
    # the job is cancelled (destroyed) before the file it trained on is deleted
    assert _index(ws.events, "FineTuningJob.bot", EventKind.DONE) < _index(ws.events, "File.train", EventKind.START)
