"""Pure date logic over the end dates: which day it is, when a platform stops creating jobs, when
a base model stops training and when a fine-tuned model stops answering.

"Now" is always an argument (a POSIX time): the API's clock (its `Date` header) where there is
one, never read here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.lifecycle.data import EndDate, EndDates, parse_day
from reconciler.resources.models import SNAPSHOTS

__all__ = ["ApiShutdowns", "ModelEnd", "base_model", "creation_end", "days_left", "managed_model_ends", "model_end",
           "model_ends", "serving_end", "today", "training_end", "training_refusal"]

ApiShutdowns = Mapping[str, "str | None"]   # model id -> shutdown_date as GET /v1/models answered it

DEFAULT_PLATFORM = "openai"


def today(now: float) -> dt.date:
    """The UTC calendar day of a POSIX time."""
    return dt.datetime.fromtimestamp(now, dt.UTC).date()


def days_left(end: dt.date, now: float) -> int:
    """Whole days from `now`'s UTC day to `end` (0 on the day itself, negative after it)."""
    return (end - today(now)).days


def base_model(model: str) -> str:
    """The dated base snapshot a model name trains from or serves on: `ft:BASE:org:suffix:id` ->
    BASE, Azure's `BASE.ft-<hex>` -> BASE, an alias -> its snapshot, anything else as given."""
    if model.startswith("ft:"):
        parts = model.split(":")
        model = parts[1] if len(parts) > 1 and parts[1] else model
    elif ".ft-" in model:
        model = model.split(".ft-", 1)[0]
    return SNAPSHOTS.get(model, model)


def creation_end(dates: EndDates, platform: str = DEFAULT_PLATFORM) -> EndDate | None:
    """The day from which `platform` accepts no new fine-tuning job (None: not announced)."""
    return dates.platform(platform).job_creation_ends


def training_end(dates: EndDates, model: str, platform: str = DEFAULT_PLATFORM) -> EndDate | None:
    """The first day no new job can train on `model` there: the earliest of the platform's job
    creation end, the base's training end and the base's serving end (a model that no longer
    answers cannot be trained either)."""
    dates_of = dates.platform(platform).model(base_model(model))
    found = [d for d in (creation_end(dates, platform), dates_of.training_ends, dates_of.serving_ends)
             if d is not None]
    return min(found, key=lambda d: d.date) if found else None


def training_refusal(dates: EndDates, model: str, now: float, platform: str = DEFAULT_PLATFORM) -> EndDate | None:
    """The end date that forbids a new job on `model` at `now`, or None when one may be created."""
    end = training_end(dates, model, platform)
    return end if end is not None and today(now) >= end.date else None


def _from_api(model: str, api: ApiShutdowns | None) -> EndDate | None:
    raw = (api or {}).get(model)
    if not isinstance(raw, str):
        return None   # not listed, or null: the API announces nothing; the data decides
    try:
        return EndDate(parse_day(raw), model, origin="api")
    except ValueError:
        return None


def serving_end(dates: EndDates, model: str, platform: str = DEFAULT_PLATFORM,
                api: ApiShutdowns | None = None) -> EndDate | None:
    """The day a fine-tuned model (or fine-tunes of a base) stops answering. The API's own
    shutdown_date wins when it gives one (for the model itself, else for its base); else the end
    dates (shipped, or overridden in Settings)."""
    base = base_model(model)
    return (_from_api(model, api) or _from_api(base, api)
            or dates.platform(platform).model(base).serving_ends)


@dataclass(frozen=True)
class ModelEnd:
    """One fine-tuned model's end, as `inventory` and the health findings show it."""

    model: str
    base: str
    platform: str
    serving_end: EndDate | None
    days_left: int | None            # None: no end known

    @property
    def gone(self) -> bool:
        return self.days_left is not None and self.days_left <= 0

    def ending(self, warn_days: int) -> bool:
        return self.days_left is not None and 0 < self.days_left <= warn_days

    def to_dict(self) -> dict[str, object]:
        end = self.serving_end
        return {"model": self.model, "base": self.base, "platform": self.platform,
                "serving_ends": end.day if end else None, "days_left": self.days_left,
                "source": end.cite() if end else None}


def model_end(dates: EndDates, model: str, now: float, platform: str = DEFAULT_PLATFORM,
              api: ApiShutdowns | None = None) -> ModelEnd:
    end = serving_end(dates, model, platform, api)
    return ModelEnd(model, base_model(model), platform, end, days_left(end.date, now) if end else None)


def model_ends(models: Iterable[tuple[str, str]], dates: EndDates, now: float,
               api: ApiShutdowns | None = None) -> list[ModelEnd]:
    """(model id, platform) pairs -> each model's serving end and days left at `now`, soonest
    first (models with no known end last)."""
    found = [model_end(dates, model, now, platform, api) for model, platform in models]
    return sorted(found, key=lambda m: (m.days_left is None, m.days_left or 0, m.model))


def managed_model_ends(observed: Mapping[str, Mapping[str, Any]], dates: EndDates, now: float,
                       api: ApiShutdowns | None = None,
                       platform_of: Mapping[str, str] | None = None) -> list[tuple[str, ModelEnd]]:
    """address -> live attributes (a plan's `observed`) -> (address, end) for every object with a
    `fine_tuned_model`, soonest end first. `platform_of` maps an address to its platform (default
    openai)."""
    def platform(address: str) -> str:
        return (platform_of or {}).get(address, DEFAULT_PLATFORM)

    # the API's shutdown dates are OpenAI's (GET /v1/models): never another platform's
    found = [(address, model_end(dates, str(attrs["fine_tuned_model"]), now, platform(address),
                                 api if platform(address) == DEFAULT_PLATFORM else None))
             for address, attrs in observed.items()
             if isinstance(attrs, Mapping) and isinstance(attrs.get("fine_tuned_model"), str)
             and attrs["fine_tuned_model"]]
    return sorted(found, key=lambda pair: (pair[1].days_left is None, pair[1].days_left or 0, pair[0]))
