"""The planning walk's shared context: what each address will look like after apply, for the
references of the documents that come after it. Everything the walk knows of the API comes from
the immutable snapshot, read through `reads`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.config.upload_settings import UploadSettings
from reconciler.lifecycle.data import DEFAULT_WARN_DAYS, EndDates, shipped
from reconciler.plan.model import Drift, Health
from reconciler.plan.snapshot import Snapshot, SnapshotReads
from reconciler.resolver import Resolver
from reconciler.state import ResourceState

__all__ = ["Walk", "WorkingState"]


@dataclass
class WorkingState:
    """The state as the plan sees it: moved blocks applied, import blocks adopted."""

    lineage: str
    serial: int
    resources: dict[str, ResourceState]
    moves: list[tuple[str, str]] = field(default_factory=list)
    imports: dict[str, str] = field(default_factory=dict)


@dataclass
class Walk:
    state: WorkingState
    snapshot: Snapshot
    now: float
    replace: frozenset[str] = frozenset()
    end_dates: EndDates = field(default_factory=shipped)   # the platforms' end dates (Settings overrides in)
    warn_days: int = DEFAULT_WARN_DAYS                      # a model ending this soon is a health finding
    uploads: UploadSettings = field(default_factory=UploadSettings)  # which files go as an Upload in parts
    # address -> attributes available to references after this plan (values may be UNKNOWN)
    planned: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # address -> why its unknown attributes are unknown ("FineTuningJob.x is still running")
    waiting: dict[str, str] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)
    health: list[Health] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    live: dict[str, dict[str, Any]] = field(default_factory=dict)  # address -> refreshed attributes
    managed_job_ids: frozenset[str] | None = None  # the state's job ids, once asked (kinds/job/plan.py)
    platforms: Mapping[str, str] = field(default_factory=dict)  # address -> openai / azure (its Provider's type)
    # address -> (old platform, new platform) of an object whose Provider moved to another platform:
    # replaced, the old object only forgotten (docs/adr/0905-platform-moves-forget.md)
    platform_moves: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    reads: SnapshotReads = field(init=False)

    def __post_init__(self) -> None:
        self.reads = SnapshotReads(self.snapshot)

    @property
    def refreshed(self) -> bool:
        """False with --refresh=false: objects are planned from their state attributes."""
        return self.snapshot.refreshed

    def platform(self, address: str) -> str:
        """The platform an address lives on (its Provider's type): whose end dates and prices apply."""
        return self.platforms.get(address, "openai")

    def resolver(self) -> Resolver:
        return Resolver(self.planned, self.waiting)
