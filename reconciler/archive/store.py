"""The archive folder: files written whole or not at all, and a manifest of their sha256 sums.

Every file is made in a `.part` beside its final name (streamed, never held in memory), fsync'd
and renamed; the folder's `manifest.json` is rewritten (atomically) after each one. A file already
there is kept when its sha256 is the one the manifest recorded; otherwise its content is made again
and compared: the same bytes are recorded and kept, other bytes are refused (`ArchiveConflict`),
never overwritten. So a run killed at any point is completed by the next one, and an archive is
never silently changed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from reconciler.digests import sha256_file
from reconciler.errors import ReconcilerError
from reconciler.state.files import atomic_write, fsync_dir

__all__ = ["MANIFEST", "ArchiveConflict", "ArchiveDir", "Written"]

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1

Producer = Callable[[BinaryIO], None]


class ArchiveConflict(ReconcilerError):
    """A file of the archive exists with other content than this run would write."""


@dataclass
class Written:
    """What one run did: files written, files found complete and kept (by relative path)."""

    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


class ArchiveDir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest_path = root / MANIFEST
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        if self.manifest_path.exists():
            try:
                data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
                self.files = dict(data.get("files") or {})
                self.jobs = dict(data.get("jobs") or {})
            except (ValueError, AttributeError, TypeError):
                raise ReconcilerError(f"{self.manifest_path}: not an archive manifest (not JSON of the expected "
                                      "shape); choose another folder") from None
        self.done = Written()

    def _save(self) -> None:
        data = {"format_version": MANIFEST_VERSION, "jobs": dict(sorted(self.jobs.items())),
                "files": dict(sorted(self.files.items()))}
        atomic_write(self.manifest_path, (json.dumps(data, indent=1, sort_keys=False) + "\n").encode())

    def note_job(self, address: str, info: dict[str, Any]) -> None:
        self.jobs[address] = info
        self._save()

    def put(self, relative: str, produce: Producer, *, source: str) -> str:
        """Make `relative` with `produce(sink)` unless it is there and complete; its sha256."""
        target = self.root / relative
        recorded = self.files.get(relative)
        if target.exists() and recorded is not None:
            sha, size = sha256_file(target)
            if sha == recorded.get("sha256"):
                self.done.kept.append(relative)
                return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        with open(part, "wb") as sink:
            produce(sink)
            sink.flush()
            os.fsync(sink.fileno())
        sha, size = sha256_file(part)
        if target.exists():
            old, _ = sha256_file(target)
            if old != sha:
                part.unlink()
                raise ArchiveConflict(f"{target}: exists with other content (sha256 {old[:12]}…, this archive "
                                      f"has {sha[:12]}…); not overwritten: move it away or archive to another folder")
            part.unlink()
            self.done.kept.append(relative)
        else:
            os.replace(part, target)
            fsync_dir(target.parent)
            self.done.written.append(relative)
        self.files[relative] = {"sha256": sha, "bytes": size, "source": source}
        self._save()
        return sha

    def put_bytes(self, relative: str, data: bytes, *, source: str) -> str:
        def produce(sink: BinaryIO) -> None:
            sink.write(data)
        return self.put(relative, produce, source=source)
