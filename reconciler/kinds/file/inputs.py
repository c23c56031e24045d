"""File: a local JSONL uploaded with purpose fine-tune. Its content (sha256) is its identity:
new content is a new upload (and a new training run for the jobs that use it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.digests import sha256_file
from reconciler.kinds.names import FILE

__all__ = ["KIND", "inputs_from_spec", "local_path", "sha256_of"]

KIND = FILE


def local_path(doc: Any, spec: dict[str, Any]) -> Path:
    return (Path(doc.base_dir) / str(spec["path"])).resolve()


def sha256_of(path: Path) -> tuple[str, int]:
    return sha256_file(path)


def inputs_from_spec(doc: Any, spec: dict[str, Any]) -> dict[str, Any]:
    path = local_path(doc, spec)
    sha, size = sha256_of(path)
    return {"path": str(spec["path"]), "filename": path.name, "sha256": sha, "bytes": size,
            "purpose": spec.get("purpose") or "fine-tune"}
