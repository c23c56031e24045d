"""Where a field of a document is: the positions key of a field path and the nearest recorded line
of one (for error messages). Without the YAML parser (config/yamlpos.py records the positions),
so checks that point at lines do not load it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["line_finder", "path_key"]


def path_key(parts: tuple[Any, ...] | list[Any]) -> str:
    """("spec", "integrations", 0, "type") -> "spec.integrations.0.type" (the positions key)."""
    # Interned: every document of a kind has the same paths; 10,000 copies each cost megabytes.
    return sys.intern(".".join(str(p) for p in parts))


def line_finder(positions: Mapping[str, int], default: int) -> Callable[[Sequence[Any]], int]:
    """`line_of(path)`: the line of the nearest recorded field at or above `path` (a tuple such as
    ("spec", "method", "type")), else `default` (the document's line)."""

    def line_of(path: Sequence[Any]) -> int:
        parts = list(path)
        while parts:
            key = path_key(parts)
            if key in positions:
                return positions[key]
            parts.pop()
        return default

    return line_of
