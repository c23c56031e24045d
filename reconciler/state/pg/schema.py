"""The pg backend's tables (created when missing, idempotently, under a transaction-level
advisory lock so that two first runs do not race). When they all exist nothing is created, so a
role without CREATE rights (a plan job's read-only role: docs/STATE.md) can connect."""

from __future__ import annotations

import hashlib
import re
from typing import Any

__all__ = ["DDL_LOCK", "create_tables", "lock_key"]

DDL_LOCK = 0x5EC0_C11E  # pg_advisory_xact_lock key while creating the tables

TABLES = (
    "CREATE TABLE IF NOT EXISTS {s}.workspaces (name text PRIMARY KEY, "
    "created timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS {s}.states (workspace text PRIMARY KEY, lineage text NOT NULL, "
    "serial bigint NOT NULL, data text NOT NULL, updated timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS {s}.history (workspace text NOT NULL, lineage text NOT NULL, "
    "serial bigint NOT NULL, data text NOT NULL, written timestamptz NOT NULL DEFAULT now(), "
    "PRIMARY KEY (workspace, lineage, serial))",
    "CREATE TABLE IF NOT EXISTS {s}.journal (workspace text NOT NULL, lineage text NOT NULL, "
    "serial bigint NOT NULL, seq bigint NOT NULL, address text NOT NULL, resource text, "
    "PRIMARY KEY (workspace, lineage, serial, seq))",
    "CREATE TABLE IF NOT EXISTS {s}.locks (workspace text PRIMARY KEY, id text NOT NULL, "
    "operation text NOT NULL, who text NOT NULL, pid integer NOT NULL, host text NOT NULL, "
    "created text NOT NULL, version text NOT NULL, session_pid integer NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {s}.drift (workspace text PRIMARY KEY, data text NOT NULL, "
    "updated timestamptz NOT NULL DEFAULT now())",
)


TABLE_NAMES = tuple(re.search(r"\{s\}\.(\w+)", statement).group(1)  # type: ignore[union-attr]
                    for statement in TABLES)


def create_tables(conn: Any, schema: str) -> None:
    from psycopg import sql

    present = conn.execute("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = ANY(%s)",
                           (schema, list(TABLE_NAMES))).fetchone()[0]
    if present == len(TABLE_NAMES):
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        for statement in TABLES:
            conn.execute(sql.SQL(statement).format(s=sql.Identifier(schema)))


def lock_key(schema: str, workspace: str) -> int:
    """The advisory lock key of one workspace: 64 bits of sha256("reconciler:<schema>:<workspace>")."""
    digest = hashlib.sha256(f"reconciler:{schema}:{workspace}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
