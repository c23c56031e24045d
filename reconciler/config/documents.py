"""The loaded spec: documents, import / moved blocks and the set of them (contract in ARCHITECTURE.md)."""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from reconciler.config.settings import Settings
from reconciler.errors import SpecError

__all__ = ["Document", "ImportBlock", "Lifecycle", "MovedBlock", "SpecSet", "display_path"]

_INDEX = re.compile(r"\[(\d+)\]")


def display_path(parts: tuple[Any, ...] | list[Any]) -> str:
    """("spec", "integrations", 0, "type") -> "spec.integrations[0].type" (as shown in messages)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class Lifecycle:
    prevent_destroy: bool = False
    ignore_changes: tuple[str, ...] = ()  # attribute paths under spec, e.g. "suffix", "metadata.team"
    create_before_destroy: bool = False
    preconditions: tuple[Any, ...] = ()  # reconciler.expr.conditions.Condition: checked before planning it
    postconditions: tuple[Any, ...] = ()  # checked against the live object: false holds back dependents
    delete_model_on_destroy: bool = False  # a FineTuningJob's destroy / replace also deletes its model


@dataclass(frozen=True)
class Document:
    kind: str  # as written: File, FineTuningJob, ..., LegacyFineTune, data.FineTuningJobs, ...
    name: str
    spec: dict[str, Any]  # validated; ${var.X} substituted; ${Kind.name.attr} left as strings
    file: str  # spec file path as found (relative to cwd when given relative)
    line: int  # line of the document's first key
    base_dir: Path  # folder of the spec file (File.path is relative to it)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    depends_on: tuple[str, ...] = ()  # explicit depends_on + every address referenced in spec
    positions: Mapping[str, int] = field(default_factory=dict)  # "spec.method.type" -> line
    provider: str | None = None  # top-level `provider: NAME` (config/providers.py); None: the default
    # the resource type its kind plans and stores it as (the loader asks the kind); None: the kind
    resource_type: str | None = None

    @property
    def address(self) -> str:
        return f"{self.kind}.{self.name}"

    @property
    def type(self) -> str:
        return self.resource_type or self.kind

    def line_of(self, path: str) -> int:
        """Nearest known line for a field path ("spec.method.type", "spec.integrations[0].type" or
        "spec.integrations.0.type"); the document's line when nothing closer is known."""
        key = _INDEX.sub(r".\1", path).strip(".")
        while key:
            if key in self.positions:
                return self.positions[key]
            key = key.rpartition(".")[0]
        return self.line

    def error(self, path: str | None, message: str, severity: str = "error") -> SpecError:
        return SpecError(
            self.file,
            self.line_of(path) if path else self.line,
            message,
            self.address,
            path or None,
            severity,
        )


@dataclass(frozen=True)
class ImportBlock:
    to: str
    id: str
    file: str
    line: int


@dataclass(frozen=True)
class MovedBlock:
    from_: str
    to: str
    file: str
    line: int


@dataclass(frozen=True)
class SpecSet:
    documents: Mapping[str, Document]  # address -> document, in dependency order (topological)
    imports: tuple[ImportBlock, ...] = ()
    moved: tuple[MovedBlock, ...] = ()
    warnings: tuple[SpecError, ...] = ()
    settings: Settings = field(default_factory=Settings)  # the `kind: Settings` document (not a resource)
    policies: tuple[Any, ...] = ()  # `kind: Policy` documents (reconciler/config/policies.py; not resources)
    providers: Mapping[str, Any] = field(default_factory=dict)  # name -> config.providers.Provider
    evaluations: tuple[Any, ...] = ()  # `kind: Evaluation` documents (reconciler/kinds/evaluation/; not resources)

    def kinds(self) -> set[str]:
        return {doc.kind for doc in self.documents.values()}

    def files(self) -> set[str]:
        return {doc.file for doc in self.documents.values()}


class Positions(Mapping[str, int]):
    """Field path -> line, compactly: documents of the same shape share one tuple of paths and
    keep only an array of line numbers (20,000 documents, 20,000 dicts otherwise)."""

    __slots__ = ("_index", "_keys", "_lines")
    _shapes: ClassVar[dict[tuple[str, ...], tuple[tuple[str, ...], dict[str, int]]]] = {}

    def __init__(self, positions: Mapping[str, int]):
        keys = tuple(positions)
        shared = Positions._shapes.get(keys)
        if shared is None:
            shared = Positions._shapes.setdefault(keys, (keys, {k: i for i, k in enumerate(keys)}))
        self._keys, self._index = shared
        self._lines = array("I", positions.values())

    def __getitem__(self, key: str) -> int:
        return int(self._lines[self._index[key]])

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)
