"""The spend summary a drift report carries (pure): what the managed jobs cost so far, from the jobs the
refresh already read (no extra request), per value of one metadata key (`team` by default) when any
job has it, else the total alone. `SpendSummary.to_dict` is the JSON form (versioned)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.cost.pricing import PriceTable
from reconciler.cost.spend import SpendRow, group_spend, job_spend
from reconciler.kinds.registry import JOB_KINDS

__all__ = ["DEFAULT_KEY", "SPEND_VERSION", "SpendSummary", "managed_jobs", "spend_summary"]

DEFAULT_KEY = "team"
SPEND_VERSION = 1


@dataclass(frozen=True)
class SpendSummary:
    key: str                                   # the metadata key asked for
    by: str | None                             # the key when some job has it, else None (total only)
    rows: tuple[SpendRow, ...] = ()
    groups: tuple[Mapping[str, Any], ...] = ()

    @property
    def usd(self) -> float:
        return sum(r.usd for r in self.rows if r.usd is not None)

    @property
    def unknown(self) -> int:
        return sum(1 for r in self.rows if r.usd is None)

    @property
    def trained_tokens(self) -> int:
        return sum(r.trained_tokens or 0 for r in self.rows)

    def unknown_reasons(self) -> dict[str, int]:
        """reason -> how many jobs, for the jobs whose spend is unknown."""
        out: dict[str, int] = {}
        for r in self.rows:
            if r.usd is None:
                out[r.reason or "unknown"] = out.get(r.reason or "unknown", 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        # usd: the known figures added up (a lower bound unless `complete`), null when none is known
        known = self.unknown < len(self.rows) or not self.rows
        return {"version": SPEND_VERSION, "currency": "USD", "usd": round(float(self.usd), 6) if known else None,
                "complete": self.unknown == 0, "jobs": len(self.rows),
                "trained_tokens": self.trained_tokens, "unknown": self.unknown,
                "unknown_reasons": self.unknown_reasons(), "by": self.by,
                "groups": [dict(g) for g in self.groups]}


def managed_jobs(state: Any, snapshot: Any) -> list[tuple[str, dict[str, Any]]]:
    """(address, job) of every job the state manages: the live object the refresh read, else what
    the state recorded, with model, method and metadata from the recorded inputs when missing."""
    found = []
    for address, resource in sorted(state.resources.items()):
        if resource.kind not in JOB_KINDS or not resource.id:
            continue
        live = snapshot.job(resource.id) if snapshot is not None else None
        job = dict(resource.attributes or {})
        job.update(dict(live) if live is not None else {})
        job.setdefault("id", resource.id)
        inputs = resource.inputs or {}
        if not job.get("model"):
            job["model"] = inputs.get("model")
        if not job.get("method"):
            job["method"] = inputs.get("method")
        if not job.get("metadata"):
            job["metadata"] = inputs.get("metadata") or {}
        found.append((address, job))
    return found


def spend_summary(jobs: Iterable[tuple[str, Mapping[str, Any]]], prices: PriceTable,
                  key: str = DEFAULT_KEY, platforms: Mapping[str, str] | None = None) -> SpendSummary:
    """`platforms`: address -> whose prices apply (openai when not given)."""
    rows = tuple(job_spend(address, job, prices, (platforms or {}).get(address, "openai")) for address, job in jobs)
    if any(r.metadata.get(key) not in (None, "") for r in rows):
        return SpendSummary(key, key, rows, tuple(group_spend(rows, key)))
    return SpendSummary(key, None, rows)
