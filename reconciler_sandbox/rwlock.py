"""A readers-writer lock for the sandbox's world: reads (lists, gets) share it, writes take it
alone, so a thousand permission lists are not served one at a time behind each other.

`with lock:` is the writer's side and is re-entrant, as the RLock it replaces was (idempotent()
holds it across the create it wraps); `with lock.read():` is the readers' side, re-entrant per
thread, and also free to a thread that holds the writer's side. Writers go first: a waiting writer
stops new readers (other than re-entering ones), so a stream of reads cannot starve a create.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["RWLock"]


class RWLock:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer: int | None = None
        self._depth = 0
        self._waiting = 0
        self._local = threading.local()

    # -- the writer's side: `with lock:` ---------------------------------------------------
    def acquire(self) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                self._depth += 1
                return
            self._waiting += 1
            try:
                # a thread that reads may not upgrade: it would wait for itself
                while self._writer is not None or self._readers > getattr(self._local, "depth", 0):
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._writer = me
            self._depth = 1

    def release(self) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._writer = None
                self._cond.notify_all()

    def __enter__(self) -> RWLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    # -- the readers' side: `with lock.read():` --------------------------------------------
    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        me = threading.get_ident()
        depth = getattr(self._local, "depth", 0)
        with self._cond:
            if self._writer != me and depth == 0:
                while self._writer is not None or self._waiting:
                    self._cond.wait()
            self._readers += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            with self._cond:
                self._readers -= 1
                if self._readers == 0 or self._waiting:
                    self._cond.notify_all()
