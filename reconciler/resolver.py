"""Looking up `${Kind.name.attr}` against what each address looks like (the planner's walk and the
executor both use it): a value not known yet is UNKNOWN, and why is remembered for the message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.config.refs import Ref
from reconciler.resources.canonical import MISSING
from reconciler.values import UNKNOWN

__all__ = ["AFTER_FINISH", "Resolver"]

# Attributes that stay null until a job finishes: a reference to them waits.
AFTER_FINISH = frozenset({"fine_tuned_model", "trained_tokens", "finished_at", "result_files"})


class Resolver:
    """Resolves references for one document. `values` maps an address to the attributes references
    see; `waiting` maps an address to why its unknown attributes are unknown."""

    def __init__(self, values: Mapping[str, Mapping[str, Any]], waiting: Mapping[str, str]):
        self.values = values
        self.waiting = waiting
        self.reasons: list[str] = []

    def __call__(self, ref: Ref) -> Any:
        attrs = self.values.get(ref.address)
        if attrs is None:
            self.reasons.append(f"{ref.address} is not part of this plan")
            return UNKNOWN
        value: Any = attrs
        for part in ref.path:
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif value is UNKNOWN:
                break
            else:
                value = MISSING
                break
        if value is MISSING:
            return None
        if value is UNKNOWN or (value is None and ref.path and ref.path[0] in AFTER_FINISH):
            reason = self.waiting.get(ref.address) or f"{ref.address} is not created yet"
            self.reasons.append(f"{ref.text}: {reason}")
            return UNKNOWN
        return value
