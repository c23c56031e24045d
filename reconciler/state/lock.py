"""The state lock: `<state>.lock`, an OS-level lock (flock) held for the life of the process, and
the holder's details (who, pid, host, operation, time) in the file for the messages.

The lock file is created with its content already in it: the content is written to a private
temp file, that file is flock'ed, and it is then hard-linked (or, taking over a stale lock,
renamed) into place, so the lock appears atomically *with* its content and already locked.
Where hard links are not supported, O_CREAT|O_EXCL is used (flock'ed before it is written).

The file alone does not mean "locked": the flock does, and the kernel drops it when the holder
dies however it dies (SIGKILL, OOM). A lock file whose flock is free, written by a holder on this
host, is stale: the next run takes it over (and says so: a warning on this module's logger). A holder on
another host (a shared filesystem that does not carry flocks across machines), or a file that
cannot be read, still counts as held: that is what `force-unlock` is for. On a filesystem without
flock support the file alone is the lock.

The holder never reads its own lock file through another descriptor: where flock is emulated
with POSIX locks (NFS), closing any descriptor of the file would drop the lock.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.bounded import MAX_LOCK_BYTES, RefusedFile, read_regular
from reconciler.errors import StateError, StateLockedError
from reconciler.state.files import PRIVATE_MODE, ensure_dir, fsync_dir, temp_name

if sys.platform != "win32":
    import fcntl

__all__ = ["LockInfo", "abandon_held_locks", "acquire", "describe_holder", "force_unlock", "hold", "read_lock",
           "release", "takeover_message"]

log = logging.getLogger(__name__)  # a takeover is a WARNING here; the CLI shows it on stderr

POLL_SECONDS = 0.2
_BLOCKED = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)


@dataclass(frozen=True)
class LockInfo:
    id: str
    operation: str
    who: str
    pid: int
    host: str
    created: str  # ISO 8601, UTC, "Z"
    version: str
    flock: bool = False  # the holder keeps an flock on the file: a free flock means it is gone

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
                   version=str(data.get("version", "")), flock=data.get("flock") is True)

    def describe(self) -> str:
        """"alice@host (pid 1234, operation apply, since 2026-…Z, 3m ago; lock id …)"."""
        return describe_holder(self)

    def created_at(self) -> _dt.datetime | None:
        try:
            return _dt.datetime.fromisoformat(self.created.replace("Z", "+00:00"))
        except ValueError:
            return None


@dataclass
class _Held:
    fd: int | None     # the descriptor holding the flock (None: no flock support here)
    ident: tuple[int, int]  # (st_dev, st_ino) of the lock file we created
    lock_path: Path
    info: LockInfo


_held: dict[str, _Held] = {}  # by lock id
_held_mutex = threading.Lock()


def takeover_message(lock_path: Path, holder: LockInfo) -> str:
    return (f"Note: took over a stale state lock ({lock_path.name}) left by {describe_holder(holder)}: "
            f"that process is gone (its lock died with it).")


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
                    version=__version__, flock=sys.platform != "win32")


def _parse(text: str) -> LockInfo:
    try:
        return LockInfo.from_json(text)
    except (ValueError, TypeError):
        return LockInfo(id="?", operation="?", who="unknown (lock file is not valid JSON)", pid=0,
                        host="?", created="", version="")


def read_lock(lock_path: Path) -> LockInfo | None:
    """The holder named in the lock file, None if there is none. An unreadable lock file still
    counts as held. (Whether its holder is alive is `acquire`'s business: the flock.)"""
    try:
        text = read_regular(lock_path, MAX_LOCK_BYTES).decode("utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return LockInfo(id="?", operation="?", who=f"unreadable lock file ({exc.strerror})", pid=0,
                        host="?", created="", version="")
    except RefusedFile as exc:
        return LockInfo(id="?", operation="?", who=f"unreadable lock file ({exc})", pid=0,
                        host="?", created="", version="")
    except UnicodeDecodeError:
        return _parse("")
    return _parse(text)


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
    elif info.host != socket.gethostname():
        advice = (f"It was taken on another machine ({info.host}). If that process is gone, run: "
                  f"reconciler force-unlock {info.id}")
    else:
        advice = f"If that process is gone, run: reconciler force-unlock {info.id}"
    error = StateLockedError(f"{head}. {advice}")
    error.info = info  # type: ignore[attr-defined]
    return error


# -- the OS lock -----------------------------------------------------------------------------------

def _flock(fd: int) -> bool | None:
    """Try to take the flock on `fd` without waiting: True taken, False held by another open
    file (a live holder), None when this filesystem or platform has no flock."""
    if sys.platform == "win32":
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _BLOCKED:
            return False
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOSYS):
            return None
        raise
    return True


