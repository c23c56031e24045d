"""Actual spend of managed jobs after the fact (pure): `trained_tokens` × the price of the job's base
model and method, grouped by any metadata key. The figures are plain dicts (`SpendRow.to_dict`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.cost.pricing import PriceTable

__all__ = ["NO_GROUP", "SpendRow", "group_spend", "job_spend"]

NO_GROUP = "(none)"


@dataclass(frozen=True)
class SpendRow:
    address: str
    job_id: str
    model: str
    method: str
    status: str
    trained_tokens: int | None
    usd: float | None
    reason: str | None
    metadata: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "id": self.job_id, "model": self.model, "method": self.method,
                "status": self.status, "trained_tokens": self.trained_tokens,
                "usd": None if self.usd is None else round(self.usd, 6), "unknown_reason": self.reason,
                "metadata": dict(self.metadata)}


def _method(job: Mapping[str, Any]) -> str:
    method = job.get("method")
    if isinstance(method, Mapping) and isinstance(method.get("type"), str):
        return str(method["type"])
    return "supervised"


def job_spend(address: str, job: Mapping[str, Any], prices: PriceTable, platform: str = "openai") -> SpendRow:
    model = str(job.get("model") or "")
    method = _method(job)
    tokens = job.get("trained_tokens")
    tokens = tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None
    metadata = job.get("metadata") if isinstance(job.get("metadata"), Mapping) else {}
    metadata = {k: v for k, v in (metadata or {}).items() if not str(k).startswith("reconciler_")}
    price = prices.lookup(model, method, platform) if model else None
    usd: float | None = None
    reason: str | None = None
    if price is None:
        reason = f"no price for {model or 'an unknown model'} ({method})" + (f" on {platform}" if platform != "openai" else "")
    elif price.hourly:
        reason = f"billed {price.usd:,.2f} USD per hour of training; the API does not report the hours"
    elif tokens is None:
        reason = f"no trained_tokens reported (status {job.get('status')})"
    else:
        usd = tokens * price.usd / 1_000_000
    return SpendRow(address, str(job.get("id") or ""), model, method, str(job.get("status") or ""), tokens, usd,
                    reason, metadata)


def group_spend(rows: Iterable[SpendRow], key: str) -> list[dict[str, Any]]:
    """One entry per value of metadata[key] (NO_GROUP when a job has none), largest spend first.
    `usd` adds up the known figures (a lower bound while `unknown` > 0), and is None when no job of
    the group has a known figure: an unknown spend is never a $0 one."""
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        value = row.metadata.get(key)
        name = str(value) if value not in (None, "") else NO_GROUP
        g = groups.setdefault(name, {key: name, "jobs": 0, "trained_tokens": 0, "usd": 0.0, "unknown": 0})
        g["jobs"] += 1
        g["trained_tokens"] += row.trained_tokens or 0
        if row.usd is None:
            g["unknown"] += 1
        else:
            g["usd"] += row.usd
    for g in groups.values():
        g["usd"] = round(g["usd"], 6) if g["unknown"] < g["jobs"] else None
    return sorted(groups.values(), key=lambda g: (g["usd"] is None, -(g["usd"] or 0.0), str(g[key])))
