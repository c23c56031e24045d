"""The order changes become ready in (reconciler/apply/order.py): graphlib's topological order, the
ready ones earliest in the plan first. Table-driven: each case settles whatever is handed out, in
the order handed out, and lists the order seen."""

from __future__ import annotations

import graphlib

import pytest

from reconciler.apply.order import ReadyInPlanOrder

CASES = [
    ("independent, plan order kept", {"c": set(), "a": set(), "b": set()}, ["c", "a", "b"], ["c", "a", "b"]),
    ("a dependency first though later in the plan", {"grant": {"job"}, "job": set()}, ["grant", "job"],
     ["job", "grant"]),
    ("released dependents rejoin in plan order", {"a": set(), "x": {"a"}, "b": set(), "y": {"a"}},
     ["a", "x", "b", "y"], ["a", "x", "b", "y"]),
    ("a diamond", {"file": set(), "j1": {"file"}, "j2": {"file"}, "grant": {"j1", "j2"}},
     ["file", "j1", "j2", "grant"], ["file", "j1", "j2", "grant"]),
    ("a deposed destroy after the dependents", {"f": set(), "job": {"f"}, "f (deposed)": {"f", "job"}},
     ["f", "job", "f (deposed)"], ["f", "job", "f (deposed)"]),
]


@pytest.mark.parametrize(("depends", "plan", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_ready_in_plan_order(depends: dict[str, set[str]], plan: list[str], expected: list[str]) -> None:
    ready = ReadyInPlanOrder(depends, plan)
    seen: list[str] = []
    while ready:
        address = ready.pop()
        seen.append(address)
        ready.settled(address)
    assert seen == expected


def test_a_dependent_waits_until_everything_it_needs_is_settled() -> None:
    ready = ReadyInPlanOrder({"j1": set(), "j2": set(), "grant": {"j1", "j2"}}, ["j1", "j2", "grant"])
    first, second = ready.pop(), ready.pop()
    assert not ready
    ready.settled(first)
    assert not ready  # still waits for the second
    ready.settled(second)
    assert ready.pop() == "grant"


def test_a_cycle_is_refused() -> None:
    with pytest.raises(graphlib.CycleError):
        ReadyInPlanOrder({"a": {"b"}, "b": {"a"}}, ["a", "b"])
