"""The state lock: `<state>.lock`, created atomically, holding who took it and why.

The lock file's content is written to a private temp file first and then hard-linked into place,
so the lock appears atomically *with* its content (no reader ever sees an empty lock file). Where
hard links are not supported, O_CREAT|O_EXCL is used.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.errors import StateError, StateLockedError
from reconciler.state.files import ensure_dir, fsync_dir, temp_name, write_private

__all__ = ["LockInfo", "acquire", "describe_holder", "force_unlock", "hold", "read_lock", "release"]

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class LockInfo:
    id: str
    operation: str
    who: str
    pid: int
    host: str
    created: str  # ISO 8601, UTC, "Z"
    version: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LockInfo:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return cls(id=str(data.get("id", "")), operation=str(data.get("operation", "?")),
                   who=str(data.get("who", "?")), pid=int(data.get("pid", 0) or 0),
                   host=str(data.get("host", "?")), created=str(data.get("created", "")),
                   version=str(data.get("version", "")))

    def describe(self) -> str:
        """"alice@host (pid 1234, operation apply, since 2026-…Z, 3m ago; lock id …)"."""
        return describe_holder(self)

    def created_at(self) -> _dt.datetime | None:
        try:
            return _dt.datetime.fromisoformat(self.created.replace("Z", "+00:00"))
        except ValueError:
            return None


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def new_lock_info(operation: str, who: str | None = None) -> LockInfo:
    host = socket.gethostname()
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    return LockInfo(id=str(uuid.uuid4()), operation=operation, who=who or f"{_user()}@{host}",
                    pid=os.getpid(), host=host, created=now.isoformat().replace("+00:00", "Z"),
                    version=__version__)


def read_lock(lock_path: Path) -> LockInfo | None:
    """The current holder, None if unlocked. An unreadable lock file still counts as held."""
    try:
        text = lock_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return LockInfo(id="?", operation="?", who=f"unreadable lock file ({exc.strerror})", pid=0,
                        host="?", created="", version="")
    try:
        return LockInfo.from_json(text)
    except (ValueError, TypeError):
        return LockInfo(id="?", operation="?", who="unknown (lock file is not valid JSON)", pid=0,
                        host="?", created="", version="")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # unknown: assume alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def _age(created: _dt.datetime | None) -> str:
    if created is None:
        return "unknown age"
    seconds = max(0, int((_dt.datetime.now(_dt.UTC) - created).total_seconds()))
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m ago"
    return f"{seconds // 86400}d ago"


def holder_is_dead(info: LockInfo) -> bool:
    """True only when we can tell: the holder ran on this host and its pid is gone."""
    return info.host == socket.gethostname() and info.pid > 0 and not _pid_alive(info.pid)


def describe_holder(info: LockInfo) -> str:
    return (f"{info.who} (pid {info.pid}, operation {info.operation}, since {info.created or '?'}, "
            f"{_age(info.created_at())}; lock id {info.id})")


def locked_error(state_path: Path, info: LockInfo) -> StateLockedError:
    head = f"state {state_path} is locked by {describe_holder(info)}"
    if info.id == "?":
        advice = f"If no reconciler is running, delete {state_path}.lock by hand."
    elif holder_is_dead(info):
        advice = (f"The process that held it is no longer running; to remove the lock, run: "
                  f"reconciler force-unlock {info.id}")
    else:
        advice = f"If that process is gone, run: reconciler force-unlock {info.id}"
    error = StateLockedError(f"{head}. {advice}")
    error.info = info  # type: ignore[attr-defined]
    return error


def _try_create(lock_path: Path, info: LockInfo) -> bool:
    data = (info.to_json() + "\n").encode("utf-8")
    tmp = temp_name(lock_path)
    write_private(tmp, data)
    try:
        try:
            os.link(tmp, lock_path)
            created = True
        except FileExistsError:
            created = False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            try:  # no hard links here: exclusive create, content written right after
                write_private(lock_path, data, exclusive=True)
                created = True
            except FileExistsError:
                created = False
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    if created:
        fsync_dir(lock_path.parent)
    return created


def acquire(state_path: Path, lock_path: Path, operation: str, *, wait: float = 0.0,
            on_wait: Callable[[LockInfo], Any] | None = None, who: str | None = None,
            sleep: Callable[[float], Any] = time.sleep) -> LockInfo:
    """Take the lock or raise `StateLockedError` naming the holder (after `wait` seconds)."""
    ensure_dir(lock_path.parent)
    info = new_lock_info(operation, who)
    deadline = time.monotonic() + max(0.0, wait)
    told = False
    while True:
        try:
            if _try_create(lock_path, info):
                return info
        except OSError as exc:
            raise StateError(f"cannot create lock file {lock_path}: {exc.strerror}") from None
        holder = read_lock(lock_path)
        if holder is None:
            continue  # released between our attempt and the read: try again at once
        if time.monotonic() >= deadline:
            raise locked_error(state_path, holder)
        if on_wait is not None and not told:
            told = True
            on_wait(holder)
        sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def release(lock_path: Path, info: LockInfo) -> None:
    """Remove the lock if it is still ours (a force-unlock may have taken it away)."""
    current = read_lock(lock_path)
    if current is not None and current.id == info.id:
        try:
            os.unlink(lock_path)
        except FileNotFoundError:
            pass
        fsync_dir(lock_path.parent)


@contextmanager
def hold(state_path: Path, lock_path: Path, operation: str, *, wait: float = 0.0,
         on_wait: Callable[[LockInfo], Any] | None = None, who: str | None = None) -> Iterator[LockInfo]:
    info = acquire(state_path, lock_path, operation, wait=wait, on_wait=on_wait, who=who)
    try:
        yield info
    finally:
        release(lock_path, info)


def force_unlock(state_path: Path, lock_path: Path, lock_id: str) -> LockInfo:
    """Remove the lock only when `lock_id` is its id; returns what was removed."""
    current = read_lock(lock_path)
    if current is None:
        raise StateError(f"state {state_path} is not locked (no {lock_path.name})")
    if current.id != lock_id:
        raise StateError(f"lock id {lock_id} does not match the lock on {state_path}, which is held by "
                         f"{current.who} (pid {current.pid}, operation {current.operation}); "
                         f"nothing was removed")
    try:
        os.unlink(lock_path)
    except FileNotFoundError:
        pass
    fsync_dir(lock_path.parent)
    return current

