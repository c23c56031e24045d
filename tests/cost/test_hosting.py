"""Hosting cost of Azure deployments (table-driven, pure): which changes cost a month of hosting,
which price applies, and an unknown price stays unknown (never $0)."""

from __future__ import annotations

import pytest

from reconciler.cost.estimate import PlanCost
from reconciler.cost.hosting import HOURS_PER_MONTH, hosting_costs, hosting_prices
from reconciler.plan.model import Action, Change, Plan

FT = "ft:gpt-4.1-mini-2025-04-14:org:bot:abc123"


def change(action: Action, sku: str = "Standard", model: object = FT, prior: str | None = None,
           kind: str = "Deployment") -> Change:
    return Change(address=f"{kind}.x", kind=kind, action=action, prior_id=prior,
                  after={"deployment_name": "x", "model": model, "sku": {"name": sku, "capacity": 1}})


def plan(*changes: Change) -> Plan:
    return Plan(lineage="l", serial=0, changes=changes)


SETTINGS = [{"sku": "standard", "per_hour": 1.7}, {"sku": "standard", "model": "gpt-4.1-mini", "per_hour": 1.5}]


@pytest.mark.parametrize(("c", "overrides", "per_hour", "unknown"), [
    (change(Action.CREATE), None, None, True),                                   # no shipped Standard price
    (change(Action.CREATE, sku="GlobalStandard"), None, None, True),
    (change(Action.CREATE, sku="DeveloperTier"), None, 0.0, False),              # sourced: no hourly fee
    (change(Action.CREATE), SETTINGS, 1.5, False),                               # the model's own price first
    (change(Action.CREATE, model="gpt-4o-2024-08-06"), SETTINGS, 1.7, False),    # else the sku-wide one
    (change(Action.REPLACE, prior="id"), SETTINGS, 1.5, False),
    (change(Action.PENDING), SETTINGS, 1.5, False),                              # a new one waiting for its model
])
def test_price_of_a_new_deployment(c: Change, overrides: list[dict[str, object]] | None, per_hour: float | None,
                                   unknown: bool) -> None:
    [cost] = hosting_costs(plan(c), hosting_prices(overrides), frozenset({"Deployment"}))
    assert cost.usd_per_hour == per_hour
    assert (cost.usd is None) is unknown
    if unknown:
        assert "Settings.spec.hosting_prices" in str(cost.reason)
    else:
        assert cost.usd == pytest.approx((per_hour or 0) * HOURS_PER_MONTH)


@pytest.mark.parametrize("c", [change(Action.UPDATE, prior="id"), change(Action.NOOP, prior="id"),
                               change(Action.PENDING, prior="id"), change(Action.DELETE, prior="id"),
                               change(Action.CREATE, kind="FineTuningJob")])
def test_no_new_hosting(c: Change) -> None:
    assert hosting_costs(plan(c), hosting_prices(SETTINGS), frozenset({"Deployment"})) == []


def test_an_unknown_hosting_price_makes_the_plan_cost_incomplete() -> None:
    hosting = tuple(hosting_costs(plan(change(Action.CREATE)), hosting_prices(None), frozenset({"Deployment"})))
    summary = PlanCost((), {h.address: h for h in hosting}, hosting).summary()
    assert summary["complete"] is False and summary["unknown"] == 1 and summary["usd"] == 0
    known = tuple(hosting_costs(plan(change(Action.CREATE)), hosting_prices(SETTINGS), frozenset({"Deployment"})))
    summary = PlanCost((), {}, known).summary()
    assert summary["complete"] is True and summary["hosting_usd_per_month"] == pytest.approx(1.5 * 730)
    assert summary["usd"] == pytest.approx(1.5 * 730)
