"""Canonical forms: stable JSON, digests, and deep paths used by diffs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from reconciler.values import UNKNOWN

__all__ = ["MISSING", "canonical_json", "digest", "flatten", "get_path"]


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING = _Missing()


def _default(value: Any) -> Any:
    if value is UNKNOWN:
        return "<unknown>"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves of a nested dict as (dotted.path, value); lists are leaves (compared whole)."""
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def get_path(value: Any, path: str) -> Any:
    current = value
    for part in path.split(".") if path else []:
        if isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return MISSING
    return current
