"""The platform's rules on end dates, stated by the sandbox itself (not imported from
reconciler/lifecycle/dates.py), so tests of reconciler's refusals and warnings against the sandbox
compare two statements of the rules. The dates are data both read: the sourced
reconciler/lifecycle/end_dates.json (platform openai by default; the Azure routes ask for azure).

- no new job from the platform's job-creation end, nor on a base from its training end or its
  serving end, whichever comes first;
- a model, and every fine-tune of its base, stops answering from the base's serving end.
"""

from __future__ import annotations

import datetime as dt

from reconciler.lifecycle.data import EndDate, shipped
from reconciler_sandbox.models import ALIASES

__all__ = ["PLATFORM", "base_snapshot", "creation_end", "serving_end", "today", "training_end", "training_refusal"]

PLATFORM = "openai"


def today(now: float) -> dt.date:
    """The UTC day of the sandbox's clock."""
    return dt.datetime.fromtimestamp(now, dt.UTC).date()


def base_snapshot(model: str) -> str:
    """`ft:BASE:org:suffix:id` -> BASE, Azure's `BASE.ft-<hex>` -> BASE, an alias -> its dated
    snapshot, anything else as given."""
    if model.startswith("ft:"):
        parts = model.split(":")
        model = parts[1] if len(parts) > 1 and parts[1] else model
    elif ".ft-" in model:
        model = model.split(".ft-", 1)[0]
    return ALIASES.get(model, model)


def creation_end(platform: str = PLATFORM) -> EndDate | None:
    return shipped().platform(platform).job_creation_ends


def serving_end(model: str, platform: str = PLATFORM) -> EndDate | None:
    return shipped().platform(platform).model(base_snapshot(model)).serving_ends


def training_end(model: str, platform: str = PLATFORM) -> EndDate | None:
    """The first day no new job may train on `model`: the earliest of the platform's creation end
    and the base's training and serving ends (None: none is known)."""
    dates = shipped().platform(platform).model(base_snapshot(model))
    ends = [d for d in (creation_end(platform), dates.training_ends, dates.serving_ends) if d is not None]
    return min(ends, key=lambda d: d.date) if ends else None


def training_refusal(model: str, now: float, platform: str = PLATFORM) -> EndDate | None:
    """The end that forbids a new job on `model` today, or None while one may be created."""
    first = training_end(model, platform)
    return first if first is not None and today(now) >= first.date else None
