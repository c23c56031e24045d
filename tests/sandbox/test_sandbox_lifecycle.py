"""The clock and the lazily computed lifecycle (no sleeping: the clock is stepped)."""

from __future__ import annotations

import pytest

from reconciler_sandbox import lifecycle
from reconciler_sandbox.clock import SimClock
from reconciler_sandbox.testing import run_sandbox

from .conftest import PROJECT_KEY, chat_lines


def test_speed_scales_wall_time(monkeypatch):
    wall = [100.0]
    monkeypatch.setattr("reconciler_sandbox.clock.time.monotonic", lambda: wall[0])
    clock = SimClock(start=1_000_000.0, speed=60)
    wall[0] += 2.0
    assert clock.now() == pytest.approx(1_000_120.0)
    clock.advance(30)
    assert clock.now() == pytest.approx(1_000_150.0)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    assert clock.now() == pytest.approx(1_000_150.0)  # the refused step changed nothing
    with pytest.raises(ValueError, match="speed must be positive"):
        SimClock(speed=0)


def _job(sb):
    file_id = sb.world.upload_file(filename="t.jsonl", purpose="fine-tune", content=chat_lines())["id"]
    return sb.world.create_job({"model": "gpt-4o-mini", "training_file": file_id}, project="proj_sandbox")


def test_status_timeline_and_fields():
    with run_sandbox() as sb:
        job = _job(sb)
        seen = []
        for step in [0, 5, 6, 10, 60, 50, 100]:  # cumulative: 0,5,11,21,81,131,231
            sb.advance(step)
            current = sb.world.get_job(job["id"])
            seen.append(current["status"])
            if current["status"] in ("queued", "running"):
                assert current["estimated_finish"] is not None
            else:
                assert current["estimated_finish"] is None
            if current["status"] != "succeeded":
                assert current["trained_tokens"] is None and current["fine_tuned_model"] is None
                assert current["finished_at"] is None and current["result_files"] == []
        assert seen == ["validating_files", "validating_files", "queued", "running", "running", "running",
                        "succeeded"]


def test_checkpoints_appear_during_running_and_pause_shifts_finish():
    with run_sandbox() as sb:
        job = _job(sb)
        # 12 examples: "auto" is 8 epochs (docs/SANDBOX.md F54); the kept checkpoints are epochs 6, 7
        # and 8, at 90, 105 and 120 s of 120 s of training
        sb.advance(20 + 91)
        assert len(sb.world.list_checkpoints(job["id"], after=None, limit=10)["data"]) == 1
        finish = sb.world.get_job(job["id"])["estimated_finish"]
        sb.world.pause_job(job["id"])
        sb.advance(500)
        resumed = sb.world.resume_job(job["id"])
        assert resumed["estimated_finish"] == pytest.approx(finish + 500, abs=1)
        assert len(sb.world.list_checkpoints(job["id"], after=None, limit=10)["data"]) == 1
        sb.advance(30)
        assert sb.world.get_job(job["id"])["status"] == "succeeded"
        assert len(sb.world.list_checkpoints(job["id"], after=None, limit=10)["data"]) == 3


def test_cancel_while_paused_and_events_stop():
    with run_sandbox() as sb:
        job = _job(sb)
        sb.advance(30)
        sb.world.pause_job(job["id"])
        sb.advance(5)
        cancelled = sb.world.cancel_job(job["id"])
        assert cancelled["status"] == "cancelled"
        sb.advance(10_000)
        final = sb.world.get_job(job["id"])
        assert final["status"] == "cancelled" and final["finished_at"] == cancelled["finished_at"]
        events = sb.world.list_events(job["id"], after=None, limit=100)["data"]
        assert events[0]["message"] == "Fine-tuning job cancelled"
        assert not any("successfully" in e["message"] for e in events)


def test_lifecycle_is_a_pure_function_of_time():
    job = {"id": "ftjob-x", "created_at": 1000.0, "durations": [10.0, 10.0, 120.0], "pauses": [[1050.0, 1100.0]],
           "cancelled_at": None, "error": None}
    assert lifecycle.status_at(job, 1005) == "validating_files"
    assert lifecycle.status_at(job, 1015) == "queued"
    assert lifecycle.status_at(job, 1040) == "running"
    assert lifecycle.status_at(job, 1060) == "paused"
    assert lifecycle.run_end(job) == 1190.0
    assert lifecycle.status_at(job, 1189) == "running"
    assert lifecycle.status_at(job, 1190) == "succeeded"
    assert lifecycle.finished_at(job, 2000) == 1190.0
    failed = {**job, "error": {"code": "invalid_training_file", "message": "m", "param": "training_file"}}
    assert lifecycle.status_at(failed, 1011) == "failed"
    assert lifecycle.finished_at(failed, 5000) == 1010.0
    assert lifecycle.status_at({**job, "cancelled_at": 1012.0}, 1013) == "cancelled"


def test_speed_runs_the_lifecycle_faster():
    import httpx
    with run_sandbox(speed=100_000) as sb:  # 10 µs of wall time is a simulated second
        file_id = sb.world.upload_file(filename="t.jsonl", purpose="fine-tune", content=chat_lines())["id"]
        with httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {PROJECT_KEY}"}) as http:
            job = http.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": file_id}).json()
            status = job["status"]
            for _ in range(200):
                status = http.get(f"/fine_tuning/jobs/{job['id']}").json()["status"]
                if status == "succeeded":
                    break
        assert status == "succeeded"


def test_list_pages_touch_only_the_page():
    with run_sandbox() as sb:
        file_id = sb.world.upload_file(filename="t.jsonl", purpose="fine-tune", content=chat_lines())["id"]
        ids = [sb.world.create_job({"model": "gpt-4o-mini", "training_file": file_id, "metadata": {"i": str(i)}},
                                   project="proj_sandbox")["id"] for i in range(3000)]
        calls = []
        store = sb.world.jobs

        def keep(job):
            calls.append(job["id"])
            return True

        data, more = store.page(after=ids[1500], limit=20, keep=keep)
        assert [j["id"] for j in data] == ids[1499:1479:-1] and more
        assert len(calls) == 21  # the page and one more to know has_more, whatever the world's size
        page = sb.world.list_jobs(after=ids[10], limit=100)
        assert [j["id"] for j in page["data"]] == ids[9::-1] and not page["has_more"]
