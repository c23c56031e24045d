"""Plain data -> CEL values. UNKNOWN (a value known only after apply) becomes null: a rule that
reads it sees nothing rather than a made-up value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.values import UNKNOWN

__all__ = ["known_only", "plain", "to_cel"]


def plain(value: Any) -> Any:
    """JSON-like data: mappings with string keys, lists, scalars; UNKNOWN and other objects -> None
    (tuples become lists, enums their value)."""
    if value is UNKNOWN or value is None:
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    enum_value = getattr(value, "value", None)
    if isinstance(enum_value, str):
        return enum_value
    return None


def to_cel(activation: Mapping[str, Any]) -> dict[str, Any]:
    """An activation (name -> plain data) as CEL values."""
    from celpy.adapter import json_to_cel

    return {name: json_to_cel(plain(value)) for name, value in activation.items()}


def known_only(value: Any) -> Any:
    """`plain(value)` with every mapping entry whose value is not known (null, UNKNOWN) left out,
    so that CEL's `has(a.b)` is the one test of whether a value is known. Items of lists stay in
    place (as null): leaving them out would shift the others."""
    value = plain(value)
    return _without_nulls(value)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
