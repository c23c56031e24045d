"""The order changes run in: the standard library's topological sorter, ready changes handed out in
plan order.

`graphlib.TopologicalSorter` keeps the bookkeeping (how many dependencies each change still waits
for, O(changes + dependencies) in all); a heap of plan positions decides which of the ready
changes goes first, so that an apply runs in the order the reviewed plan shows wherever the
dependencies allow it.
"""

from __future__ import annotations

import graphlib
import heapq
from collections.abc import Iterable, Mapping

__all__ = ["ReadyInPlanOrder"]


class ReadyInPlanOrder:
    """Changes whose dependencies all have an outcome, earliest in the plan first.

    `depends` maps every address to the addresses it waits for; `plan_order` lists every address.
    Raises `graphlib.CycleError` for a cycle."""

    def __init__(self, depends: Mapping[str, Iterable[str]], plan_order: Iterable[str]):
        self._position = {address: i for i, address in enumerate(plan_order)}
        self._sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter(depends)
        self._sorter.prepare()
        self._heap: list[tuple[int, str]] = []
        self._take_ready()

    def _take_ready(self) -> None:
        for address in self._sorter.get_ready():
            heapq.heappush(self._heap, (self._position[address], address))

    def __bool__(self) -> bool:
        """Whether a change is ready now."""
        return bool(self._heap)

    def pop(self) -> str:
        """The ready change earliest in the plan."""
        return heapq.heappop(self._heap)[1]

    def settled(self, address: str) -> None:
        """`address` has an outcome (done, failed, skipped): what waited only for it becomes ready."""
        self._sorter.done(address)
        self._take_ready()
