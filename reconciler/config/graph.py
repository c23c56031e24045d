"""Dependency order of documents: a stable topological sort that names any cycle."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

__all__ = ["find_cycle", "topological_order"]


def topological_order(
    nodes: Sequence[str], edges: Mapping[str, Sequence[str]]
) -> tuple[list[str], list[list[str]]]:
    """Order `nodes` so that each comes after everything in edges[node] (its dependencies); ties
    keep the order of `nodes` (file order). Returns (order, cycles); nodes on or behind a cycle are
    appended in file order, and each cycle is listed once as [a, b, ..., a]."""
    index = {node: i for i, node in enumerate(nodes)}
    deps = {
        node: [d for d in dict.fromkeys(edges.get(node, ())) if d in index and d != node] for node in nodes
    }
    self_loops = [[n, n] for n in nodes if n in edges.get(n, ())]
    dependents: dict[str, list[str]] = {node: [] for node in nodes}
    remaining = {node: len(deps[node]) for node in nodes}
    for node, ds in deps.items():
        for d in ds:
            dependents[d].append(node)
    ready = [index[n] for n in nodes if remaining[n] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        order.append(node)
        for child in dependents[node]:
            remaining[child] -= 1
            if remaining[child] == 0:
                heapq.heappush(ready, index[child])
    cycles = list(self_loops)
    if len(order) < len(nodes):
        left = [n for n in nodes if n not in set(order)]
        seen: set[frozenset[str]] = set()
        for start in left:
            cycle = find_cycle(start, deps)
            if cycle and frozenset(cycle) not in seen:
                seen.add(frozenset(cycle))
                cycles.append(cycle)
        order.extend(left)
    return order, cycles


def find_cycle(start: str, deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle through `start` as [start, ..., start], or None."""
    stack: list[tuple[str, int]] = [(start, 0)]
    path = [start]
    on_path = {start}
    visited: set[str] = set()
    while stack:
        node, i = stack[-1]
        children = deps.get(node, ())
        if i >= len(children):
            stack.pop()
            path.pop()
            on_path.discard(node)
            visited.add(node)
            continue
        stack[-1] = (node, i + 1)
        child = children[i]
        if child == start:
            return path + [start]
        if child in on_path or child in visited:
            continue
        stack.append((child, 0))
        path.append(child)
        on_path.add(child)
    return None
