"""How a job looks to references and why its results may not be known yet (shared by planning
and applying, so the two always agree)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["LiveJobView", "duration", "waiting_reason"]


def duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class LiveJobView(Mapping[str, Any]):
    """A live job as references see it, without copying it: the tracking tags hidden from
    `metadata`, the spec's `suffix` added."""

    __slots__ = ("_live", "_suffix")

    def __init__(self, live: Mapping[str, Any], suffix: Any):
        self._live = live
        self._suffix = suffix

    def __getitem__(self, key: str) -> Any:
        if key == "metadata":
            return {k: v for k, v in (self._live.get("metadata") or {}).items() if not k.startswith("reconciler_")}
        if key == "suffix" and self._suffix is not None:
            return self._suffix
        return self._live[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._live
        if self._suffix is not None and "suffix" not in self._live:
            yield "suffix"

    def __len__(self) -> int:
        return sum(1 for _ in self)


def waiting_reason(address: str, live: Mapping[str, Any], now: float) -> str | None:
    """Why the model of this job is not known yet (None once it succeeded)."""
    status = live.get("status")
    if status == "succeeded":
        return None
    if status in ("failed", "cancelled"):
        return f"{address} ended {status} and produced no model"
    eta = live.get("estimated_finish")
    when = f", estimated to finish in {duration(eta - now)}" if eta and eta > now else ""
    return f"{address} is still {status}{when}"
