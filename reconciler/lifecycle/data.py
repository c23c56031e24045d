"""The platforms' end dates as typed data: what `end_dates.json` ships, and the overrides a
`Settings.spec.lifecycle.end_dates` block puts over it.

Per platform (`openai`, `azure`): `job_creation_ends`, the day from which the platform accepts no
new fine-tuning job; per base-model snapshot, `training_ends` (no new job on that base from that
day) and `serving_ends` (its fine-tuned models stop answering from that day). Every date carries
where it comes from, so a refusal or a warning can name its source.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = ["DATE_PATTERN", "DEFAULT_WARN_DAYS", "FIELDS", "PLATFORMS", "EndDate", "EndDates",
           "LifecycleSettings", "ModelDates", "PlatformDates", "parse_day", "shipped", "with_overrides"]

PLATFORMS = ("openai", "azure")
FIELDS = ("training_ends", "serving_ends")
DEFAULT_WARN_DAYS = 30
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def parse_day(text: str) -> dt.date:
    """"2027-01-06" -> a date (ValueError for anything else)."""
    return dt.date.fromisoformat(text)


@dataclass(frozen=True)
class EndDate:
    date: dt.date
    source: str                    # a URL, or where an override was written (specs/settings.yaml:7)
    section: str = ""              # the part of the source that says it
    published: str | None = None   # when the source published it (None: not known)
    note: str = ""
    origin: str = "data"           # data (end_dates.json), settings (an override), api (shutdown_date)

    @property
    def day(self) -> str:
        return self.date.isoformat()

    def cite(self) -> str:
        """One line naming where the date comes from, for messages."""
        if self.origin == "api":
            return f"the API's shutdown_date for {self.source}"
        if self.origin == "settings":
            return f"override in {self.source}"
        published = f", published {self.published}" if self.published else ""
        section = f" ({self.section})" if self.section else ""
        return f"{self.source}{section}{published}"

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.day, "source": self.source, "section": self.section or None,
                "published": self.published, "origin": self.origin}


@dataclass(frozen=True)
class ModelDates:
    training_ends: EndDate | None = None
    serving_ends: EndDate | None = None


_NO_MODELS: Mapping[str, ModelDates] = MappingProxyType({})


@dataclass(frozen=True)
class PlatformDates:
    name: str
    job_creation_ends: EndDate | None = None
    models: Mapping[str, ModelDates] = field(default_factory=lambda: _NO_MODELS)

    def model(self, snapshot: str) -> ModelDates:
        return self.models.get(snapshot) or ModelDates()


@dataclass(frozen=True)
class EndDates:
    platforms: Mapping[str, PlatformDates]

    def platform(self, name: str) -> PlatformDates:
        return self.platforms.get(name) or PlatformDates(name)


def _entry(raw: Any, where: str) -> EndDate | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("date"), str) or not isinstance(raw.get("source"), str):
        raise ValueError(f"end_dates.json {where}: needs date and source")
    published = raw.get("published")
    return EndDate(parse_day(raw["date"]), raw["source"], str(raw.get("section") or ""),
                   published if isinstance(published, str) else None, str(raw.get("note") or ""))


def parse(data: Mapping[str, Any]) -> EndDates:
    """The end dates of a parsed `end_dates.json`."""
    platforms: dict[str, PlatformDates] = {}
    for name, raw in (data.get("platforms") or {}).items():
        models = {snapshot: ModelDates(*(_entry(entry.get(f), f"{name}.models.{snapshot}.{f}") for f in FIELDS))
                  for snapshot, entry in (raw.get("models") or {}).items()}
        platforms[name] = PlatformDates(name, _entry(raw.get("job_creation_ends"), f"{name}.job_creation_ends"),
                                        MappingProxyType(models))
    return EndDates(MappingProxyType(platforms))


@cache
def shipped() -> EndDates:
    """The end dates shipped in the package (reconciler/lifecycle/end_dates.json)."""
    text = resources.files("reconciler.lifecycle").joinpath("end_dates.json").read_text(encoding="utf-8")
    return parse(json.loads(text))


def with_overrides(base: EndDates, overrides: Mapping[str, Any], where: str) -> EndDates:
    """`base` with the dates of a `Settings.spec.lifecycle.end_dates` block (already
    schema-valid) put over it; each overridden date cites `where` (file:line)."""
    platforms = dict(base.platforms)
    for name, raw in overrides.items():
        platform = base.platform(name)
        creation = platform.job_creation_ends
        if isinstance(raw.get("job_creation_ends"), str):
            creation = EndDate(parse_day(raw["job_creation_ends"]), where, origin="settings")
        models = dict(platform.models)
        for snapshot, fields in (raw.get("models") or {}).items():
            current = platform.model(snapshot)
            for f in FIELDS:
                if isinstance(fields.get(f), str):
                    current = replace(current, **{f: EndDate(parse_day(fields[f]), where, origin="settings")})
            models[snapshot] = current
        platforms[name] = PlatformDates(name, creation, MappingProxyType(models))
    return EndDates(MappingProxyType(platforms))


@dataclass(frozen=True)
class LifecycleSettings:
    """`Settings.spec.lifecycle`: when a model's end is close enough to be a health finding, and
    the end dates that replace the shipped ones."""

    warn_days: int = DEFAULT_WARN_DAYS
    end_dates: dict[str, Any] = field(default_factory=dict)   # as written (schema-valid)
    where: str = "Settings.spec.lifecycle"                      # file:line of the block, for citations

    def dates(self) -> EndDates:
        return with_overrides(shipped(), self.end_dates, self.where) if self.end_dates else shipped()
