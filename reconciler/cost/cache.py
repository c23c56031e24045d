"""Token counts kept between runs, keyed by the file's sha256, the encoding and the record format,
so a plan that has counted a file does not count it again. A file's sha256 is itself remembered
by path, size and modification time, so an unchanged file is not even read.

The cache is one small JSON file (the CLI keeps it beside the state file, `<state dir>/.cache/
token-counts.json`); a damaged or unwritable cache is ignored: it only ever saves time.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from reconciler.bounded import MAX_STATE_BYTES, RefusedFile, read_regular
from reconciler.cost.tokens import FileCount

__all__ = ["TokenCache"]

_VERSION = 1
_MAX_ENTRIES = 2000


class TokenCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._counts: dict[str, dict[str, Any]] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._dirty = False
        if path is not None:
            try:
                data = json.loads(read_regular(path, MAX_STATE_BYTES).decode("utf-8"))
                if isinstance(data, dict) and data.get("version") == _VERSION:
                    self._counts = dict(data.get("counts") or {})
                    self._files = dict(data.get("files") or {})
            except (OSError, ValueError, RefusedFile):  # a cache that cannot be read is empty
                pass

    @staticmethod
    def _stat_key(path: Path) -> dict[str, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}

    def get(self, path: Path, encoding: str, fmt: str) -> FileCount | None:
        seen = self._files.get(str(path))
        stat = self._stat_key(path)
        if seen is None or stat is None or {k: seen.get(k) for k in stat} != stat:
            return None
        entry = self._counts.get(f"{seen.get('sha256')}:{encoding}:{fmt}")
        if not isinstance(entry, dict):
            return None
        try:
            return FileCount(int(entry["examples"]), int(entry["tokens"]), str(seen["sha256"]), int(stat["size"]),
                             encoding, fmt)
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, path: Path, count: FileCount) -> None:
        stat = self._stat_key(path)
        if stat is None or stat["size"] != count.bytes:
            return  # the file changed while it was counted: do not remember a count of neither version
        self._files[str(path)] = {**stat, "sha256": count.sha256}
        self._counts[f"{count.sha256}:{count.encoding}:{count.format}"] = {"examples": count.examples,
                                                                         "tokens": count.tokens}
        self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        for table in (self._files, self._counts):
            while len(table) > _MAX_ENTRIES:
                table.pop(next(iter(table)))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".token-counts.")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"version": _VERSION, "files": self._files, "counts": self._counts}, handle)
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            pass
