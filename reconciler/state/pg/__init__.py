"""The `pg` state backend: state, every previous version, the journal, the lock and the drift
memory in PostgreSQL (psycopg 3), one schema per team, one row set per workspace.

    <schema>.states     one row per workspace: lineage, serial, the state JSON (as the file holds it)
    <schema>.history    every version ever written (workspace, lineage, serial, data, written)
    <schema>.journal    one row per finished action, each in its own commit (replayed after a crash)
    <schema>.locks      who holds a workspace's lock (who, host, pid, operation, since, session pid)
    <schema>.workspaces workspaces made with `workspace new`
    <schema>.drift      the drift memory of `drift --notify`

The lock itself is `pg_try_advisory_lock` on the holder's own session: the server frees it when
that session ends, however the holder died. The connection string is never stored or shown:
errors name the schema and workspace only (docs/STATE.md).
"""

from reconciler.state.pg.store import PgStateStore, pg_error

__all__ = ["PgStateStore", "pg_error"]
