"""sha256 of a file, read in blocks (a training file may be gigabytes): what uploads, archives and
recordings identify content by."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["sha256_file"]

_BLOCK = 1 << 20


def sha256_file(path: Path) -> tuple[str, int]:
    """(hex sha256, size in bytes) of the file at `path`."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
