"""The pg journal: one row per finished action, each committed before `record` returns, on a
connection of its own (so a slow state write or a lock poll never delays it)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from reconciler.errors import StateError
from reconciler.state.journal import JOURNAL_VERSION, JournalEntry
from reconciler.state.model import (
    NonFiniteNumber,
    ResourceState,
    json_text,
    parse_resource_entry,
    strict_numbers,
)
from reconciler.state.pg.errors import pg_error

__all__ = ["PgJournal", "read_rows"]


def read_rows(conn: Any, table: Any, workspace: str, where: str) -> list[JournalEntry]:
    """The journal rows of a workspace, in order (a begin row has address "")."""
    from psycopg import sql

    rows = conn.execute(sql.SQL("SELECT lineage, serial, seq, address, resource FROM {} WHERE workspace = %s "
                                "ORDER BY seq").format(table), (workspace,)).fetchall()
    entries: list[JournalEntry] = []
    for lineage, serial, seq, address, resource in rows:
        if entries and (entries[0].lineage, entries[0].serial) != (lineage, serial):
            raise StateError(f"{where}: journal rows disagree on their base state (seq {seq})")
        if not address:
            entries.append(JournalEntry(lineage, int(serial), "", None))
            continue
        try:
            raw = None if resource is None else json.loads(resource, **strict_numbers())
        except (ValueError, NonFiniteNumber) as exc:
            raise StateError(f"{where}: journal row {seq} is damaged ({exc})") from None
        entry_address, entry = parse_resource_entry({"address": address, "resource": raw}, f"{where}: row {seq}")
        entries.append(JournalEntry(lineage, int(serial), entry_address, entry))
    return entries


class PgJournal:
    """Same contract as `reconciler.state.journal.Journal`; `sync` has nothing left to do."""

    def __init__(self, connect: Callable[[], Any], table: Any, workspace: str, lineage: str, serial: int,
                 *, count: int = 0, where: str = "pg"):
        self._connect = connect
        self._table = table
        self.workspace = workspace
        self.lineage = lineage
        self.serial = serial
        self.count = count
        self.where = where
        self._lock = threading.RLock()
        self._conn: Any = None
        self._closed = False
        self._tickets = 0

    def __repr__(self) -> str:
        return f"PgJournal({self.where}, base serial {self.serial}, {self.count} entries)"

    def _insert(self, seq: int, address: str, resource: str | None) -> None:
        from psycopg import sql

        if self._conn is None:
            self._conn = self._connect()
        self._conn.execute(
            sql.SQL("INSERT INTO {} (workspace, lineage, serial, seq, address, resource) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING").format(self._table),
            (self.workspace, self.lineage, self.serial, seq, address, resource))

    def record(self, address: str, resource: ResourceState | None) -> None:
        self.sync(self.append(address, resource))

    def append(self, address: str, resource: ResourceState | None) -> int:
        try:
            text = None if resource is None else json_text(json.dumps(resource.to_dict(), sort_keys=True,
                                                                      ensure_ascii=False, allow_nan=False))
        except ValueError:
            raise StateError(f"{self.where}: cannot journal {address}: it holds a value that is not a "
                             f"finite number") from None
        with self._lock:
            if self._closed:
                raise StateError(f"{self.where}: journal is closed")

            try:
                self._insert(self.count + 1, address, text)
            except Exception as exc:
                raise pg_error(exc, f"{self.where}: cannot write the journal") from None
            self.count += 1
            self._tickets += 1
            return self._tickets

    def begin(self) -> None:
        with self._lock:
            if self.count:
                return

            try:
                self._insert(0, "", None)
            except Exception as exc:
                raise pg_error(exc, f"{self.where}: cannot write the journal") from None

    def sync(self, ticket: int) -> None:
        """Each row is committed by `append` (autocommit)."""

    def _rebase(self, serial: int) -> None:
        with self._lock:
            self.serial = serial
            self.count = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception:  # closing a broken connection: nothing to keep
                    pass
                self._conn = None

    def __enter__(self) -> PgJournal:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


_ = JOURNAL_VERSION  # rows hold what a journal line holds; the version is the table's shape
