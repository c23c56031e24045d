"""How far a running job is, for `apply --wait`'s progress lines: its newest `metrics` event (step,
total steps, train loss) from the job's event list (newest first), and a time left estimated from
the API's `estimated_finish` or, failing that, from the pace of the steps so far."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.api.clock import server_now
from reconciler.api.protocols import Client
from reconciler.errors import ReconcilerError

__all__ = ["EVENTS_READ", "job_progress", "progress_from", "server_now"]

# Events read per poll at most: the newest metrics event is among the first few (one per step,
# next to one per checkpoint); a job with none yet has a handful of events in all.
EVENTS_READ = 20


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def progress_from(job: Mapping[str, Any], events: Iterable[Mapping[str, Any]], now: float) -> dict[str, Any]:
    """Pure: {status, step, total_steps, train_loss, eta_seconds} (the known ones) from a job and
    its events, newest first. `now` is the server's clock as the job's times are (seconds)."""
    out: dict[str, Any] = {"status": str(job.get("status") or "unknown")}
    latest: Mapping[str, Any] | None = None
    at: float | None = None
    for event in events:
        data = event.get("data")
        if event.get("type") == "metrics" and isinstance(data, Mapping) and _number(data.get("step")) is not None:
            latest, at = data, _number(event.get("created_at"))
            break
    if latest is not None:
        step = int(_number(latest.get("step")) or 0)
        out["step"] = step
        total = _number(latest.get("total_steps"))
        if total:
            out["total_steps"] = int(total)
        loss = _number(latest.get("train_loss"))
        if loss is not None:
            out["train_loss"] = loss
    finish = _number(job.get("estimated_finish"))
    started = _number(job.get("started_at"))
    if finish is not None:
        out["eta_seconds"] = max(0.0, finish - now)
    elif latest is not None and started is not None and at is not None and out.get("total_steps") \
            and out["step"] > 0 and at > started:
        pace = (at - started) / out["step"]              # seconds per step so far
        out["eta_seconds"] = max(0.0, pace * (out["total_steps"] - out["step"]) - max(0.0, now - at))
    return out


def job_progress(client: Client, job: Mapping[str, Any]) -> dict[str, Any]:
    """One small read (the first page of the job's events) and `progress_from`. Progress is only
    shown: an events read that fails leaves out the step and loss, never fails the wait."""
    events: list[Mapping[str, Any]] = []
    if job.get("status") in ("running", "paused", "succeeded") and job.get("id"):
        try:
            events = list(itertools.islice(client.list_events(str(job["id"]), page_size=EVENTS_READ),
                                           EVENTS_READ))
        except ReconcilerError:
            events = []
    return progress_from(job, events, server_now(client))
