"""Durable file primitives: private (0600) files, atomic replace, directory fsync."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

__all__ = ["PRIVATE_MODE", "atomic_write", "ensure_dir", "fsync_dir", "keep_backup", "remove_orphaned_temps",
           "temp_name"]

PRIVATE_MODE = 0o600


def ensure_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_orphaned_temps(path: Path) -> int:
    """Delete temp files beside `path` left by writers that were killed (their pid is gone)."""
    removed = 0
    for prefix in (f".{path.name}.tmp-", f".{path.name}.backup.tmp-", f".{path.name}.lock.tmp-"):
        for candidate in path.parent.glob(prefix + "*"):
            try:
                pid = int(candidate.name[len(prefix):].split("-", 1)[0])
            except ValueError:
                continue
            if pid == os.getpid() or _alive(pid):
                continue
            try:
                candidate.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_private(path: Path, data: bytes | Iterable[bytes], *, exclusive: bool = True) -> None:
    """Create `path` with mode 0600, write `data` (bytes, or chunks of bytes), fsync. Fails if it
    exists when exclusive."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        for chunk in ([data] if isinstance(data, (bytes, bytearray)) else data):
            _write_all(fd, chunk)
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file, whole.

    temp file in the same directory (0600) → write → fsync → os.replace → fsync(directory).
    """
    tmp = temp_name(path)
    try:
        write_private(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def keep_backup(path: Path, backup: Path) -> None:
    """Make `backup` a copy of the current `path` (atomically; mode 0600).

    The state file is only ever replaced, never modified in place, so a hard link to the current
    file is a faithful, instant copy; where links are not supported, the bytes are copied.
    """
    tmp = temp_name(backup)
    try:
        try:
            os.link(path, tmp)
        except OSError:
            write_private(tmp, path.read_bytes())
        os.chmod(tmp, PRIVATE_MODE)
        os.replace(tmp, backup)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
