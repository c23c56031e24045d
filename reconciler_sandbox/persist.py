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
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
_STAGING = ".upload-"   # staged uploads' names: never a file id


def atomic_write(path: Path, data: bytes) -> None:
    """temp file in the same folder (0600), write, fsync, rename over the target, fsync the folder:
    a crash leaves the old world or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)


@dataclass(frozen=True)
class Staged:
    """An upload written to disk as it arrived (`BlobStore.stage`), not yet a file's content."""

    path: Path
    size: int


class BlobStore:
    """Uploaded file contents: in memory, or one file each under a folder. An upload is staged
    on disk as it streams in (under the folder, or a private temporary folder for an in-memory
    world) and kept there; a small one of an in-memory world is read back into memory."""

    SMALL = 1 << 20

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._memory: dict[str, bytes] = {}
        self._spilled: dict[str, Path] = {}   # in-memory world: large contents on disk
        self._spill: Path | None = None
        self._lock = threading.Lock()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for left in folder.glob(_STAGING + "*"):   # uploads a crash interrupted
                left.unlink(missing_ok=True)

    def _staging_dir(self) -> Path:
        if self.folder is not None:
            return self.folder
        with self._lock:
            if self._spill is None:
                self._spill = Path(tempfile.mkdtemp(prefix="reconciler-sandbox-uploads-"))
            return self._spill

    def stage(self) -> tuple[BinaryIO, Path]:
        """A new file to stream an upload into, and its path."""
        fd, name = tempfile.mkstemp(prefix=_STAGING, dir=self._staging_dir())
        return os.fdopen(fd, "wb"), Path(name)

    def put(self, file_id: str, content: bytes | Staged) -> None:
        if isinstance(content, Staged):
            self._adopt(file_id, content)
        elif self.folder is None:
            self._memory[file_id] = content
        else:
            atomic_write(self.folder / file_id, content)

    def _adopt(self, file_id: str, staged: Staged) -> None:
        if self.folder is None and staged.size <= self.SMALL:
            self._memory[file_id] = staged.path.read_bytes()
            staged.path.unlink()
            return
        target = (self.folder or self._staging_dir()) / file_id
        os.replace(staged.path, target)   # same folder: the staged file was fsync'd by its writer
        if self.folder is None:
            self._spilled[file_id] = target

    def _path(self, file_id: str) -> Path | None:
        if self.folder is not None:
            return self.folder / file_id
        return self._spilled.get(file_id)

    def get(self, file_id: str) -> bytes:
        path = self._path(file_id)
        if path is None:
            return self._memory[file_id]
        return path.read_bytes()

    def reader(self, file_id: str) -> bytes | BinaryIO:
        """The content to send: in memory, or an open file (a download is never read whole)."""
        path = self._path(file_id)
        if path is None:
            return self._memory[file_id]
        return open(path, "rb")

    def lines(self, file_id: str) -> Iterator[bytes]:
        path = self._path(file_id)
        if path is None:
            yield from self._memory[file_id].splitlines()
            return
        with open(path, "rb") as fh:
            yield from fh

    def delete(self, file_id: str) -> None:
        self._memory.pop(file_id, None)
        path = self._path(file_id)
        self._spilled.pop(file_id, None)
        if path is not None:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Remove what an in-memory world kept on disk."""
        with self._lock:
            spill, self._spill = self._spill, None
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)


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
