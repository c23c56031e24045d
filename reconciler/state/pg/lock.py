"""The pg lock: `pg_try_advisory_lock` on a session held for the operation, plus a row naming the
holder. The server drops an advisory lock when its session ends (the holder exited, was killed,
or lost the network), so a dead holder never blocks the next run: the row it left is overwritten."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from reconciler.errors import StateError, StateLockedError
from reconciler.state.lock import POLL_SECONDS, LockInfo, describe_holder, new_lock_info
from reconciler.state.pg.errors import pg_error

__all__ = ["hold", "locked_error", "read_holder"]


def read_holder(conn: Any, table: Any, workspace: str) -> tuple[LockInfo, int] | None:
    from psycopg import sql

    row = conn.execute(sql.SQL("SELECT id, operation, who, pid, host, created, version, session_pid FROM {} "
                               "WHERE workspace = %s").format(table), (workspace,)).fetchone()
    if row is None:
        return None
    return LockInfo(id=row[0], operation=row[1], who=row[2], pid=int(row[3]), host=row[4], created=row[5],
                    version=row[6]), int(row[7])


def locked_error(where: str, info: LockInfo | None) -> StateLockedError:
    if info is None:
        return StateLockedError(f"state {where} is locked by another run that has not named itself yet; "
                                f"try again, or wait with --lock-timeout")
    error = StateLockedError(
        f"state {where} is locked by {describe_holder(info)}. It is released when that run ends (even "
        f"if it is killed: its PostgreSQL session closes); wait with --lock-timeout, or run: "
        f"reconciler force-unlock {info.id}")
    error.info = info  # type: ignore[attr-defined]
    return error


@contextmanager
def hold(connect: Callable[[], Any], table: Any, workspace: str, key: int, where: str, operation: str, *,
         wait: float = 0.0, on_wait: Callable[[LockInfo], Any] | None = None,
         who: str | None = None, holding: Callable[[Any | None], None] = lambda conn: None) -> Iterator[LockInfo]:
    from psycopg import sql


    try:
        conn = connect()
    except Exception as exc:
        raise pg_error(exc, f"{where}: cannot take the state lock") from None
    try:
        deadline = time.monotonic() + max(0.0, wait)
        waited = False
        while True:
            try:
                got = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
                holder = None if got else read_holder(conn, table, workspace)
            except Exception as exc:
                raise pg_error(exc, f"{where}: cannot take the state lock") from None
            if got:
                break
            info = holder[0] if holder else None
            if time.monotonic() >= deadline:
                raise locked_error(where, info)
            if not waited and on_wait is not None and info is not None:
                on_wait(info)
                waited = True
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        info = replace(new_lock_info(operation, who), flock=False)  # the advisory lock, not an flock
        try:
            conn.execute(sql.SQL(
                "INSERT INTO {} (workspace, id, operation, who, pid, host, created, version, session_pid) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, pg_backend_pid()) ON CONFLICT (workspace) DO UPDATE SET "
                "id = excluded.id, operation = excluded.operation, who = excluded.who, pid = excluded.pid, "
                "host = excluded.host, created = excluded.created, version = excluded.version, "
                "session_pid = excluded.session_pid").format(table),
                (workspace, info.id, info.operation, info.who, info.pid, info.host, info.created, info.version))
        except Exception as exc:
            raise pg_error(exc, f"{where}: cannot take the state lock") from None
        holding(conn)
        try:
            yield info
        finally:
            holding(None)
            try:
                conn.execute(sql.SQL("DELETE FROM {} WHERE workspace = %s AND id = %s").format(table),
                             (workspace, info.id))
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            except Exception:  # the session is gone: so is the lock (the row is overwritten next time)
                pass
    finally:
        try:
            conn.close()
        except Exception:
            pass


def lost_lock(where: str) -> StateError:
    return StateError(f"{where}: the state lock was lost (the PostgreSQL session ended); the state was not "
                      f"written, the journal keeps what completed: run the command again")
