"""Estimated training cost of a plan (pure): per job created or replaced, and in total.

Token-billed methods (supervised, dpo): billed tokens = tokens per epoch × epochs, × the price per
million. Reinforcement is billed per hour of training, which cannot be known before the job runs:
its cost is "unknown" with the hourly price shown. Every figure is a plain dict (`JobCost.to_dict`,
`PlanCost.summary`) so that policies and budgets can read them; `COST_VERSION` versions its shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.cost.epochs import resolve_epochs
from reconciler.cost.hosting import HOURS_PER_MONTH, HostingCost
from reconciler.cost.jobs import CountKey, JobInputs, costed_changes, job_inputs
from reconciler.cost.pricing import Price, PriceTable
from reconciler.cost.tokens import FileCount
from reconciler.plan.model import Plan

__all__ = ["COST_VERSION", "JobCost", "PlanCost", "estimate_plan", "job_cost"]

COST_VERSION = 1
HOURLY_REASON = "billed per hour of training, and training time cannot be predicted before the job runs"


@dataclass(frozen=True)
class JobCost:
    address: str
    model: str
    method: str
    examples: int | None = None
    tokens_per_epoch: int | None = None
    epochs: int | None = None
    epochs_auto: bool = False
    billed_tokens: int | None = None
    usd: float | None = None
    price: Price | None = None
    reason: str | None = None          # why usd is None
    replacement: bool = False

    @property
    def known(self) -> bool:
        return self.usd is not None

    def to_dict(self) -> dict[str, Any]:
        return {"version": COST_VERSION, "model": self.model, "method": self.method,
                "examples": self.examples, "tokens_per_epoch": self.tokens_per_epoch, "epochs": self.epochs,
                "epochs_auto": self.epochs_auto, "billed_tokens": self.billed_tokens,
                "usd": None if self.usd is None else round(self.usd, 6),
                "price": self.price.to_dict() if self.price is not None else None,
                "unknown_reason": self.reason, "replacement": self.replacement}


@dataclass(frozen=True)
class PlanCost:
    jobs: tuple[JobCost, ...] = ()
    by_address: Mapping[str, JobCost | HostingCost] = field(default_factory=dict)
    hosting: tuple[HostingCost, ...] = ()   # a month of hosting per deployment created or replaced

    @property
    def usd(self) -> float:
        costs: tuple[JobCost | HostingCost, ...] = (*self.jobs, *self.hosting)
        return sum(c.usd for c in costs if c.usd is not None)

    @property
    def hosting_usd(self) -> float:
        return sum(h.usd for h in self.hosting if h.usd is not None)

    @property
    def unknown(self) -> tuple[JobCost | HostingCost, ...]:
        costs: tuple[JobCost | HostingCost, ...] = (*self.jobs, *self.hosting)
        return tuple(c for c in costs if not c.known)

    @property
    def replacements(self) -> tuple[JobCost, ...]:
        return tuple(j for j in self.jobs if j.replacement)

    def summary(self) -> dict[str, Any]:
        """The plan total: what a budget (`max_cost_per_apply`) compares against. `complete` is False
        when any job's cost is unknown (`usd` then counts only the known ones)."""
        hosting = {"hosting_usd_per_month": round(self.hosting_usd, 6), "deployments": len(self.hosting),
                   "hours_per_month": HOURS_PER_MONTH} if self.hosting else {}
        return {"version": COST_VERSION, "usd": round(self.usd, 6), "jobs": len(self.jobs), **hosting,
                "estimated": len(self.jobs) + len(self.hosting) - len(self.unknown), "unknown": len(self.unknown),
                "complete": not self.unknown, "replacements": len(self.replacements),
                "replacement_billed_tokens": sum(j.billed_tokens or 0 for j in self.replacements),
                "billed_tokens": sum(j.billed_tokens or 0 for j in self.jobs)}


def job_cost(inputs: JobInputs, count: FileCount | str | None, prices: PriceTable) -> JobCost:
    cost = JobCost(address=inputs.address, model=inputs.model, method=inputs.method,
                   replacement=inputs.replacement)
    price = prices.lookup(inputs.model, inputs.method, inputs.platform) if inputs.model else None
    missing = f"no price for {inputs.model} ({inputs.method})" + (
        f" on {inputs.platform}: add one to Settings spec.pricing with platform: {inputs.platform}"
        if inputs.platform != "openai" else "")
    if inputs.method == "reinforcement":
        reason = HOURLY_REASON if price is not None else missing
        examples = count.examples if isinstance(count, FileCount) else None
        return replace(cost, examples=examples, price=price, reason=reason)
    if inputs.key is None or not isinstance(count, FileCount):
        reason = inputs.reason or (count if isinstance(count, str) else "its training file was not counted")
        return replace(cost, price=price, reason=reason)
    epochs, auto = resolve_epochs(inputs.n_epochs, count.examples)
    billed = count.tokens * epochs
    cost = replace(cost, examples=count.examples, tokens_per_epoch=count.tokens, epochs=epochs, epochs_auto=auto,
                   billed_tokens=billed)
    if price is None:
        return replace(cost, reason=missing)
    return replace(cost, usd=billed * price.usd / 1_000_000, price=price)


def estimate_plan(plan: Plan, documents: Mapping[str, Any], counts: Mapping[CountKey, FileCount | str],
                  prices: PriceTable, platforms: Mapping[str, str] | None = None,
                  hosting: tuple[HostingCost, ...] = ()) -> PlanCost:
    """Costs of every job the plan creates or replaces. `counts` holds each training file's count
    (or why it could not be counted), made beforehand by `cost.files.count_training_files`;
    `platforms`: address -> the platform whose prices apply (openai when not given); `hosting`: a
    month of hosting of each deployment it creates (cost/hosting.py)."""
    jobs = []
    for change in costed_changes(plan):
        inputs = replace(job_inputs(change, documents), platform=(platforms or {}).get(change.address, "openai"))
        jobs.append(job_cost(inputs, counts.get(inputs.key) if inputs.key is not None else None, prices))
    by_address: dict[str, JobCost | HostingCost] = {j.address: j for j in jobs}
    by_address.update({h.address: h for h in hosting})
    return PlanCost(tuple(jobs), by_address, hosting)
