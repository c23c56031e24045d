"""`reconciler archive DIR`: what it takes to train each managed job again elsewhere, written to a
folder with a manifest of sha256 sums (layout: reconciler/archive/job.py; docs/ARCHIVE.md).
Read-only towards the API (`api.protocols.Downloader`) and the state; resumable; bounded memory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.api.protocols import Downloader
from reconciler.archive.job import JobArchive, archive_job
from reconciler.archive.store import ArchiveConflict, ArchiveDir

__all__ = ["ArchiveConflict", "ArchiveResult", "JobArchive", "archive"]


@dataclass(frozen=True)
class ArchiveResult:
    root: Path
    jobs: tuple[JobArchive, ...]
    written: tuple[str, ...]
    kept: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"dir": str(self.root), "written": len(self.written), "kept": len(self.kept),
                "files_written": list(self.written), "files_kept": list(self.kept),
                "jobs": [{"address": j.address, "job_id": j.job_id, "folder": j.folder, "status": j.status,
                          "reason": j.reason or None} for j in self.jobs]}


def archive(client: Downloader, root: Path, jobs: Iterable[tuple[str, Any]], documents: Mapping[str, Any],
            state_files: Mapping[str, Any], local_paths: Mapping[str, Path]) -> ArchiveResult:
    """Archive each (address, state record) of `jobs` into `root`; `state_files` maps a file id to
    its File record (its sha256), `local_paths` a file id to its File's path in the spec folder."""
    store = ArchiveDir(root)
    done = []
    for address, resource in jobs:
        done.append(archive_job(client, store, address, resource, documents.get(address), state_files,
                                local_paths))
    return ArchiveResult(root, tuple(done), tuple(store.done.written), tuple(store.done.kept))
