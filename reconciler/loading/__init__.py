"""Loading a spec folder: the spec language (reconciler/config) read with every kind's schema and
checks (reconciler/kinds), into a validated SpecSet or every problem at once. Above the kinds;
the CLI is its one caller. Also the assembly of the JSON Schema files (schema_source.py) and the
Settings document's reading (settings.py).

The names below are loaded on first use (PEP 562), as in reconciler.config."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DATA_KINDS", "KINDS", "RESOURCE_KINDS", "Collected", "collect_specs", "load_specs"]

_WHERE = {
    "Collected": "loader", "collect_specs": "loader", "load_specs": "loader",
    "DATA_KINDS": "schema_source", "KINDS": "schema_source", "RESOURCE_KINDS": "schema_source",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'reconciler.loading' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"reconciler.loading.{module}"), name)
    globals()[name] = value
    return value
