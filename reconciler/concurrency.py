"""`map_bounded`: independent calls run with a bound on how many at a time, results in order.
A leaf: the API's reads (api/parallel.py adds the adaptive bound), refresh and the report use it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Protocol, TypeVar

__all__ = ["Slots", "map_bounded"]

T = TypeVar("T")
R = TypeVar("R")


class Slots(Protocol):
    """A bound that may change while calls run (api/parallel.py's AdaptiveLimit)."""

    ceiling: int

    def acquire(self) -> None: ...

    def release(self) -> None: ...


def map_bounded(fn: Callable[[T], R], items: Iterable[T], max_workers: int,
                limit: Slots | None = None) -> list[R]:
    """`[fn(x) for x in items]` with at most `max_workers` calls at a time (or as many as `limit`
    allows at each moment), results in input order.

    Every call runs to completion; if any raised, the first error in input order is re-raised
    after all others have finished (so no call is left running behind the caller's back). Only a
    BaseException in the waiting thread (a signal's Interrupted) leaves at once: no call not yet
    started starts, and the ones running are not waited for (the process is about to exit).
    """
    items = list(items)
    if not items:
        return []
    if limit is not None:
        inner = fn

        def fn(item: T) -> R:
            limit.acquire()
            try:
                return inner(item)
            finally:
                limit.release()

        max_workers = limit.ceiling
    workers = max(1, min(max_workers, len(items)))
    if workers == 1:
        results: list[R] = []
        first: BaseException | None = None
        for item in items:
            try:
                results.append(fn(item))
            except Exception as exc:  # keep going, like the parallel path
                if first is None:
                    first = exc
        if first is not None:
            raise first
        return results
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reconciler")
    try:
        futures: list[Future[R]] = [pool.submit(fn, item) for item in items]
        wait(futures)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [future.result() for future in futures]
