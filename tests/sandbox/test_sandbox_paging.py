"""The sandbox's filtered job listing is served from a metadata index (sandbox/paging.py): the
pages it gives, with cursors in both orders, are exactly those of the plain scan, for random
worlds (the index is only a faster way to the same answer)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from reconciler_sandbox.paging import OrderedStore


def _pairs(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return list((obj.get("metadata") or {}).items())


def _walk(store: OrderedStore, *, limit: int, descending: bool, keep: Any, among: Any) -> list[list[str]]:
    pages, after = [], None
    while True:
        data, more = store.page(after=after, limit=limit, descending=descending, keep=keep,
                                among=among() if among else None)
        pages.append([o["id"] for o in data])
        if not more or not data:
            return pages
        after = data[-1]["id"]


@pytest.mark.parametrize("seed", range(12))
def test_indexed_pages_equal_the_scan(seed: int) -> None:
    rng = random.Random(seed)
    indexed, plain = OrderedStore(tags=_pairs), OrderedStore()
    for i in range(rng.randint(0, 300)):
        metadata = {k: rng.choice(["x", "y", "z"]) for k in rng.sample(["team", "lineage", "run"], rng.randint(0, 3))}
        obj = {"id": f"job-{i}", "metadata": metadata or None}
        indexed.add(obj["id"], obj)
        plain.add(obj["id"], obj)
        if rng.random() < 0.05:  # deleted: a tombstone in the order, gone from the items
            del indexed.items[obj["id"]]
            del plain.items[obj["id"]]
    indexed = OrderedStore.restore(indexed.dump(), tags=_pairs) if seed % 2 else indexed
    for _ in range(10):
        wanted = {k: rng.choice(["x", "y", "z", "w"]) for k in rng.sample(["team", "lineage", "run", "other"],
                                                                          rng.randint(1, 2))}

        def keep(obj: dict[str, Any], wanted: dict[str, str] = wanted) -> bool:
            return all((obj.get("metadata") or {}).get(k) == v for k, v in wanted.items())

        limit, descending = rng.choice([1, 3, 100]), rng.random() < 0.5
        expected = _walk(plain, limit=limit, descending=descending, keep=keep, among=None)
        got = _walk(indexed, limit=limit, descending=descending, keep=keep,
                    among=lambda wanted=wanted: indexed.candidates(wanted.items()))
        assert got == expected, (wanted, limit, descending)


def test_a_filtered_listing_among_a_long_history_looks_only_at_its_candidates() -> None:
    from reconciler_sandbox.history import add_history
    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox() as sandbox:
        world = sandbox.world
    add_history(world, 20_000)
    looked: list[int] = []
    original = world.jobs.page

    def counting(**kwargs: Any) -> Any:
        looked.append(len(kwargs["among"]) if kwargs.get("among") is not None else len(world.jobs.order))
        return original(**kwargs)

    world.jobs.page = counting  # type: ignore[method-assign]
    page = world.list_jobs(after=None, limit=100, metadata={"reconciler_lineage": "nobody"})
    assert page["data"] == [] and page["has_more"] is False
    assert looked == [0]
