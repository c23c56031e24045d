"""What the executor reports while it works; the CLI renders these (Terraform's wording)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class EventKind(str, enum.Enum):
    START = "start"          # "FineTuningJob.x: Creating..."
    DONE = "done"            # "FineTuningJob.x: Creation complete after 1s [id=ftjob-...]"
    FAILED = "failed"
    SKIPPED = "skipped"      # a dependency failed
    PENDING = "pending"      # left for a later run
    WAITING = "waiting"      # --wait progress line
    NOTE = "note"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    address: str
    verb: str = ""           # Creating, Destroying, Modifying, Replacing, Adopting, Forgetting
    message: str = ""
    elapsed: float = 0.0
    object_id: str | None = None
    # WAITING: how far the job waited on is ({status, step, total_steps, train_loss, eta_seconds},
    # the known ones; see kinds/job/progress.py) and which job ("job": its address)
    progress: Mapping[str, Any] | None = None


@dataclass
class ApplyResult:
    added: int = 0
    changed: int = 0
    destroyed: int = 0
    forgotten: int = 0
    adopted: int = 0
    pending: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.skipped


Listener = Callable[[Event], None]
