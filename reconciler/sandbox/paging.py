"""Cursor pagination: objects in creation order with an index, so a page costs O(page)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class OrderedStore:
    """Objects by id in creation order, with an index for `after` cursors. Deleted ids stay in the
    order list (tombstones) so positions never move."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.index: dict[str, int] = {}

    def add(self, obj_id: str, obj: dict[str, Any]) -> None:
        if obj_id not in self.index:
            self.index[obj_id] = len(self.order)
            self.order.append(obj_id)
        self.items[obj_id] = obj

    def page(self, *, after: str | None, limit: int, descending: bool = True,
             keep: Callable[[dict[str, Any]], bool] | None = None) -> tuple[list[dict[str, Any]], bool]:
        if after is not None and after not in self.index:
            return [], False
        if descending:
            pos = (self.index[after] - 1) if after is not None else len(self.order) - 1
            positions: Iterable[int] = range(pos, -1, -1)
        else:
            pos = (self.index[after] + 1) if after is not None else 0
            positions = range(pos, len(self.order))
        out: list[dict[str, Any]] = []
        for i in positions:
            obj = self.items.get(self.order[i])
            if obj is None or (keep is not None and not keep(obj)):
                continue
            if len(out) == limit:
                return out, True
            out.append(obj)
        return out, False

    def dump(self) -> dict[str, Any]:
        return {"order": list(self.order), "items": dict(self.items)}

    @classmethod
    def restore(cls, data: dict[str, Any]) -> OrderedStore:
        store = cls()
        store.order = list(data["order"])
        store.index = {obj_id: i for i, obj_id in enumerate(store.order)}
        store.items = dict(data["items"])
        return store


def slice_page(items: list[dict[str, Any]], after: str | None, limit: int, *, with_ids: bool) -> dict[str, Any]:
    """A page of a short, already ordered list (a job's events or checkpoints, a checkpoint's
    permissions): after the item whose id is `after`."""
    start = 0
    if after is not None:
        for i, item in enumerate(items):
            if item["id"] == after:
                start = i + 1
                break
        else:
            start = len(items)
    data = items[start:start + limit]
    out: dict[str, Any] = {"data": data, "has_more": start + limit < len(items)}
    if with_ids:
        out["first_id"] = data[0]["id"] if data else None
        out["last_id"] = data[-1]["id"] if data else None
    return out