def _ident(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def _path_ident(path: Path) -> tuple[int, int] | None:
    try:
        return _ident(os.stat(path))
    except OSError:
        return None


def _close(fd: int | None) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_fd(fd: int) -> str:
    chunks = []
    offset = 0
    while True:
        chunk = os.pread(fd, 65536, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _locked_temp(lock_path: Path, info: LockInfo) -> tuple[Path, int, bool | None]:
    """A private temp file beside the lock holding `info`, flock'ed: (path, fd, flock result)."""
    tmp = temp_name(lock_path)
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        flocked = _flock(fd)
        _write_all(fd, (info.to_json() + "\n").encode("utf-8"))
        os.fsync(fd)
    except BaseException:
        _close(fd)
        _unlink(tmp)
        raise
    return tmp, fd, flocked


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _register(lock_path: Path, info: LockInfo, fd: int, flocked: bool | None) -> None:
    ident = _ident(os.fstat(fd))
    if not flocked:  # no flock here: the file alone is the lock, nothing to keep open
        _close(fd)
        held = _Held(None, ident, lock_path, info)
    else:
        held = _Held(fd, ident, lock_path, info)
    with _held_mutex:
        _held[info.id] = held


def _try_create(lock_path: Path, info: LockInfo) -> bool:
    """Create the lock file (already flock'ed, with its content) if there is none."""
    tmp, fd, flocked = _locked_temp(lock_path, info)
    try:
        os.link(tmp, lock_path)
    except FileExistsError:
        _close(fd)
        return False
    except OSError as exc:
        _close(fd)
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        return _create_exclusive(lock_path, info)
    except BaseException:
        _close(fd)
        raise
    finally:
        _unlink(tmp)
    _register(lock_path, info, fd, flocked)
    fsync_dir(lock_path.parent)
    return True


def _create_exclusive(lock_path: Path, info: LockInfo) -> bool:
    """No hard links here: exclusive create, flock'ed before the content is written."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return False
    try:
        flocked = _flock(fd)
        _write_all(fd, (info.to_json() + "\n").encode("utf-8"))
        os.fsync(fd)
    except BaseException:
        _close(fd)
        raise
    _register(lock_path, info, fd, flocked)
    fsync_dir(lock_path.parent)
    return True


def _stale_takeover_allowed(holder: LockInfo) -> bool:
    """A free flock proves the holder gone only when it ran on this host and kept an flock (a
    reconciler from before flocks, on this host, counts as gone when its pid is)."""
    if holder.id == "?" or holder.host != socket.gethostname():
        return False
    return holder.flock or (holder.pid > 0 and not _pid_alive(holder.pid))


def _probe(lock_path: Path, info: LockInfo) -> tuple[str, LockInfo | None]:
    """Look at an existing lock file: ("retry", None) when it changed under us, ("taken", stale
    holder) when we took a stale lock over, ("held", holder) otherwise."""
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return "retry", None
    except OSError:
        return "held", read_lock(lock_path)
    try:
        flocked = _flock(fd)
        if flocked is None:  # no flock support: the file alone is the lock
            return "held", _parse(_read_fd(fd))
        if flocked is False:  # a live holder
            return "held", _parse(_read_fd(fd))
        # The flock was free. Is this still the lock file (not released and replaced meanwhile)?
        if _path_ident(lock_path) != _ident(os.fstat(fd)):
            return "retry", None
        holder = _parse(_read_fd(fd))
        if not _stale_takeover_allowed(holder):
            return "held", holder
        # Take it over: our own file, locked and filled, renamed over the stale one while we hold
        # the stale one's flock (anyone else probing it then finds it replaced and starts again).
        tmp, new_fd, new_flocked = _locked_temp(lock_path, info)
        try:
            os.replace(tmp, lock_path)
        except BaseException:
            _close(new_fd)
            _unlink(tmp)
            raise
        _register(lock_path, info, new_fd, new_flocked)
        fsync_dir(lock_path.parent)
        return "taken", holder
    finally:
        _close(fd)


def acquire(state_path: Path, lock_path: Path, operation: str, *, wait: float = 0.0,
            on_wait: Callable[[LockInfo], Any] | None = None, who: str | None = None,
            sleep: Callable[[float], Any] = time.sleep,
            on_takeover: Callable[[Path, LockInfo], Any] | None = None, info: LockInfo | None = None) -> LockInfo:
    """Take the lock or raise `StateLockedError` naming the holder (after `wait` seconds). A stale
    lock (free flock, holder on this host) is taken over and reported to `on_takeover` (default:
    a warning on this module's logger, which the CLI prints on stderr)."""
    ensure_dir(lock_path.parent)
    info = info or new_lock_info(operation, who)
    deadline = time.monotonic() + max(0.0, wait)
    told = False
    while True:
        try:
            if _try_create(lock_path, info):
                return info
            outcome, holder = _probe(lock_path, info)
        except OSError as exc:
            raise StateError(f"cannot create lock file {lock_path}: {exc.strerror or exc}") from None
        if outcome == "retry":
            continue  # released or replaced between our attempts: try again at once
        assert holder is not None
        if outcome == "taken":
            if on_takeover is not None:
                on_takeover(lock_path, holder)
            else:
                log.warning("%s", takeover_message(lock_path, holder))
            return info
        if time.monotonic() >= deadline:
            raise locked_error(state_path, holder)
        if on_wait is not None and not told:
            told = True
            on_wait(holder)
        sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def release(lock_path: Path, info: LockInfo) -> None:
    """Remove the lock if it is still ours (a force-unlock may have taken it away), then drop the
    flock. Whether it is ours is told by the file's identity, not by reading it."""
    with _held_mutex:
        held = _held.pop(info.id, None)
    if held is None:
        current = read_lock(lock_path)  # not taken by this process's acquire: by content
        if current is not None and current.id == info.id:
            _unlink(lock_path)
            fsync_dir(lock_path.parent)
        return
    try:
        if _path_ident(lock_path) == held.ident:
            try:
                os.unlink(lock_path)
            except FileNotFoundError:
                pass
            fsync_dir(lock_path.parent)
    finally:
        _close(held.fd)


def abandon_held_locks() -> int:
    """For an exit that cannot unwind (a second signal): remove every lock file this process
    still holds, as `release` would. Returns how many. Safe to call at any point; the flocks go
    with the process anyway."""
    with _held_mutex:
        held = list(_held.values())
        _held.clear()
    removed = 0
    for item in held:
        if _path_ident(item.lock_path) == item.ident:
            _unlink(item.lock_path)
            removed += 1
        _close(item.fd)
    return removed


@contextmanager
def hold(state_path: Path, lock_path: Path, operation: str, *, wait: float = 0.0,
         on_wait: Callable[[LockInfo], Any] | None = None, who: str | None = None) -> Iterator[LockInfo]:
    # The id is chosen before the lock is taken, and released in `finally` even when acquiring
    # was cut short (a signal's exception just after the lock file appeared): the file then names
    # our id, and `release` removes it.
    info = new_lock_info(operation, who)
    try:
        acquire(state_path, lock_path, operation, wait=wait, on_wait=on_wait, who=who, info=info)
        yield info
    finally:
        release(lock_path, info)


def force_unlock(state_path: Path, lock_path: Path, lock_id: str) -> LockInfo:
    """Remove the lock only when `lock_id` is its id; returns what was removed. (Needed for a
    holder on another machine, or an unreadable lock; a stale lock of this host is taken over by
    the next run by itself.)"""
    current = read_lock(lock_path)
    if current is None:
        raise StateError(f"state {state_path} is not locked (no {lock_path.name})")
    if current.id != lock_id:
        raise StateError(f"lock id {lock_id} does not match the lock on {state_path}, which is held by "
                         f"{current.who} (pid {current.pid}, operation {current.operation}); "
                         f"nothing was removed")
    _unlink(lock_path)
    fsync_dir(lock_path.parent)
    return current
