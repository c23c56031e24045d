"""inventory.gather on its own: which records give models and grants, refresh from the listing,
--all, days left and ordering (table-driven, no server)."""

from __future__ import annotations

import datetime as dt

import pytest

from reconciler.inventory import gather, summary
from reconciler.state import ResourceState

TODAY = dt.date(2026, 12, 20)
ENDS = {"gpt-4o-mini-2024-07-18": dt.date(2027, 1, 14), "gpt-4.1-nano-2025-04-14": dt.date(2026, 10, 23)}


def end_of(platform: str, base: str, model: str) -> tuple[dt.date | None, str | None]:
    end = ENDS.get(base)
    return (end, "table" if end else None)


def job(address: str, job_id: str, base: str, model: str | None, status: str = "succeeded") -> ResourceState:
    return ResourceState(address=address, kind="FineTuningJob", id=job_id, inputs={"model": base},
                         attributes={"status": status, "model": base, "fine_tuned_model": model,
                                     "finished_at": 1_766_000_000 if model else None})


def grant(address: str, checkpoint: str, *projects: str) -> ResourceState:
    return ResourceState(address=address, kind="CheckpointPermission", id=checkpoint,
                         attributes={"fine_tuned_model_checkpoint": checkpoint,
                                     "permissions": [{"id": f"cp_{p}", "project_id": p} for p in projects]})


def run(records: list[ResourceState], live: list[dict[str, object]] | None = None, everything: bool = False):
    return gather({r.address: r for r in records}, live, end_of=end_of, today=TODAY,
                  platform_of=lambda a: "openai", everything=everything)


CASES = [
    # (name, records, live, everything, expected [(address, model, days_left, grants)])
    ("one trained job", [job("FineTuningJob.a", "ftjob-a", "gpt-4o-mini-2024-07-18", "ft:a")], None, False,
     [("FineTuningJob.a", "ft:a", 25, ())]),
    ("a running job has no model yet", [job("FineTuningJob.a", "ftjob-a", "gpt-4o-mini-2024-07-18", None, "running")],
     None, False, []),
    ("the listing finishes it", [job("FineTuningJob.a", "ftjob-a", "gpt-4o-mini-2024-07-18", None, "running")],
     [{"id": "ftjob-a", "status": "succeeded", "fine_tuned_model": "ft:late", "model": "gpt-4o-mini-2024-07-18"}],
     False, [("FineTuningJob.a", "ft:late", 25, ())]),
    ("grants follow the model", [job("FineTuningJob.a", "ftjob-a", "gpt-4o-mini-2024-07-18", "ft:a"),
                                 grant("CheckpointPermission.s", "ft:a", "proj_b", "proj_a")], None, False,
     [("FineTuningJob.a", "ft:a", 25, ("proj_a", "proj_b"))]),
    ("a shut-down base, soonest first", [job("FineTuningJob.a", "ftjob-a", "gpt-4o-mini-2024-07-18", "ft:a"),
                                          job("FineTuningJob.n", "ftjob-n", "gpt-4.1-nano-2025-04-14", "ft:n")],
     None, False, [("FineTuningJob.n", "ft:n", -58, ()), ("FineTuningJob.a", "ft:a", 25, ())]),
    ("unknown end last", [job("FineTuningJob.z", "ftjob-z", "o4-mini-2025-04-16", "ft:z"),
                          job("FineTuningJob.a", "ftjob-a", "gpt-4o-mini-2024-07-18", "ft:a")], None, False,
     [("FineTuningJob.a", "ft:a", 25, ()), ("FineTuningJob.z", "ft:z", None, ())]),
    ("--all adds the organisation's others", [job("FineTuningJob.a", "ftjob-a", "gpt-4o-mini-2024-07-18", "ft:a")],
     [{"id": "ftjob-a", "status": "succeeded", "fine_tuned_model": "ft:a", "model": "gpt-4o-mini-2024-07-18"},
      {"id": "ftjob-x", "status": "succeeded", "fine_tuned_model": "ft:x", "model": "gpt-4o-mini-2024-07-18"},
      {"id": "ftjob-r", "status": "running", "fine_tuned_model": None, "model": "gpt-4o-mini-2024-07-18"}], True,
     [("FineTuningJob.a", "ft:a", 25, ()), (None, "ft:x", 25, ())]),
    ("without --all the others stay out", [job("FineTuningJob.a", "ftjob-a", "gpt-4o-mini-2024-07-18", "ft:a")],
     [{"id": "ftjob-x", "status": "succeeded", "fine_tuned_model": "ft:x", "model": "gpt-4o-mini-2024-07-18"}], False,
     [("FineTuningJob.a", "ft:a", 25, ())]),
    ("files give nothing", [ResourceState(address="File.t", kind="File", id="file-1", attributes={"bytes": 3})],
     None, False, []),
]


@pytest.mark.parametrize(("name", "records", "live", "everything", "expected"), CASES, ids=[c[0] for c in CASES])
def test_gather(name, records, live, everything, expected) -> None:
    got = [(e.address, e.model, e.days_left, tuple(g.project_id for g in e.grants)) for e in run(records, live, everything)]
    assert got == expected


def test_summary_counts_each_state() -> None:
    entries = run([job("FineTuningJob.a", "ftjob-a", "gpt-4o-mini-2024-07-18", "ft:a"),
                   job("FineTuningJob.n", "ftjob-n", "gpt-4.1-nano-2025-04-14", "ft:n"),
                   job("FineTuningJob.z", "ftjob-z", "o4-mini-2025-04-16", "ft:z")])
    assert summary(entries, 30) == {"models": 3, "shut_down": 1, "ending_soon": 1, "unknown_end": 1, "unmanaged": 0}
    assert summary(entries, 10) == {"models": 3, "shut_down": 1, "ending_soon": 0, "unknown_end": 1, "unmanaged": 0}


def test_the_serving_end_day_itself_is_shut_down() -> None:
    on_the_day = gather({"FineTuningJob.a": job("FineTuningJob.a", "ftjob-a", "gpt-4o-mini-2024-07-18", "ft:a")},
                        None, end_of=end_of, today=dt.date(2027, 1, 14), platform_of=lambda a: "openai")
    assert on_the_day[0].days_left == 0 and on_the_day[0].shut_down
