"""Reading a file reconciler did not necessarily write (state, journal, saved plan, lock, spec files)
with a bound: only a regular file is read, never a device, a FIFO or a directory (a state file that
is a link to /dev/zero or /dev/full would otherwise be read until memory runs out, a FIFO would
block for ever), and never more than a limit."""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["MAX_JOURNAL_BYTES", "MAX_LOCK_BYTES", "MAX_PLAN_BYTES", "MAX_SPEC_FILE_BYTES", "MAX_STATE_BYTES", "RefusedFile",
           "read_regular"]

MIB = 1024 * 1024
# About a kilobyte per managed object: a quarter of a million objects fit in each.
MAX_STATE_BYTES = 256 * MIB
MAX_JOURNAL_BYTES = 256 * MIB
MAX_PLAN_BYTES = 256 * MIB
MAX_LOCK_BYTES = 1 * MIB
MAX_SPEC_FILE_BYTES = 10 * MIB


class RefusedFile(Exception):
    """Why a file was not read, as the end of a sentence that starts with its path."""


def _what(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _size(count: int) -> str:
    return f"{count:,} bytes" + (f" ({count / MIB:,.1f} MiB)" if count >= MIB else "")


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of `path` (links followed), if it is a regular file of at most `limit` bytes.
    Raises RefusedFile otherwise, and OSError (FileNotFoundError, ...) when it cannot be opened."""
    # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RefusedFile(f"is {_what(info.st_mode)}, not a regular file; not read")
        if info.st_size > limit:
            raise RefusedFile(f"is {_size(info.st_size)}, over the limit of {_size(limit)}; not read")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb", buffering=0) as fh:
        expected = info.st_size
        data = fh.read(expected + 1) or b""
        if expected < len(data) <= limit:  # it grew since: read on, up to the limit
            data += fh.read(limit + 1 - len(data)) or b""
        if len(data) > limit:
            raise RefusedFile(f"grew past the limit of {_size(limit)} while read; not read")
        return data
