"""Hosting cost of Azure deployments (pure): an hourly fee per deployment while it exists.

Azure bills a deployed fine-tuned model an hourly hosting fee whether or not it is called
(MicrosoftDocs/azure-ai-docs, fine-tuning-deploy). A Developer tier deployment has no hourly hosting
fee, only per-token charges (fine-tune-test): that one is shipped as $0/hour with its source.
Azure's hourly price for Standard and Global Standard is published only on the pricing page, which
reconciler's sources do not hold: those are unknown unless `Settings.spec.hosting_prices` gives
them — never $0, so a cost budget fails closed on them (docs/COST.md).

A plan shows a month (730 hours) of hosting for each deployment it creates or replaces; the
budget `max_cost_per_apply` counts that month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.plan.model import Action, Change, Plan

__all__ = ["HOURS_PER_MONTH", "HostingCost", "HostingPrice", "hosting_costs", "hosting_prices",
           "hosting_prices_schema"]

HOURS_PER_MONTH = 730
SKUS = ("standard", "globalstandard", "developer")
ARM_SKUS = {"Standard": "standard", "GlobalStandard": "globalstandard", "DeveloperTier": "developer"}
DEVELOPER_SOURCE = "https://learn.microsoft.com/en-us/azure/ai-services/openai/how-to/fine-tune-test"
UNKNOWN_REASON = ("Azure's hourly hosting price for {sku} is not in reconciler's data (published only on "
                  "Azure's pricing page): set it in Settings.spec.hosting_prices")


@dataclass(frozen=True)
class HostingPrice:
    sku: str                 # standard | globalstandard | developer
    usd_per_hour: float
    model: str | None = None  # None: every model
    source: str = ""
    as_of: str = ""
    origin: str = "builtin"  # builtin or settings

    def to_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "usd_per_hour": self.usd_per_hour, "model": self.model, "source": self.source,
                "as_of": self.as_of, "origin": self.origin}


BUILTIN = (HostingPrice("developer", 0.0, source=DEVELOPER_SOURCE, as_of="2026-12-07"),)


@dataclass(frozen=True)
class HostingCost:
    address: str
    model: str
    sku: str
    usd_per_hour: float | None = None
    price: HostingPrice | None = None
    reason: str | None = None

    @property
    def known(self) -> bool:
        return self.usd_per_hour is not None

    @property
    def usd(self) -> float | None:
        """A month of hosting: what a plan shows and a budget counts."""
        return None if self.usd_per_hour is None else self.usd_per_hour * HOURS_PER_MONTH

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "kind": "hosting", "model": self.model, "sku": self.sku,
                "usd_per_hour": self.usd_per_hour, "hours": HOURS_PER_MONTH,
                "usd": None if self.usd is None else round(self.usd, 6),
                "price": self.price.to_dict() if self.price is not None else None, "unknown_reason": self.reason}


def hosting_prices(overrides: Iterable[Mapping[str, Any]] | None) -> tuple[HostingPrice, ...]:
    """Settings overrides first (a model's own price before a sku-wide one), then the shipped ones."""
    found = [HostingPrice(str(o["sku"]), float(o["per_hour"]), o.get("model"), str(o.get("source") or ""),
                          str(o.get("as_of") or ""), "settings") for o in overrides or ()]
    found.sort(key=lambda p: p.model is None)
    return (*found, *BUILTIN)


def _lookup(prices: Iterable[HostingPrice], sku: str, model: str) -> HostingPrice | None:
    for price in prices:
        if price.sku == sku and (price.model is None or price.model in model):
            return price
    return None


def _new_deployment(change: Change) -> bool:
    if change.action in (Action.CREATE, Action.REPLACE):
        return True
    return change.action is Action.PENDING and change.prior_id is None


def hosting_costs(plan: Plan, prices: Iterable[HostingPrice], hosted_types: frozenset[str]) -> list[HostingCost]:
    """A month of hosting for every deployment the plan creates or replaces (`hosted_types`: the
    resource types billed by the hour while they exist)."""
    table = tuple(prices)
    out: list[HostingCost] = []
    for change in plan.changes:
        if change.kind not in hosted_types or not _new_deployment(change):
            continue
        after = change.after or {}
        sku = ARM_SKUS.get(str((after.get("sku") or {}).get("name")), str((after.get("sku") or {}).get("name")))
        model = after.get("model")
        model = model if isinstance(model, str) else "(known after apply)"
        price = _lookup(table, sku, model)
        if price is None:
            out.append(HostingCost(change.address, model, sku, reason=UNKNOWN_REASON.format(sku=sku)))
        else:
            out.append(HostingCost(change.address, model, sku, price.usd_per_hour, price))
    return out


def hosting_prices_schema() -> dict[str, Any]:
    """`Settings.spec.hosting_prices` (JSON Schema)."""
    return {
        "type": "array",
        "description": "Hourly hosting prices of Azure deployments (USD per deployment-hour), by deployment type "
                       "and optionally by base model. Standard and Global Standard have no shipped price: without "
                       "one here their hosting cost is unknown.",
        "items": {
            "type": "object",
            "required": ["sku", "per_hour"],
            "properties": {
                "sku": {"enum": list(SKUS)},
                "model": {"type": "string", "minLength": 1,
                          "description": "A base model: the price applies to deployments whose model name "
                                         "contains it; omitted: every model."},
                "per_hour": {"type": "number", "minimum": 0, "description": "USD per hour of hosting."},
                "source": {"type": "string", "description": "Where the price comes from (a URL)."},
                "as_of": {"type": "string", "description": "When the price was read, e.g. 2026-12-07."},
            },
            "additionalProperties": False,
        },
    }
