"""The `kind: Settings` document: how this spec folder is run, not something it manages.

    kind: Settings
    name: default                 # the only name; at most one Settings document per spec folder
    spec:
      backend: {type: pg, schema: reconciler}     # where the state lives (default: local files)

It never appears in plans or state. Its schema is one JSON Schema object whose properties are the
sections (`backend` now; `pricing` and `budgets` are added beside it as further properties).
Connection strings never live here: the CLI reads them from the environment.

This module holds what a spec set carries (the Settings value); reading and checking the document
is reconciler/loading/settings.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.config.budgets import Budgets
from reconciler.config.instances import DEFAULT_MAX_INSTANCES
from reconciler.config.upload_settings import UploadSettings
from reconciler.lifecycle.data import (
    LifecycleSettings,
)

__all__ = [
    "BACKEND_TYPES",
    "DEFAULT_MAX_INSTANCES",
    "SETTINGS_KIND",
    "SETTINGS_NAME",
    "BackendSettings",
    "Limits",
    "Settings",
]

SETTINGS_KIND = "Settings"
SETTINGS_NAME = "default"
BACKEND_TYPES = ("local", "pg")
SCHEMA_NAME_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
DEFAULT_PG_SCHEMA = "reconciler"


@dataclass(frozen=True)
class BackendSettings:
    type: str = "local"  # "local" (state/<workspace>.json) or "pg" (PostgreSQL)
    schema: str = DEFAULT_PG_SCHEMA  # pg: the schema holding reconciler's tables


@dataclass(frozen=True)
class Limits:
    max_instances_per_document: int = DEFAULT_MAX_INSTANCES


@dataclass(frozen=True)
class Settings:
    backend: BackendSettings = field(default_factory=BackendSettings)
    pricing: tuple[dict[str, Any], ...] = ()  # training-price overrides (reconciler/cost/pricing.py)
    hosting_prices: tuple[dict[str, Any], ...] = ()  # Azure deployments' hourly prices (reconciler/cost/hosting.py)
    budgets: Budgets = field(default_factory=Budgets)  # limits per apply (reconciler/config/budgets.py)
    limits: Limits = field(default_factory=Limits)  # bounds on what the spec language may expand to
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)  # end dates (reconciler/lifecycle/)
    uploads: UploadSettings = field(default_factory=UploadSettings)  # large files in parts (config/upload_settings.py)
    file: str | None = None  # where the document was (None: no Settings document, all defaults)
    line: int | None = None
    positions: dict[str, int] = field(default_factory=dict, compare=False)  # "spec.backend.type" -> line

    def where(self, path: str = "") -> str:
        """"specs/settings.yaml:4" for a field path under the document (for one-line errors)."""
        if self.file is None:
            return "Settings"
        line = self.positions.get(path, self.line) if path else self.line
        return f"{self.file}:{line}"
