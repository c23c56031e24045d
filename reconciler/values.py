"""Small value types shared by the spec loader, the planner and the renderers."""

from __future__ import annotations

from typing import Any

__all__ = ["UNKNOWN", "Unknown", "contains_unknown", "is_unknown"]


class Unknown:
    """A value that will only be known after apply (an id not created yet, a model still
    training). Rendered as `(known after apply)`. A singleton: compare with `is`."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False
