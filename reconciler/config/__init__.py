"""The spec language: YAML documents with line numbers, JSON Schemas per kind, ${...} references,
the legacy mapping and the dependency graph. Contract in docs/ARCHITECTURE.md, reference in
docs/SPEC.md. Nothing here prints or reads the environment: the CLI passes variables in."""

from __future__ import annotations

from reconciler.config.documents import Document, ImportBlock, Lifecycle, MovedBlock, SpecSet
from reconciler.config.loader import Collected, collect_specs, load_specs, spec_files
from reconciler.config.schema_source import DATA_KINDS, KINDS, RESOURCE_KINDS
from reconciler.config.training_files import check_training_files, file_formats

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
