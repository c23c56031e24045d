"""The spec language: YAML documents with line numbers, ${...} references, instances, the shared
pieces of the JSON Schemas, the Settings, Policy and Provider documents, the legacy mapping and the
dependency graph. Below the kinds: loading a folder against the kinds' schemas and checks is
reconciler/loading. Contract in docs/ARCHITECTURE.md, reference in docs/SPEC.md. Nothing here
prints or reads the environment: the CLI passes variables in.

The names below are loaded on first use (PEP 562): `from reconciler.config.settings import ...`
does not load the YAML parser, and a cached spec set (config/cache.py) is read without it."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Document",
    "ImportBlock",
    "Lifecycle",
    "MovedBlock",
    "SpecSet",
    "spec_files",
]

_WHERE = {
    "Document": "documents", "ImportBlock": "documents", "Lifecycle": "documents", "MovedBlock": "documents",
    "SpecSet": "documents",
    "spec_files": "spec_files",
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
