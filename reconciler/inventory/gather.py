"""Build inventory entries from state records and the live jobs listing (no I/O here).

A job's record gives its fine-tuned model; records that share a model (checkpoint permissions) give
its grants, records that serve it (Azure deployments) its deployments. Which record does which is
the kind's business (`Kind.produced_model`, `Kind.model_grants`, `Kind.deployed_model`), so nothing
here names a kind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.kinds import registry

__all__ = ["EndDate", "Entry", "Grant", "Served", "gather", "summary"]

# (platform, base model, fine-tuned model id) -> (the day it stops answering, where that is said)
EndDate = Callable[[str, str, str], "tuple[dt.date | None, str | None]"]


@dataclass(frozen=True)
class Grant:
    """One project that may use the model (`project_id`), recorded under `address`."""

    project_id: str
    address: str


@dataclass(frozen=True)
class Served:
    """One deployment serving the model (Azure): its name and sku, recorded under `address`."""

    name: str
    sku: str
    capacity: int | None
    address: str

    def label(self) -> str:
        return f"deployment {self.name} ({self.sku}{f' x{self.capacity}' if self.capacity else ''})"


@dataclass(frozen=True)
class Entry:
    model: str
    base: str
    platform: str
    job_id: str
    address: str | None                 # None: in the organisation, managed by no spec (--all)
    status: str
    created: dt.datetime | None         # when the model came to be: the job's finished_at
    serving_end: dt.date | None
    serving_end_source: str | None
    days_left: int | None               # whole days from today to the serving end; <= 0: shut down
    grants: tuple[Grant, ...] = field(default=())
    deployments: tuple[Served, ...] = field(default=())

    @property
    def managed(self) -> bool:
        return self.address is not None

    @property
    def shut_down(self) -> bool:
        return self.days_left is not None and self.days_left <= 0

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "base": self.base, "platform": self.platform, "job_id": self.job_id,
                "address": self.address, "managed": self.managed, "status": self.status,
                "created": self.created.isoformat().replace("+00:00", "Z") if self.created else None,
                "serving_end": self.serving_end.isoformat() if self.serving_end else None,
                "serving_end_source": self.serving_end_source, "days_left": self.days_left,
                "shut_down": self.shut_down,
                "grants": [{"project_id": g.project_id, "address": g.address} for g in self.grants],
                "deployments": [{"name": d.name, "sku": d.sku, "capacity": d.capacity, "address": d.address}
                                for d in self.deployments]}


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return None


def _entry(job: Mapping[str, Any], address: str | None, platform: str, grants: tuple[Grant, ...],
           end_of: EndDate, today: dt.date, served: tuple[Served, ...] = ()) -> Entry | None:
    model = job.get("fine_tuned_model")
    if not isinstance(model, str) or not model:
        return None
    base = str(job.get("model") or "")
    end, source = end_of(platform, base, model)
    return Entry(model=model, base=base, platform=platform, job_id=str(job.get("id") or ""), address=address,
                 status=str(job.get("status") or ""), created=_when(job.get("finished_at")),
                 serving_end=end, serving_end_source=source,
                 days_left=None if end is None else (end - today).days, grants=grants, deployments=served)


def gather(records: Mapping[str, Any], live_jobs: Iterable[Mapping[str, Any]] | None, *,
           end_of: EndDate, today: dt.date, platform_of: Callable[[str], str],
           everything: bool = False) -> list[Entry]:
    """Entries for every fine-tuned model the state's records produced (refreshed from `live_jobs`
    when given), and with `everything` every other one the listing shows (unmanaged). Sorted by
    serving end (soonest first; unknown last), then address/model."""
    live = {str(j.get("id")): j for j in live_jobs or () if j.get("id")}
    shared: dict[str, list[Grant]] = {}
    deployed: dict[str, list[Served]] = {}
    produced: list[tuple[str, Mapping[str, Any]]] = []
    for address, record in sorted(records.items()):
        kind = registry.by_type(record.kind)
        job = kind.produced_model(record)
        if job is not None:
            produced.append((address, {**job, **live.get(str(record.id), {})}))
        grant = kind.model_grants(record)
        if grant is not None:
            model, projects = grant
            shared.setdefault(model, []).extend(Grant(p, address) for p in projects)
        serving = kind.deployed_model(record)
        if serving is not None:
            deployed.setdefault(serving[0], []).append(Served(serving[1], serving[2], serving[3], address))
    entries: list[Entry] = []
    seen: set[str] = set()
    for address, job in produced:
        seen.add(str(job.get("id")))
        entry = _entry(job, address, platform_of(address), tuple(shared.get(str(job.get("fine_tuned_model")), ())),
                       end_of, today, tuple(deployed.get(str(job.get("fine_tuned_model")), ())))
        if entry is not None:
            entries.append(entry)
    if everything:
        for job_id, job in live.items():
            if job_id not in seen:
                entry = _entry(job, None, platform_of(""), tuple(shared.get(str(job.get("fine_tuned_model")), ())),
                               end_of, today, tuple(deployed.get(str(job.get("fine_tuned_model")), ())))
                if entry is not None:
                    entries.append(entry)
    far = dt.date.max
    return sorted(entries, key=lambda e: (e.serving_end or far, e.address or "~", e.model))


def summary(entries: Iterable[Entry], warn_days: int) -> dict[str, int]:
    """Counts for the closing line: models, shut down, ending within `warn_days`, end unknown."""
    rows = list(entries)
    return {"models": len(rows),
            "shut_down": sum(1 for e in rows if e.shut_down),
            "ending_soon": sum(1 for e in rows if e.days_left is not None and 0 < e.days_left <= warn_days),
            "unknown_end": sum(1 for e in rows if e.serving_end is None),
            "unmanaged": sum(1 for e in rows if not e.managed)}
