"""What each job of the report cost: the actual spend once the API reports `trained_tokens` (price
× tokens, as `reconciler cost` computes it), else the estimate from the spec's training file (as
the plan computes it), else "unknown" with the reason; and the total.

`estimate_jobs` is the one step that reads files (the training files, through the token-count
cache the plan uses); `job_cost` and `total` are pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.cost.cache import TokenCache
from reconciler.cost.estimate import JobCost
from reconciler.cost.estimate import job_cost as estimate_job
from reconciler.cost.jobs import CountKey, job_inputs
from reconciler.cost.pricing import PriceTable
from reconciler.cost.spend import job_spend
from reconciler.cost.tokens import FileCount, count_file
from reconciler.kinds.registry import JOB_KINDS
from reconciler.plan.model import Action, Plan
from reconciler.render.cost import describe, money
from reconciler.report.model import Cost, CostTotal

__all__ = ["estimate_jobs", "job_cost", "total"]

FINISHED = frozenset({"succeeded", "failed", "cancelled"})


def _count(key: CountKey, cache: TokenCache | None) -> FileCount | str:
    path = Path(key.path)
    cached = cache.get(path, key.encoding, key.format) if cache is not None else None
    if cached is not None:
        return cached
    try:
        count = count_file(path, key.format, key.encoding)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if cache is not None:
        cache.put(path, count)
    return count


def estimate_jobs(plan: Plan, documents: Mapping[str, Any], prices: PriceTable,
                  cache: TokenCache | None = None, platforms: Mapping[str, str] | None = None) -> dict[str, JobCost]:
    """address -> the estimated cost of training the job its spec describes, for every job the
    specs declare (created, running or planned alike), each training file counted once, at its
    platform's prices (`platforms`: address -> openai / azure; openai when not given)."""
    counts: dict[CountKey, FileCount | str] = {}
    out: dict[str, JobCost] = {}
    for change in plan.changes:
        if change.kind not in JOB_KINDS or change.action in (Action.DELETE, Action.READ) or change.after is None:
            continue
        inputs = replace(job_inputs(change, documents), platform=(platforms or {}).get(change.address, "openai"))
        if inputs.key is not None and inputs.key not in counts:
            counts[inputs.key] = _count(inputs.key, cache)
        out[change.address] = estimate_job(inputs, counts.get(inputs.key) if inputs.key is not None else None,
                                           prices)
    if cache is not None:
        cache.save()
    return out


def job_cost(address: str, job: Mapping[str, Any], prices: PriceTable | None,
             estimate: JobCost | None, platform: str = "openai") -> Cost | None:
    """The spend of a job that reported trained_tokens; the estimate of one still to train; else
    unknown with the reason. None when nothing about cost is known (no price table given)."""
    if prices is None and estimate is None:
        return None
    spent = job_spend(address, job, prices, platform) if prices is not None and job.get("id") else None
    if spent is not None and spent.usd is not None:
        price = prices.lookup(spent.model, spent.method, platform) if prices is not None else None
        rate = f" at {money(price.usd)} / {price.per}" if price is not None else ""
        return Cost("spent", spent.usd, f"{spent.trained_tokens or 0:,} trained tokens{rate}")
    status = str(job.get("status") or "")
    if status in FINISHED:  # finished without a bill the API reports: never replaced by a guess
        return Cost("unknown", None, spent.reason if spent is not None and spent.reason else
                    f"no trained_tokens reported (status {status})")
    if estimate is not None and estimate.usd is not None:
        return Cost("estimate", estimate.usd, describe(estimate))
    if estimate is not None:
        return Cost("unknown", None, describe(estimate).removeprefix("unknown: "))
    reason = spent.reason if spent is not None and spent.reason else "its spec is not in this workspace"
    return Cost("unknown", None, reason)


def total(costs: Iterable[Cost | None]) -> CostTotal:
    spent = estimated = unknown = 0
    usd = 0.0
    for cost in costs:
        if cost is None:
            continue
        if cost.usd is None:
            unknown += 1
            continue
        usd += cost.usd
        if cost.kind == "spent":
            spent += 1
        else:
            estimated += 1
    return CostTotal(usd, spent, estimated, unknown)
