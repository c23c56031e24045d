"""The planning walk's shared context: what each address will look like after apply, for the
references of the documents that come after it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.plan.model import Drift, Health
from reconciler.plan.observed import Observed
from reconciler.resources.canonical import MISSING
from reconciler.values import UNKNOWN

# Attributes that stay null until a job finishes: a reference to them waits.
AFTER_FINISH = frozenset({"fine_tuned_model", "trained_tokens", "finished_at", "result_files"})


@dataclass
class Walk:
    state: Any                                  # reconciler.state State
    observed: Observed | None                   # None with --refresh=false: state attributes only
    now: float
    replace: frozenset[str] = frozenset()
    reader: Any = None                          # for data sources (read even with --refresh=false)
    # address -> attributes available to references after this plan (values may be UNKNOWN)
    planned: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # address -> why its unknown attributes are unknown ("FineTuningJob.x is still running")
    waiting: dict[str, str] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)
    health: list[Health] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    live: dict[str, dict[str, Any]] = field(default_factory=dict)  # address -> refreshed attributes
    _reasons: list[str] = field(default_factory=list)

    def resolver(self) -> Resolver:
        return Resolver(self)


class Resolver:
    """Looks up ${Kind.name.attr} for one document, remembering why unknown values are unknown."""

    def __init__(self, walk: Walk):
        self.walk = walk
        self.reasons: list[str] = []

    def __call__(self, ref: Any) -> Any:
        attrs: Mapping[str, Any] | None = self.walk.planned.get(ref.address)
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
            reason = self.walk.waiting.get(ref.address) or f"{ref.address} is not created yet"
            self.reasons.append(f"{ref.text}: {reason}")
            return UNKNOWN
        return value
