"""reconciler/bounded.py: only a regular file within its limit is read; anything else is one
refusal, at once (a FIFO without a writer does not block, /dev/zero is not read)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.bounded import RefusedFile, read_regular


def regular(size: int) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(b"x" * size)


@pytest.mark.parametrize("make, limit, expected", [
    (regular(10), 10, b"x" * 10),
    (regular(0), 10, b""),
    (regular(11), 10, "is 11 bytes, over the limit of 10 bytes; not read"),
    (lambda p: p.symlink_to("/dev/zero"), 10, "is a character device, not a regular file; not read"),
    (lambda p: p.symlink_to("/dev/full"), 10, "is a character device, not a regular file; not read"),
    (os.mkfifo, 10, "is a FIFO, not a regular file; not read"),
    (lambda p: p.mkdir(), 10, "is a directory, not a regular file; not read"),
    (lambda p: [(p.parent / "target").write_bytes(b"linked"), p.symlink_to(p.parent / "target")], 10, b"linked"),
], ids=["at-limit", "empty", "over-limit", "dev-zero", "dev-full", "fifo", "directory", "link-to-regular"])
def test_read_regular(tmp_path: Path, make: Callable[[Path], None], limit: int, expected: bytes | str) -> None:
    path = tmp_path / "f"
    make(path)
    if isinstance(expected, bytes):
        assert read_regular(path, limit) == expected
    else:
        with pytest.raises(RefusedFile) as refused:
            read_regular(path, limit)
        assert str(refused.value) == expected


def test_a_missing_file_is_the_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "gone", 10)
