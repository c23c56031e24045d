"""The spec language: YAML documents with line numbers, JSON Schemas per kind, ${...} references,
the legacy mapping and the dependency graph. Contract in docs/ARCHITECTURE.md, reference in
docs/SPEC.md. Nothing here prints or reads the environment: the CLI passes variables in.

The names below are loaded on first use (PEP 562): `from reconciler.config.settings import ...`
does not load the YAML parser, and a cached spec set (config/cache.py) is read without it."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DATA_KINDS",
    "KINDS",
    "RESOURCE_KINDS",
    "Collected",
    "Document",
    "ImportBlock",
    "Lifecycle",
    "MovedBlock",
    "SpecSet",
    "check_training_files",
    "collect_specs",
    "file_formats",
    "load_specs",
    "spec_files",
]

_WHERE = {
    "Document": "documents", "ImportBlock": "documents", "Lifecycle": "documents", "MovedBlock": "documents",
    "SpecSet": "documents",
    "Collected": "loader", "collect_specs": "loader", "load_specs": "loader", "spec_files": "loader",
    "DATA_KINDS": "schema_source", "KINDS": "schema_source", "RESOURCE_KINDS": "schema_source",
    "check_training_files": "training_files", "file_formats": "training_files",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'reconciler.config' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"reconciler.config.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
