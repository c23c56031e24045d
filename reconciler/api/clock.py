"""The API's clock: the `Date` header of its last answer. Job and file times are in it, so "how
long ago" and "is it past" are asked of it, not of this machine's clock (which may be hours off
a server's, or days off a sandbox started at another date)."""

from __future__ import annotations

import email.utils
import time
from typing import Any

__all__ = ["server_now", "server_time"]


def server_time(client: Any) -> float | None:
    """The server's clock as a POSIX time (its last Date header), None before any answer or when
    the header is not a date."""
    date = getattr(client, "last_server_date", None)
    if isinstance(date, str):
        try:
            return email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            pass
    return None


def server_now(client: Any) -> float:
    """The server's clock (server_time), else this machine's."""
    found = server_time(client)
    return found if found is not None else time.time()
