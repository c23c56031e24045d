"""The API's clock: the `Date` header of its last answer. Job and file times are in it, so "how
long ago" and "is it past" are asked of it, not of this machine's clock (which may be hours off
a server's, or days off a sandbox started at another date)."""

from __future__ import annotations

import email.utils
import time
from typing import Any

__all__ = ["server_now"]


def server_now(client: Any) -> float:
    """The server's clock as a POSIX time (its last Date header), else this machine's."""
    date = getattr(client, "last_server_date", None)
    if isinstance(date, str):
        try:
            return email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            pass
    return time.time()
