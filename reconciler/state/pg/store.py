"""`PgStateStore`: the StateStore contract (load, write, open_journal, lock, force_unlock) on
PostgreSQL, plus what only a database keeps: every version (history) and workspaces.

Each write is one transaction: the workspace's row is locked (`FOR UPDATE`), its lineage and
serial checked (another state, or a newer serial than the one this run read, is refused), the new
version written to `states` and `history`, and the journal rows folded in are deleted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import PurePosixPath
from typing import Any

from reconciler import __version__
from reconciler.errors import StateError
from reconciler.state.journal import replay
from reconciler.state.lock import LockInfo
from reconciler.state.model import FORMAT_VERSION, State, new_state
from reconciler.state.pg import lock as _lock
from reconciler.state.pg.errors import pg_error
from reconciler.state.pg.journal import PgJournal, read_rows
from reconciler.state.pg.schema import create_tables, lock_key

__all__ = ["HistoryEntry", "PgStateStore", "pg_error"]


class HistoryEntry:
    __slots__ = ("lineage", "resources", "serial", "written")

    def __init__(self, serial: int, lineage: str, written: str, resources: int):
        self.serial, self.lineage, self.written, self.resources = serial, lineage, written, resources


class PgStateStore:
    backend = "pg"

    def __init__(self, conninfo: str, schema: str, workspace: str, *, connect_timeout: int = 10):
        from psycopg import sql

        self._conninfo = conninfo  # never shown: not in repr, errors or state
        self.schema = schema
        self.workspace = workspace
        self.connect_timeout = connect_timeout
        self.path = PurePosixPath(f"pg:{schema}/{workspace}")  # how messages name this state
        self.journal_path = PurePosixPath(f"pg:{schema}/{workspace}/journal")
        self.lock_path = PurePosixPath(f"pg:{schema}/{workspace}/lock")
        self._t = {name: sql.Identifier(schema, name)
                   for name in ("states", "history", "journal", "locks", "workspaces", "drift")}
        self._mutex = threading.RLock()
        self._conn: Any = None
        self._lock_conn: Any = None  # the session holding this store's lock, while held
        self._journal: PgJournal | None = None
        self._ready = False

    def __repr__(self) -> str:
        return f"PgStateStore({str(self.path)!r})"

    # -- connections -----------------------------------------------------------------------
    def connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=self.connect_timeout,
                               application_name="reconciler")
        if not self._ready:
            create_tables(conn, self.schema)
            self._ready = True
        return conn

    def _db(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
        return self._conn

    def _run(self, what: str, fn: Callable[[Any], Any]) -> Any:
        with self._mutex:
            try:
                return fn(self._db())
            except Exception as exc:
                if self._conn is not None and self._conn.broken:
                    self._conn = None
                raise pg_error(exc, f"{self.path}: {what}") from None

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- reading ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return bool(self._run("cannot read the state", lambda c: c.execute(
            _q("SELECT 1 FROM {} WHERE workspace = %s", self._t["states"]), (self.workspace,)).fetchone()))

    def load(self) -> State:
        def read(conn: Any) -> tuple[Any, list[Any]]:
            row = conn.execute(_q("SELECT data FROM {} WHERE workspace = %s", self._t["states"]),
                               (self.workspace,)).fetchone()
            return row, read_rows(conn, self._t["journal"], self.workspace, str(self.journal_path))

        row, entries = self._run("cannot read the state", read)
        if row is not None:
            state = State.from_json(row[0], where=str(self.path))
        elif entries:
            if entries[0].serial != 0:
                raise StateError(f"{self.path}: the state row is missing but its journal applies to serial "
                                 f"{entries[0].serial}; restore a version with `reconciler state push`")
            state = new_state(entries[0].lineage)
        else:
            return new_state()
        return replay(state, entries, str(self.journal_path))

    def load_serial(self, serial: int) -> State:
        """A previous version (`state show --serial N`)."""
        row = self._run("cannot read the history", lambda c: c.execute(
            _q("SELECT data FROM {} WHERE workspace = %s AND serial = %s ORDER BY written DESC LIMIT 1",
               self._t["history"]), (self.workspace, serial)).fetchone())
        if row is None:
            raise StateError(f"{self.path}: no version with serial {serial}; see `reconciler state history`")
        return State.from_json(row[0], where=f"{self.path}@{serial}")

    def history(self) -> list[HistoryEntry]:
        rows = self._run("cannot read the history", lambda c: c.execute(
            _q("SELECT serial, lineage, to_char(written AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
               "data FROM {} WHERE workspace = %s ORDER BY written, serial", self._t["history"]),
            (self.workspace,)).fetchall())
        return [HistoryEntry(int(s), lineage, written, len(json.loads(data).get("resources") or {}))
                for s, lineage, written, data in rows]

    def history_states(self) -> list[State]:
        rows = self._run("cannot read the history", lambda c: c.execute(
            _q("SELECT data FROM {} WHERE workspace = %s ORDER BY written, serial", self._t["history"]),
            (self.workspace,)).fetchall())
        return [State.from_json(r[0], where=str(self.path)) for r in rows]

    # -- writing ---------------------------------------------------------------------------
    def write(self, state: State, *, force: bool = False, keep_serial: bool = False) -> State:
        """Persist `state` with serial + 1 in one transaction (see the module docstring).
        `force` skips the lineage/serial checks (`state push --force`); `keep_serial` writes the
        serial as it is (copying versions in `state migrate`)."""
        with self._mutex:
            if self._lock_conn is not None:
                try:
                    self._lock_conn.execute("SELECT 1")
                except Exception:
                    raise _lock.lost_lock(str(self.path)) from None
            old = (state.serial, state.format_version, state.reconciler_version)

            def txn(conn: Any) -> None:
                with conn.transaction():
                    row = conn.execute(_q("SELECT lineage, serial FROM {} WHERE workspace = %s FOR UPDATE",
                                          self._t["states"]), (self.workspace,)).fetchone()
                    if row is not None and not force:
                        lineage, serial = row
                        if lineage != state.lineage:
                            raise StateError(f"refusing to write: {self.path} holds another state (lineage "
                                             f"{lineage}, this one is {state.lineage})")
                        if serial > state.serial or (keep_serial and serial >= state.serial):
                            raise StateError(f"refusing to write: {self.path} was changed since it was read "
                                             f"(serial {serial} in the database, {state.serial} in memory)")
                    if not keep_serial:
                        state.serial += 1
                        state.format_version = FORMAT_VERSION
                        state.reconciler_version = __version__
                    data = b"".join(state.iter_json()).decode("utf-8")
                    conn.execute(_q("INSERT INTO {} (workspace, lineage, serial, data, updated) VALUES "
                                    "(%s, %s, %s, %s, now()) ON CONFLICT (workspace) DO UPDATE SET "
                                    "lineage = excluded.lineage, serial = excluded.serial, data = excluded.data, "
                                    "updated = now()", self._t["states"]),
                                 (self.workspace, state.lineage, state.serial, data))
                    conn.execute(_q("INSERT INTO {} (workspace, lineage, serial, data) VALUES (%s, %s, %s, %s) "
                                    "ON CONFLICT (workspace, lineage, serial) DO UPDATE SET data = excluded.data, "
                                    "written = now()", self._t["history"]),
                                 (self.workspace, state.lineage, state.serial, data))
                    conn.execute(_q("DELETE FROM {} WHERE workspace = %s", self._t["journal"]), (self.workspace,))

            try:
                self._run("cannot write the state", txn)
            except BaseException:
                state.serial, state.format_version, state.reconciler_version = old
                raise
            state.recovered_from_journal = 0
            if self._journal is not None and not self._journal.closed:
                self._journal._rebase(state.serial)
            return state

    # -- journal ---------------------------------------------------------------------------
    def open_journal(self, base_state: State) -> PgJournal:
        entries = self._run("cannot read the journal", lambda c: read_rows(
            c, self._t["journal"], self.workspace, str(self.journal_path)))
        if entries and (entries[0].lineage, entries[0].serial) != (base_state.lineage, base_state.serial):
            stale = entries[0].lineage == base_state.lineage and entries[0].serial < base_state.serial
            if not stale:
                raise StateError(f"{self.journal_path}: an existing journal applies to another state "
                                 f"(serial {entries[0].serial}); load the state first")
            self._run("cannot write the journal", lambda c: c.execute(
                _q("DELETE FROM {} WHERE workspace = %s", self._t["journal"]), (self.workspace,)))
            entries = []
        count = sum(1 for e in entries if e.address)
        if self._journal is not None:
            self._journal.close()
        self._journal = PgJournal(self.connect, self._t["journal"], self.workspace, base_state.lineage,
                                  base_state.serial, count=count, where=str(self.journal_path))
        return self._journal

    def journal(self, base_state: State) -> PgJournal:
        return self.open_journal(base_state)

    # -- lock ------------------------------------------------------------------------------
    def lock(self, operation: str = "state", *, wait: float = 0.0,
             on_wait: Callable[[LockInfo], Any] | None = None,
             who: str | None = None) -> AbstractContextManager[LockInfo]:
        def holding(conn: Any) -> None:
            self._lock_conn = conn

        return _lock.hold(self.connect, self._t["locks"], self.workspace, lock_key(self.schema, self.workspace),
                          str(self.path), operation, wait=wait, on_wait=on_wait, who=who, holding=holding)

    def lock_info(self) -> LockInfo | None:
        def read(conn: Any) -> LockInfo | None:
            held = _lock.read_holder(conn, self._t["locks"], self.workspace)
            if held is None:
                return None
            free = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(self.schema, self.workspace),)).fetchone()[0]
            if free:  # its holder is gone: the row is a leftover
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(self.schema, self.workspace),))
                return None
            return held[0]

        result: LockInfo | None = self._run("cannot read the lock", read)
        return result

    def force_unlock(self, lock_id: str) -> LockInfo:
        """End the holder's PostgreSQL session (which frees the advisory lock) and drop its row."""
        def unlock(conn: Any) -> LockInfo:
            held = _lock.read_holder(conn, self._t["locks"], self.workspace)
            if held is None or held[0].id != lock_id:
                shown = f"it is held under lock id {held[0].id}" if held else "it is not locked"
                raise StateError(f"lock id {lock_id} does not match the lock of {self.path} ({shown})")
            conn.execute("SELECT pg_terminate_backend(%s)", (held[1],))
            conn.execute(_q("DELETE FROM {} WHERE workspace = %s AND id = %s", self._t["locks"]),
                         (self.workspace, lock_id))
            return held[0]

        result: LockInfo = self._run("cannot remove the lock", unlock)
        return result

    # -- workspaces and drift memory ------------------------------------------------------
    def workspaces(self) -> list[str]:
        rows = self._run("cannot list workspaces", lambda c: c.execute(_q(
            "SELECT name FROM {} UNION SELECT workspace FROM {}", self._t["workspaces"], self._t["states"])).fetchall())
        return sorted({"default", *(r[0] for r in rows)})

    def create_workspace(self, name: str) -> None:
        self._run("cannot create the workspace", lambda c: c.execute(
            _q("INSERT INTO {} (name) VALUES (%s) ON CONFLICT DO NOTHING", self._t["workspaces"]), (name,)))

    def delete_workspace(self) -> None:
        def delete(conn: Any) -> None:
            with conn.transaction():
                for table, column in (("states", "workspace"), ("history", "workspace"), ("journal", "workspace"),
                                      ("drift", "workspace"), ("workspaces", "name")):
                    conn.execute(_q(f"DELETE FROM {{}} WHERE {column} = %s", self._t[table]), (self.workspace,))

        self._run("cannot delete the workspace", delete)

    def read_drift(self) -> str | None:
        row = self._run("cannot read the drift memory", lambda c: c.execute(
            _q("SELECT data FROM {} WHERE workspace = %s", self._t["drift"]), (self.workspace,)).fetchone())
        return None if row is None else str(row[0])

    def write_drift(self, data: str) -> None:
        self._run("cannot write the drift memory", lambda c: c.execute(
            _q("INSERT INTO {} (workspace, data) VALUES (%s, %s) ON CONFLICT (workspace) DO UPDATE SET "
               "data = excluded.data, updated = now()", self._t["drift"]), (self.workspace, data)))


def _q(text: str, *tables: Any) -> Any:
    from psycopg import sql

    return sql.SQL(text).format(*tables)
