"""Bounded concurrency for independent API calls (refresh reads, parallel actions)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["map_bounded"]

T = TypeVar("T")
R = TypeVar("R")


def map_bounded(fn: Callable[[T], R], items: Iterable[T], max_workers: int) -> list[R]:
    """`[fn(x) for x in items]` with at most `max_workers` calls at a time, results in input order.

    Every call runs to completion; if any raised, the first error in input order is re-raised
    after all others have finished (so no call is left running behind the caller's back).
    """
    items = list(items)
    if not items:
        return []
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
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reconciler") as pool:
        futures: list[Future[R]] = [pool.submit(fn, item) for item in items]
        wait(futures)
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [future.result() for future in futures]
