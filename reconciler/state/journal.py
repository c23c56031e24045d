"""The journal: one fsync'd JSON line per finished action, so a crash mid-apply loses nothing.

Each line is self-describing:

    {"v": 1, "lineage": "...", "serial": 7, "seq": 3, "address": "File.x", "resource": {...} | null}

`lineage`/`serial` name the state file the entries apply on top of (the "base"). `StateStore.load()`
replays a journal whose base is the state on disk; `StateStore.write()` folds it in and removes it.
A crash can only tear the *last* line; that line is ignored on replay and cut off before appending.

An apply on a state never written starts with a `{"begin": true, "lineage": ...}` line (address
""): the lineage is then on disk before anything is created, so a run that dies before its first
action finished, and its re-run, derive the same Idempotency-Keys from the same lineage.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from reconciler.bounded import MAX_JOURNAL_BYTES, RefusedFile, read_regular
from reconciler.errors import StateError
from reconciler.state.files import PRIVATE_MODE, fsync_dir
from reconciler.state.model import (
    NonFiniteNumber,
    ResourceState,
    State,
    json_text,
    parse_resource_entry,
    strict_numbers,
)

__all__ = ["Journal", "JournalEntry", "read_journal"]

JOURNAL_VERSION = 1


@dataclass(frozen=True)
class JournalEntry:
    lineage: str
    serial: int
    address: str
    resource: ResourceState | None


def read_journal(path: Path) -> tuple[list[JournalEntry], int]:
    """All complete entries, in order, and the number of bytes of a torn tail (0 if none).

    Raises StateError when a complete line is damaged or entries disagree on their base.
    """
    try:
        data = read_regular(path, MAX_JOURNAL_BYTES)
    except FileNotFoundError:
        return [], 0
    except RefusedFile as exc:
        raise StateError(f"{path}: journal {exc}; the state file was left untouched") from None
    except OSError as exc:
        raise StateError(f"{path}: cannot read the journal: {exc.strerror}") from None
    entries: list[JournalEntry] = []
    lines = data.split(b"\n")
    tail = lines.pop()  # bytes after the last newline: a torn write, or b""
    torn = len(tail)
    for number, raw in enumerate(lines, start=1):
        where = f"{path}: line {number}"
        is_last = number == len(lines) and torn == 0
        try:
            obj: Any = json.loads(raw.decode("utf-8"), **strict_numbers())
        except NonFiniteNumber as exc:  # a complete line we never write: damage, not a torn tail
            raise StateError(f"{where}: the journal is damaged ({exc}); "
                             f"the state file was left untouched") from None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            if is_last:  # newline written but the line is garbage: also a torn tail
                torn = len(raw) + 1
                break
            raise StateError(f"{where}: the journal is damaged (not JSON); "
                             f"the state file was left untouched") from None
        if not isinstance(obj, dict):
            raise StateError(f"{where}: the journal is damaged (not an object)")
        lineage, serial = obj.get("lineage"), obj.get("serial")
        if not isinstance(lineage, str) or isinstance(serial, bool) or not isinstance(serial, int):
            raise StateError(f"{where}: journal entry without lineage/serial")
        if isinstance(obj.get("v"), int) and obj["v"] > JOURNAL_VERSION:
            raise StateError(f"{where}: journal format {obj['v']} is newer than supported")
        if obj.get("begin") is True:  # Journal.begin(): names the base of a state not written yet
            address, resource = "", None
        else:
            address, resource = parse_resource_entry(obj, where)
        if entries and (entries[0].lineage, entries[0].serial) != (lineage, serial):
            raise StateError(f"{where}: journal entries disagree on their base state")
        entries.append(JournalEntry(lineage, serial, address, resource))
    return entries, torn


class Journal:
    """Append-only, thread-safe record of finished actions on top of one base state.

    Created by `StateStore.open_journal(state)`. `record()` returns only after the line is on disk.
    """

    def __init__(self, path: Path, lineage: str, serial: int, *, count: int = 0):
        self.path = path
        self.lineage = lineage
        self.serial = serial
        self.count = count  # entries in the file, including ones replayed from an earlier run
        self._lock = threading.RLock()
        self._fd: int | None = None
        self._closed = False
        # Group commit: lines are appended under `_lock`; one fsync then covers every line
        # appended before it started, so concurrent callers share fsyncs instead of queueing.
        self._synced = threading.Condition(self._lock)
        self._appended = 0      # lines appended (never reset)
        self._durable = 0       # lines known to be on disk (never reset)
        self._syncing = False   # a caller is in os.fsync (outside `_lock`)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, base serial {self.serial}, {self.count} entries)"

    def record(self, address: str, resource: ResourceState | None) -> None:
        """Persist that `address` now is `resource` (None: removed from state).

        Returns only after the line is on disk (fsync'd)."""
        self.sync(self.append(address, resource))

    def append(self, address: str, resource: ResourceState | None) -> int:
        """Write the line (not yet fsync'd); returns a ticket for `sync`. Lines are in call order."""
        line: dict[str, Any] = {"v": JOURNAL_VERSION, "address": address,
                                "resource": None if resource is None else resource.to_dict()}
        with self._lock:
            if self._closed:
                raise StateError(f"{self.path}: journal is closed")
            line.update(lineage=self.lineage, serial=self.serial, seq=self.count + 1)
            try:
                data = (json_text(json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                             allow_nan=False)) + "\n").encode("utf-8")
            except ValueError:  # NaN/Infinity: a line no reader would accept
                raise StateError(f"{self.path}: cannot journal {address}: it holds a value that is "
                                 f"not a finite number") from None
            size: int | None = None
            try:
                fd = self._open()
                size = os.fstat(fd).st_size
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            except OSError as exc:
                self._cut_back(size)
                raise StateError(f"{self.path}: cannot write the journal: {exc.strerror}") from None
            self.count += 1
            self._appended += 1
            return self._appended

    def begin(self) -> None:
        """Put the base's lineage on disk before any action (see the module docstring)."""
        with self._lock:
            if self.count or self._appended:
                return
            line = {"v": JOURNAL_VERSION, "begin": True, "lineage": self.lineage, "serial": self.serial, "seq": 0}
            fd = self._open()
            data = (json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            except OSError as exc:
                raise StateError(f"{self.path}: cannot write the journal: {exc.strerror}") from None
            self._appended += 1
            ticket = self._appended
        self.sync(ticket)

    def sync(self, ticket: int) -> None:
        """Wait until the line of `ticket` is on disk; one fsync serves every waiting caller."""
        with self._lock:
            while self._durable < ticket and self._syncing:
                self._synced.wait()
            if self._durable >= ticket:
                return
            if self._fd is None:
                raise StateError(f"{self.path}: journal is closed")
            self._syncing = True
            target, fd = self._appended, self._fd
        error: OSError | None = None
        try:
            os.fsync(fd)
        except OSError as exc:
            error = exc
        finally:
            with self._lock:
                self._syncing = False
                if error is None:
                    self._durable = max(self._durable, target)
                self._synced.notify_all()
        if error is not None:
            raise StateError(f"{self.path}: cannot write the journal: {error.strerror}") from None

    def _cut_back(self, size: int | None) -> None:
        """After a failed write (disk full): remove the part of the line that did reach the file,
        so a later line is not glued to it (that would read as a damaged journal). If even that
        fails, the journal refuses further lines rather than risk it."""
        if size is None or self._fd is None:
            return
        try:
            os.ftruncate(self._fd, size)
        except OSError:
            self._closed = True

    def _open(self) -> int:
        if self._fd is None:
            created = not self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_MODE)
            os.fchmod(self._fd, PRIVATE_MODE)
            if created:
                fsync_dir(self.path.parent)
        return self._fd

    def _rebase(self, serial: int) -> None:
        """Called by the store (holding `_lock`) after the state was written: start afresh."""
        while self._syncing:  # never close the descriptor under a running fsync
            self._synced.wait()
        self._durable = self._appended  # every line so far is in the state file now
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.serial = serial
        self.count = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._lock:
            while self._syncing:
                self._synced.wait()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self._closed = True

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def replay(state: State, entries: list[JournalEntry], where: str, *, ahead_hint: str = "") -> State:
    """`state` with the journal's finished actions folded in (both backends). A journal of another
    lineage, or one for a later serial, is refused; one for an earlier serial was already folded in
    by a write that crashed before clearing it. `ahead_hint` ends the later-serial message."""
    if not entries:
        return state
    base = entries[0]
    if base.lineage != state.lineage:
        raise StateError(f"{where}: the journal belongs to another state (lineage {base.lineage}, "
                         f"the state's is {state.lineage}); nothing was changed")
    if base.serial > state.serial:
        raise StateError(f"{where}: the journal applies to serial {base.serial} but the state is at "
                         f"serial {state.serial}{ahead_hint}")
    if base.serial < state.serial:
        return state
    done = [e for e in entries if e.address]  # a begin line records no action
    for entry in done:
        if entry.resource is None:
            state.resources.pop(entry.address, None)
        else:
            state.resources[entry.address] = entry.resource
    state.recovered_from_journal = len(done)
    return state
