"""Where the world lives between runs: a JSON file written atomically, plus file contents.

The JSON holds everything but uploaded file contents, which go to `<data>.files/<file-id>`
(each written once, atomically, when uploaded). The JSON is rewritten in the background at most
once per `interval` seconds after a change, and once more on shutdown: a mutating request costs a
flag, not an O(world) write. The trade-off: a crash (not a clean stop) can lose the last
`interval` seconds of changes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


def atomic_write(path: Path, data: bytes) -> None:
    """temp file in the same folder, fsync, rename over the target, fsync the folder (0600): the
    state store's own writer, so the sandbox's world is as crash-safe as reconciler's state."""
    from reconciler.state.files import atomic_write as write
    from reconciler.state.files import ensure_dir

    ensure_dir(path.parent)
    write(path, data)


class BlobStore:
    """Uploaded file contents: in memory, or one file each under a folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._memory: dict[str, bytes] = {}
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def put(self, file_id: str, content: bytes) -> None:
        if self.folder is None:
            self._memory[file_id] = content
        else:
            atomic_write(self.folder / file_id, content)

    def get(self, file_id: str) -> bytes:
        if self.folder is None:
            return self._memory[file_id]
        return (self.folder / file_id).read_bytes()

    def lines(self, file_id: str) -> Iterator[bytes]:
        if self.folder is None:
            yield from self._memory[file_id].splitlines()
            return
        with open(self.folder / file_id, "rb") as fh:
            yield from fh

    def delete(self, file_id: str) -> None:
        if self.folder is None:
            self._memory.pop(file_id, None)
        else:
            try:
                (self.folder / file_id).unlink()
            except FileNotFoundError:
                pass


def load(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    with open(path, "rb") as fh:
        data: dict[str, Any] = json.load(fh)
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported sandbox data format {data.get('format_version')!r}")
    return data


class Persister:
    """Writes `snapshot()` to `path` at most once per `interval` seconds after `mark_dirty()`."""

    def __init__(self, path: Path, snapshot: Callable[[], dict[str, Any]], interval: float = 0.2) -> None:
        self.path = path
        self.snapshot = snapshot
        self.interval = interval
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sandbox-persist", daemon=True)
        self._thread.start()

    def mark_dirty(self) -> None:
        self._dirty.set()

    def flush(self) -> None:
        with self._write_lock:
            self._dirty.clear()
            data = self.snapshot()
            data["format_version"] = FORMAT_VERSION
            atomic_write(self.path, json.dumps(data, separators=(",", ":")).encode())

    def _run(self) -> None:
        while not self._stop.is_set():
            self._dirty.wait(0.5)
            if self._stop.is_set():
                break
            if self._dirty.is_set():
                try:
                    self.flush()
                except Exception:  # keep serving; the next change retries
                    log.exception("could not write sandbox data to %s", self.path)
                self._stop.wait(self.interval)

    def close(self) -> None:
        self._stop.set()
        self._dirty.set()
        self._thread.join(timeout=5)
        self.flush()
