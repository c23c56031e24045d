"""One thing a human should know about what is live: what kinds report (unmanaged objects) and
what drift reports are made of (reconciler/drift/findings.py). Axes: drift (changed outside
reconciler, gone, unmanaged, out of sync) and health (failed, timed out, pending, serving end)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DRIFT", "HEALTH", "Finding"]

DRIFT = "drift"
HEALTH = "health"


@dataclass(frozen=True)
class Finding:
    address: str
    kind: str
    axis: str               # drift | health
    category: str           # cancelled_outside, paused_outside, resumed_outside, deleted, grant_added,
                            # grant_removed, unmanaged_job, unmanaged_grant, out_of_sync,
                            # failed, cancelled, timed_out, pending, serving_ends, model_gone,
                            # evaluation_failed, evaluation_stale, evaluation_missing
    message: str
    attribute: str = "*"
    before: Any = None
    after: Any = None
    ignored: bool = False
    ignore_reason: str | None = None
    ignore_rule: str | None = None
    merged: tuple[str, ...] = ()  # the categories this one finding stands for (see one_per_change)

    def key(self) -> str:
        return f"{self.address}|{self.category}|{self.attribute}"

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "kind": self.kind, "axis": self.axis, "category": self.category,
                "attribute": self.attribute, "message": self.message, "before": self.before, "after": self.after,
                "ignored": self.ignored, "ignore_reason": self.ignore_reason, "ignore_rule": self.ignore_rule}
