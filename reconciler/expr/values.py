"""Plain data -> CEL values. UNKNOWN (a value known only after apply) becomes null: a rule that
reads it sees nothing rather than a made-up value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.values import UNKNOWN

__all__ = ["plain", "to_cel"]


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
