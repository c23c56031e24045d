"""The platform's rules on end dates, stated by the sandbox itself (not imported from
reconciler/lifecycle/dates.py), so tests of reconciler's refusals and warnings against the sandbox
compare two statements of the rules. The dates are data both read: the sourced
reconciler/lifecycle/end_dates.json (platform openai).

- no new job from the platform's job-creation end, nor on a base from its training end or its
  serving end, whichever comes first;
- a model, and every fine-tune of its base, stops answering from the base's serving end.
"""

from __future__ import annotations

import datetime as dt

from reconciler.lifecycle.data import EndDate, shipped
from reconciler_sandbox.models import ALIASES

__all__ = ["PLATFORM", "base_snapshot", "creation_end", "serving_end", "today", "training_refusal"]

PLATFORM = "openai"


def today(now: float) -> dt.date:
    """The UTC day of the sandbox's clock."""
    return dt.datetime.fromtimestamp(now, dt.UTC).date()


def base_snapshot(model: str) -> str:
    """`ft:BASE:org:suffix:id` -> BASE, an alias -> its dated snapshot, anything else as given."""
    if model.startswith("ft:"):
        parts = model.split(":")
        model = parts[1] if len(parts) > 1 and parts[1] else model
    return ALIASES.get(model, model)


def creation_end() -> EndDate | None:
    return shipped().platform(PLATFORM).job_creation_ends


def serving_end(model: str) -> EndDate | None:
    return shipped().platform(PLATFORM).model(base_snapshot(model)).serving_ends


def training_refusal(model: str, now: float) -> EndDate | None:
    """The end that forbids a new job on `model` today, or None while one may be created."""
    dates = shipped().platform(PLATFORM).model(base_snapshot(model))
    ends = [d for d in (creation_end(), dates.training_ends, dates.serving_ends) if d is not None]
    first = min(ends, key=lambda d: d.date) if ends else None
    return first if first is not None and today(now) >= first.date else None
