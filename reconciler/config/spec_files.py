"""Which files of a folder are spec files."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["spec_files"]


def spec_files(spec_dir: Path) -> list[Path]:
    """*.yaml / *.yml under spec_dir, recursively, sorted; hidden folders and files are skipped."""
    found = []
    for folder, dirs, names in os.walk(spec_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if name.endswith((".yaml", ".yml")) and not name.startswith("."):
                found.append(Path(folder) / name)
    return sorted(found, key=lambda p: p.as_posix())
