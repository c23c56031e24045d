"""Which state backend a command uses: the spec folder's Settings document (`spec.backend`), the
workspace (-w, RECONCILER_WORKSPACE, `workspace select`), and for pg the connection from the
environment (RECONCILER_PG_CONN_STR, else the standard PG* variables), read here and only here.

A copy of the specs that switched backend without `state migrate` is refused: the local state
folder remembers which backend the state was last migrated to (`state/.backend`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.bounded import MAX_LOCK_BYTES, RefusedFile, read_regular
from reconciler.cli.context import AppContext
from reconciler.errors import ConfigError, StateError
from reconciler.secrets import register_secret

__all__ = ["backend_marker", "conninfo", "local_store", "open_store", "pg_store", "record_backend", "settings"]

_PG_VARS = {"PGHOST": "host", "PGHOSTADDR": "hostaddr", "PGPORT": "port", "PGDATABASE": "dbname",
            "PGUSER": "user", "PGPASSWORD": "password", "PGSSLMODE": "sslmode", "PGSSLROOTCERT": "sslrootcert",
            "PGSSLCERT": "sslcert", "PGSSLKEY": "sslkey", "PGAPPNAME": "application_name",
            "PGCONNECT_TIMEOUT": "connect_timeout", "PGSERVICE": "service", "PGPASSFILE": "passfile"}


def settings(ctx: AppContext) -> Any:
    from reconciler.loading.settings import find_settings

    return find_settings(ctx.dir)


def conninfo(ctx: AppContext, where: str) -> str:
    """The connection string (never printed): RECONCILER_PG_CONN_STR, else built from PG*."""
    text = ctx.env.get("RECONCILER_PG_CONN_STR")
    if not text:
        from psycopg.conninfo import make_conninfo

        params = {key: ctx.env[var] for var, key in _PG_VARS.items() if ctx.env.get(var)}
        if "host" not in params and "hostaddr" not in params and "service" not in params:
            raise ConfigError(f"{where}: the pg backend needs a database: set RECONCILER_PG_CONN_STR "
                              f"(key=value pairs or a postgresql:// URL) or PGHOST and the other PG* variables")
        text = make_conninfo(**params)
    try:
        from psycopg.conninfo import conninfo_to_dict

        parsed = conninfo_to_dict(text)
    except Exception:
        raise ConfigError("RECONCILER_PG_CONN_STR is not a valid PostgreSQL connection string "
                          "(key=value pairs or a postgresql:// URL)") from None
    register_secret(str(parsed.get("password") or "") or None)
    register_secret(text)
    return text


def backend_marker(ctx: AppContext) -> Path:
    return ctx.state_dir / ".backend"


def _remembered(ctx: AppContext) -> dict[str, Any] | None:
    try:
        data = json.loads(read_regular(backend_marker(ctx), MAX_LOCK_BYTES).decode("utf-8"))
    except (OSError, ValueError, RefusedFile):
        return None
    return data if isinstance(data, dict) else None


def record_backend(ctx: AppContext, type_: str, schema: str | None = None) -> None:
    """Remember where the state was migrated to (written by `state migrate`)."""
    from reconciler.state.files import atomic_write, ensure_dir

    ensure_dir(ctx.state_dir)
    atomic_write(backend_marker(ctx), json.dumps({"type": type_, "schema": schema}).encode() + b"\n")


def local_store(ctx: AppContext) -> Any:
    from reconciler.state import StateStore

    return StateStore(ctx.state_file)


def pg_store(ctx: AppContext, schema: str, where: str) -> Any:
    from reconciler.state.pg import PgStateStore

    return PgStateStore(conninfo(ctx, where), schema, ctx.workspace_name)


def open_store(ctx: AppContext) -> Any:
    """The state store of this command: local files or pg, as Settings says."""
    chosen = settings(ctx)
    backend = chosen.backend
    remembered = _remembered(ctx)
    where = chosen.where("spec.backend.type")
    if backend.type == "pg":
        if ctx.state_path or ctx.env.get("RECONCILER_STATE"):
            raise ConfigError(f"{where}: Settings selects the pg backend; --state / RECONCILER_STATE name a "
                              f"local file (choose the workspace with -w NAME)")
        migrated = remembered is not None and remembered.get("type") == "pg"
        if not migrated and ctx.state_file.exists():
            raise StateError(f"{where}: Settings selects the pg backend but the state is still in "
                             f"{ctx.state_file} (local); run `reconciler state migrate --to pg` first")
        if migrated and remembered is not None and remembered.get("schema") not in (None, backend.schema):
            raise StateError(f"{where}: Settings selects pg schema {backend.schema!r} but the state was "
                             f"migrated to schema {remembered.get('schema')!r}; run `reconciler state migrate "
                             f"--to pg` to copy it, or set schema: {remembered.get('schema')}")
        return pg_store(ctx, backend.schema, where)
    if remembered is not None and remembered.get("type") == "pg":
        raise StateError(f"{where}: Settings selects the local backend but the state was migrated to pg "
                         f"(schema {remembered.get('schema')}); run `reconciler state migrate --to local` first")
    return local_store(ctx)
