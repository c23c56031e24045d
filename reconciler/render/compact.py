"""The compact plan: identical changes grouped into one line each.

`+ 48 × FineTuningJob.sweep… will be created (model gpt-4.1-mini, differ in: learning_rate_multiplier, n_epochs)`

Changes group by kind, action and shape (which attributes they set or change). Only creates,
in-place updates and adoptions that take nothing away are grouped: a destroy, replace, forget, a
revoke, a cancel or a delete — anything destructive — always keeps its own full entry, with its
reason. A group of one is shown in full."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from reconciler.display import fmt
from reconciler.plan.model import DESTRUCTIVE_OPS, Action, Change
from reconciler.resources.canonical import flatten
from reconciler.values import UNKNOWN

__all__ = ["COMPACT_THRESHOLD", "group_lines", "groupable", "groups", "wants_compact"]

COMPACT_THRESHOLD = 20        # more changes than this: compact unless --no-compact
_GROUPED = (Action.CREATE, Action.UPDATE, Action.ADOPT)
_HEADLINE = {Action.CREATE: "will be created", Action.UPDATE: "will be updated in-place",
             Action.ADOPT: "will be adopted into state"}
# said once when every change of a group has the same: attribute path -> label
_COMMON_SHOWN = {"model": "model", "method.type": "method", "purpose": "purpose"}
_WRAP = 100


def wants_compact(compact: bool | None, changes: int) -> bool:
    """--compact: always; --no-compact: never; neither: above COMPACT_THRESHOLD changes."""
    return changes > COMPACT_THRESHOLD if compact is None else compact


def groupable(change: Change) -> bool:
    return change.action in _GROUPED and not any(step.op in DESTRUCTIVE_OPS for step in change.steps)


def _values(change: Change) -> dict[str, Any]:
    if change.action is Action.UPDATE:
        return {a.path: a.after for a in change.attrs}
    return {k: v for k, v in flatten(dict(change.after or {})) if v is not UNKNOWN}


def _shape(change: Change) -> tuple[str, Action, tuple[str, ...]]:
    return change.kind, change.action, tuple(sorted(_values(change)))


def groups(changes: Iterable[Change]) -> list[list[Change]]:
    """Changes in address order, those of one (kind, action, shape) together; a destructive
    change is always a group of its own."""
    out: list[list[Change]] = []
    by_shape: dict[Any, list[Change]] = {}
    for change in sorted(changes, key=lambda c: c.address):
        if not groupable(change):
            out.append([change])
            continue
        key = _shape(change)
        if key not in by_shape:
            by_shape[key] = []
            out.append(by_shape[key])
        by_shape[key].append(change)
    return out


def _prefix(addresses: list[str]) -> str:
    prefix = addresses[0]
    for address in addresses[1:]:  # the longest common start, character by character
        while not address.startswith(prefix):
            prefix = prefix[:-1]
    bracket = prefix.find("[")
    if bracket != -1:  # instance keys are listed whole, never cut inside one
        prefix = prefix[:bracket + 1]
    kind_end = addresses[0].find(".") + 1
    return prefix if len(prefix) > kind_end else addresses[0][:kind_end]


def group_lines(group: list[Change], style: Callable[..., str], colour: str | None) -> list[str]:
    """The one-line summary of a group of two or more, and its addresses, wrapped."""
    first = group[0]
    values = [_values(c) for c in group]
    keys = list(values[0])
    same = [k for k in keys if all(v.get(k) == values[0].get(k) for v in values)]
    differ = sorted({k.rsplit(".", 1)[-1] for k in keys if k not in same})
    notes = [f"{label} {fmt(values[0][k]).strip(chr(34))}" for k, label in _COMMON_SHOWN.items() if k in same]
    if differ:
        notes.append(f"differ in: {', '.join(differ)}")
    elif first.action is not Action.UPDATE:
        notes.append("identical")
    if first.action is Action.UPDATE:
        notes.insert(0, f"changing {', '.join(sorted({a.path for a in first.attrs}))}")
    addresses = [c.address for c in group]
    prefix = _prefix(addresses)
    by_key = prefix.endswith("[")  # instances of one document: Kind.name["k1", "k2", ...]
    shown = prefix + ("…]" if by_key else "…")
    head = (f"{style(first.action.symbol.rjust(3), fg=colour, bold=True)} {len(group)} × {shown} "
            f"{_HEADLINE[first.action]}" + (f" ({', '.join(notes)})" if notes else ""))
    if by_key:
        names = [a[len(prefix):].removesuffix("]") for a in addresses]
        return [head, *_wrapped(names, "      " + prefix, "]")]
    return [head, *_wrapped([a[len(prefix):] or a for a in addresses], "      " + prefix + "{", "}")]


def _wrapped(names: list[str], opening: str, closing: str) -> Iterator[str]:
    line = opening
    for i, name in enumerate(names):
        piece = name + (", " if i < len(names) - 1 else closing)
        if len(line) + len(piece) > _WRAP and line.strip():
            yield line.rstrip()
            line = "      " + " " * (len(opening) - 6)
        line += piece
    yield line
