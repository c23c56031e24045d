"""A PostgreSQL error as one line."""

from __future__ import annotations

from reconciler.errors import StateError

__all__ = ["pg_error"]


def pg_error(exc: BaseException, prefix: str) -> BaseException:
    """A psycopg error as one StateError line (the server's first line; never the connection
    string); anything else unchanged (a bug stays a bug)."""
    import psycopg  # the driver: loaded when PostgreSQL is used

    if isinstance(exc, StateError):
        return exc
    if not isinstance(exc, psycopg.Error):
        return exc
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return StateError(f"{prefix}: PostgreSQL: {text}")
