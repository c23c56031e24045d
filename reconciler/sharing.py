"""Equal values held once (the measurements behind it: BENCHMARKS.md, "Third pass").

A decoded state file or API page repeats the same strings thousands of times (a base model, an
organization id, a training file id, "succeeded", "checkpoint.permission"); each decode makes a
new string object for every one of them. `dedupe_hook` makes equal strings of one decode the same
object as they are decoded, and `share_equal` lets a freshly built value reuse the parts of an older one
that are equal to it (the inputs a plan wants and the inputs the state recorded are, in a no-op
plan, the same dicts).

Strings are immutable, so sharing them is invisible. Shared dicts and lists are not: nothing in
reconciler mutates a decoded or planned value in place (values are replaced, never edited), and
`share_equal` is only used where that holds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Canonical", "dedupe_hook", "same", "share_equal"]

T = TypeVar("T")


def dedupe_hook(interned: frozenset[str] = frozenset()) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A `json.loads(object_hook=...)` that shares strings while decoding: each object's string values (and the strings in its list values) become the first equal string
    seen, so duplicates are freed as soon as they are made instead of all existing at once (a
    smaller peak than a pass over the decoded value). Strings under a key in `interned` (fields whose values repeat
    across documents, like `object` or `status`) go through `sys.intern`, so separately decoded
    answers share them too. Keys are left alone: `json.loads` already shares equal keys."""
    memo: dict[str, str] = {}
    setdefault = memo.setdefault
    intern = sys.intern

    def hook(obj: dict[str, Any]) -> dict[str, Any]:
        for key, item in obj.items():
            kind = type(item)
            if kind is str:
                obj[key] = intern(item) if key in interned else setdefault(item, item)
            elif kind is list:
                for index, member in enumerate(item):
                    if type(member) is str:
                        item[index] = setdefault(member, member)
        return obj

    return hook


def share_equal(new: Any, old: Any) -> Any:
    """`new`, with every part that equals the corresponding part of `old` replaced by that part
    of `old` (the whole of `old` when they are equal). Never mutates either; a dict that differs
    only somewhere inside comes back as a new dict whose unchanged members are `old`'s. Equality
    is strict about types: `True` does not stand in for `1`, nor `1` for `1.0`."""
    return old if same(new, old) else _merge(new, old)


def same(a: Any, b: Any) -> bool:
    """Deep equality that also requires equal types at every level (`==` says True == 1 == 1.0)."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        return len(a) == len(b) and all(key in b and same(item, b[key]) for key, item in a.items())
    if kind is list or kind is tuple:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _merge(new: Any, old: Any) -> Any:
    """`new` with its members shared where equal; `new` itself when none could be."""
    if type(new) is dict and type(old) is dict:
        merged = {key: (share_equal(item, old[key]) if key in old else item) for key, item in new.items()}
        return new if all(merged[key] is item for key, item in new.items()) else merged
    if type(new) is list and type(old) is list and len(new) == len(old):
        items = [share_equal(a, b) for a, b in zip(new, old)]
        return new if all(a is b for a, b in zip(items, new)) else items
    return new


class Canonical:
    """Hands out one object per distinct JSON value: `canonical(x)` is the first value seen that
    equals `x` exactly (same types, same key order), else `x` itself, remembered. For the small
    blocks that thousands of jobs have in common (a training method, the reconciler settings);
    the memo lives as long as this object."""

    __slots__ = ("_memo",)

    def __init__(self) -> None:
        self._memo: dict[str, Any] = {}

    def __call__(self, value: T) -> T:
        if type(value) is not dict and type(value) is not list:
            return value
        found: T = self._memo.setdefault(repr(value), value)
        return found
