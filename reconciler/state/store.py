"""`StateStore`: one state file with its backup, lock and journal beside it.

    state/default.json            the state (0600), replaced atomically on every write
    state/default.json.backup     the state as it was before this store's first write
    state/default.json.lock       present while a plan/apply/state command runs
    state/default.json.journal    actions finished since the last write (replayed after a crash)

A file that cannot be read as a state is never overwritten: once `load()` failed, `write()` refuses.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.bounded import MAX_STATE_BYTES, RefusedFile, read_regular
from reconciler.errors import StateError
from reconciler.state import lock as _lock
from reconciler.state.files import atomic_write, ensure_dir, fsync_dir, keep_backup, remove_orphaned_temps
from reconciler.state.journal import Journal, read_journal, replay
from reconciler.state.lock import LockInfo
from reconciler.state.model import FORMAT_VERSION, State, new_state

__all__ = ["StateStore"]

# Journals open in this process, by resolved journal path: a write through *any* StateStore of the
# same file must rebase them, or their later records would land in a removed file.
_open_journals: dict[str, Journal] = {}
_registry_lock = threading.Lock()


def _registered(path: Path) -> Journal | None:
    with _registry_lock:
        journal = _open_journals.get(str(path.resolve()))
    return journal if journal is not None and not journal.closed else None


class StateStore:
    def __init__(self, path: Path | str):
        self.path = self._given = Path(path)
        if self.path.is_symlink():
            # One state, one lock: a link to the state file (`current.json -> prod.json`) must lock,
            # journal and write the real file, not replace the link with a copy of its own.
            self.path = self.path.resolve()
        self.backup_path = self.path.with_name(self.path.name + ".backup")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self._mutex = threading.RLock()
        self._broken: StateError | None = None  # set when load() failed: never write over it
        self._disk: tuple[str, int] | None = None  # (lineage, serial) of the file as last seen
        self._disk_sig: tuple[int, int, int] | None = None  # its (inode, size, mtime) then
        self._backed_up = False

    def __repr__(self) -> str:
        return f"StateStore({str(self.path)!r})"

    # -- reading ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _read_file(self, path: Path) -> State:
        try:
            # Decoded while reading, so the bytes are gone before parsing: the parse's peak holds
            # the text and the parsed state, not the file's bytes too.
            text = read_regular(path, MAX_STATE_BYTES).decode("utf-8")
        except IsADirectoryError:
            raise StateError(f"{path}: is a directory, not a state file") from None
        except RefusedFile as exc:
            shown = f"{self._given} (a link to {path})" if path == self.path != self._given else str(path)
            raise StateError(f"{shown}: state file {exc}") from None
        except UnicodeDecodeError as exc:
            raise StateError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
        except OSError as exc:
            raise StateError(f"{path}: cannot read the state file: {exc.strerror}") from None
        return State.from_json(text, where=str(path))

    def load(self) -> State:
        """The state on disk with any matching journal replayed into it (see `recovered_from_journal`).

        A missing file gives a new empty state (written only by the first `write`). A damaged file,
        one of a newer format, or a journal of another state raise `StateError`; nothing is changed
        on disk then, and this store refuses to write afterwards.
        """
        with self._mutex:
            try:
                state = self._load()
            except StateError as exc:
                self._broken = exc
                raise
            self._broken = None
            return state

    def _load(self) -> State:
        exists = self.path.exists() or self.path.is_symlink()
        entries, _torn = read_journal(self.journal_path)
        if exists:
            signature = self._signature()
            state = self._read_file(self.path)
            self._disk, self._disk_sig = (state.lineage, state.serial), signature
        elif entries:
            base = entries[0]
            if base.serial != 0:
                raise StateError(
                    f"{self.path}: the state file is missing but its journal {self.journal_path.name} "
                    f"applies to serial {base.serial}; restore the state from {self.backup_path.name}")
            state = new_state(base.lineage)
            self._disk = None
        else:
            self._disk = None
            return new_state()
        return replay(state, entries, str(self.journal_path), ahead_hint=" (restored from a backup?)")

    def load_backup(self) -> State:
        return self._read_file(self.backup_path)

    # -- writing ---------------------------------------------------------------------------
    def write(self, state: State) -> State:
        """Persist `state` with serial + 1 (changed in place and returned).

        Atomic (temp + fsync + rename + directory fsync), mode 0600; the file as it was before
        this store's first write is kept as `<path>.backup`. Folds in and removes the journal.
        """
        with self._mutex:
            if self._broken is not None:
                raise StateError(f"refusing to write: {self._broken}")
            if self.path.exists() and (self._disk is None or self._signature() != self._disk_sig):
                # Never overwrite what we have not understood, nor a file changed behind our back.
                on_disk = self._read_file(self.path)
                self._disk, self._disk_sig = (on_disk.lineage, on_disk.serial), self._signature()
            if self._disk is not None:
                lineage, serial = self._disk
                if lineage != state.lineage:
                    raise StateError(f"refusing to write: {self.path} holds another state (lineage "
                                     f"{lineage}, this one is {state.lineage})")
                if serial > state.serial:
                    raise StateError(f"refusing to write: {self.path} was changed since it was read "
                                     f"(serial {serial} on disk, {state.serial} in memory)")
            ensure_dir(self.path.parent)
            journal = _registered(self.journal_path)
            if journal is not None:
                journal._lock.acquire()
            try:
                self._write_locked(state)
                if journal is not None:
                    journal._rebase(state.serial)
            finally:
                if journal is not None:
                    journal._lock.release()
            return state

    def _write_locked(self, state: State) -> None:
        if not self._backed_up and self.path.exists():
            try:
                keep_backup(self.path, self.backup_path)
            except OSError as exc:
                raise StateError(f"{self.backup_path}: cannot write the backup: {exc.strerror}") from None
            self._backed_up = True
        old = (state.serial, state.format_version, state.reconciler_version)
        state.serial += 1
        state.format_version = FORMAT_VERSION
        state.reconciler_version = __version__
        try:
            atomic_write(self.path, state.iter_json())
        except BaseException as exc:
            state.serial, state.format_version, state.reconciler_version = old
            if isinstance(exc, OSError):
                raise StateError(f"{self.path}: cannot write the state: {exc.strerror or exc}") from None
            raise
        self._disk, self._disk_sig = (state.lineage, state.serial), self._signature()
        state.recovered_from_journal = 0
        try:
            os.unlink(self.journal_path)
            fsync_dir(self.path.parent)
        except FileNotFoundError:
            pass
        remove_orphaned_temps(self.path)

    # -- journal ---------------------------------------------------------------------------
    def open_journal(self, base_state: State) -> Journal:
        """A journal of actions on top of `base_state`, which must be the state on disk (its
        serial), or a new state not written yet. Entries replayed by `load()` are kept."""
        with self._mutex:
            if self._broken is not None:
                raise StateError(f"refusing to journal: {self._broken}")
            ensure_dir(self.journal_path.parent)
            entries, torn = read_journal(self.journal_path)
            if entries and (entries[0].lineage, entries[0].serial) != (base_state.lineage, base_state.serial):
                stale = entries[0].lineage == base_state.lineage and entries[0].serial < base_state.serial
                if not stale:
                    raise StateError(f"{self.journal_path}: an existing journal applies to another state "
                                     f"(serial {entries[0].serial}); load the state first")
                os.unlink(self.journal_path)
                entries, torn = [], 0
            if torn:
                with open(self.journal_path, "r+b") as fh:
                    size = fh.seek(0, os.SEEK_END)
                    fh.truncate(size - torn)
                    fh.flush()
                    os.fsync(fh.fileno())
            previous = _registered(self.journal_path)
            if previous is not None:
                previous.close()
            journal = Journal(self.journal_path, base_state.lineage, base_state.serial, count=len(entries))
            with _registry_lock:
                _open_journals[str(self.journal_path.resolve())] = journal
            return journal

    def journal(self, base_state: State) -> Journal:
        """Alias of `open_journal` (the name used in docs/ARCHITECTURE.md)."""
        return self.open_journal(base_state)

    # -- lock ------------------------------------------------------------------------------
    def lock(self, operation: str = "state", *, wait: float = 0.0,
             on_wait: Callable[[LockInfo], Any] | None = None,
             who: str | None = None) -> AbstractContextManager[LockInfo]:
        """Hold `<path>.lock` for the duration of a `with` block; `StateLockedError` if another
        process holds it after `wait` seconds (`on_wait(holder)` is called once when waiting)."""
        return _lock.hold(self.path, self.lock_path, operation, wait=wait, on_wait=on_wait, who=who)

    def lock_info(self) -> LockInfo | None:
        return _lock.read_lock(self.lock_path)

    def force_unlock(self, lock_id: str) -> LockInfo:
        return _lock.force_unlock(self.path, self.lock_path, lock_id)
