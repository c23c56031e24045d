"""Looking up `${Kind.name.attr}` against what each address looks like (the planner's walk and the
executor both use it): a value not known yet is UNKNOWN, and why is remembered for the message."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reconciler.config.refs import Ref
from reconciler.resources.canonical import MISSING
from reconciler.values import UNKNOWN

__all__ = ["AFTER_FINISH", "Resolver", "condensed"]

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


# `${Kind.name["key"].path}: Kind.name["key"] is not created yet`, one per instance of a sweep
_INSTANCE_WAIT = re.compile(r'^\$\{(?P<base>[^\[\]{}"]+)\["[^"]*"\](?P<path>[^}]*)\}: '
                            r'(?P=base)\["[^"]*"\] is not created yet$')


def condensed(reasons: list[str]) -> list[str]:
    """The reasons, with those of several instances of one document waiting for the same attribute
    said once (`${FineTuningJob.sweep[*].id}: 6 instances of FineTuningJob.sweep are not created
    yet`): a sweep of 50 jobs gave a pending line of 50 clauses. Order is kept (first occurrence)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, reason in enumerate(reasons):
        match = _INSTANCE_WAIT.match(reason)
        if match:
            groups.setdefault((match["base"], match["path"]), []).append(i)
    merged = {idx[0]: key for key, idx in groups.items() if len(idx) > 1}
    dropped = {i for idx in groups.values() if len(idx) > 1 for i in idx[1:]}
    out = []
    for i, reason in enumerate(reasons):
        if i in dropped:
            continue
        if i in merged:
            base, path = merged[i]
            n = len(groups[merged[i]])
            reason = f"${{{base}[*]{path}}}: {n} instances of {base} are not created yet"
        out.append(reason)
    return out
