"""Ownership: which workspace made an object. Every object reconciler makes carries the mark of
the state's lineage — a job in its metadata (`reconciler_lineage`), a file, which has no
metadata, in its uploaded filename (`train.reconciler-<lineage>.jsonl`). Adoption, prune and
unmanaged-object reports only ever treat as *ours* what carries our mark.

An object reconciler made before marks existed carries none: `owner` answers None for it, and each
caller decides what is safe (see RELIABILITY.md, "Workspaces and folders are isolated").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["FILE_MARK", "TAG_LINEAGE", "file_owner", "job_owner", "legacy_adoptable", "mark",
           "marked_filename", "owner_note"]

TAG_LINEAGE = "reconciler_lineage"
FILE_MARK = ".reconciler-"
_SAFE = re.compile(r"[A-Za-z0-9-]{1,64}")
_MARKED = re.compile(r"^(?P<stem>.+)\.reconciler-(?P<mark>[A-Za-z0-9-]{1,64})(?P<ext>\.[A-Za-z0-9]{1,16})?$")


def mark(lineage: str) -> str:
    """The mark of a lineage as objects carry it: the lineage itself (a uuid4), or, for a lineage
    with other characters (a hand-made state), a digest of it that fits a filename."""
    return lineage if _SAFE.fullmatch(lineage) else hashlib.sha256(lineage.encode()).hexdigest()[:32]


def marked_filename(filename: str, lineage: str) -> str:
    """`train.jsonl` uploaded by lineage L is named `train.reconciler-L.jsonl` (the extension stays
    last: the API checks it)."""
    stem, dot, ext = filename.rpartition(".")
    if not dot or not stem:
        return f"{filename}{FILE_MARK}{mark(lineage)}"
    return f"{stem}{FILE_MARK}{mark(lineage)}.{ext}"


def file_owner(file: Mapping[str, Any]) -> str | None:
    """The mark in a listed file's name, or None (uploaded by hand or by an older reconciler)."""
    name = file.get("filename")
    found = _MARKED.match(name) if isinstance(name, str) else None
    return found.group("mark") if found else None


def job_owner(job: Mapping[str, Any]) -> str | None:
    """The mark in a listed job's metadata, or None (made by hand or by an older reconciler)."""
    metadata = job.get("metadata")
    value = metadata.get(TAG_LINEAGE) if isinstance(metadata, Mapping) else None
    return value if isinstance(value, str) and value else None


def legacy_adoptable(serial: int) -> bool:
    """Whether an object without a mark may be adopted as made by an interrupted run of this
    state: only when the state was written before (an older reconciler may have made it, then
    died). A state never written runs only with marks, so nothing unmarked can be its own."""
    return serial > 0


def owner_note(owner: str | None) -> str:
    """How a plan names an object that is not ours."""
    return "of another workspace" if owner else "that this workspace does not manage"
