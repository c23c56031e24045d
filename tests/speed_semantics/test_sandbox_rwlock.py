"""The sandbox's readers-writer lock: reads share it, a write waits for them and holds it alone,
the writer's side stays re-entrant. Events and flags, never timings (waits bounded generously)."""

from __future__ import annotations

import threading

from reconciler_sandbox.rwlock import RWLock

WAIT = 30.0


def test_two_readers_share_and_a_writer_waits_for_both() -> None:
    lock = RWLock()
    inside = threading.Barrier(3, timeout=WAIT)   # both readers inside at once, and the test
    leave = threading.Event()
    order: list[str] = []

    def reader(name: str) -> None:
        with lock.read():
            inside.wait()
            leave.wait(WAIT)
            order.append(name)

    def writer() -> None:
        with lock:
            order.append("writer")

    readers = [threading.Thread(target=reader, args=(n,)) for n in ("r1", "r2")]
    for t in readers:
        t.start()
    inside.wait()                                  # would time out if the readers excluded each other
    w = threading.Thread(target=writer)
    w.start()
    w.join(0.2)
    assert order == []                             # the writer is still waiting for the readers
    leave.set()
    for t in [*readers, w]:
        t.join(WAIT)
    assert sorted(order[:2]) == ["r1", "r2"] and order[2] == "writer"


def test_the_writer_side_is_reentrant_and_may_read() -> None:
    lock = RWLock()
    with lock, lock, lock.read():
        pass
    with lock.read(), lock.read():                 # a reader re-enters
        pass
    done = threading.Event()

    def write() -> None:
        with lock:
            done.set()

    t = threading.Thread(target=write)
    t.start()
    t.join(WAIT)
    assert done.is_set()                           # nothing was left held
