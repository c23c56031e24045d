"""SIGINT and SIGTERM are answered within a second in every state of a run, including while a
server trickles one byte every 20 seconds (no read ever times out, and the request's deadline is
minutes away). Real CLI subprocesses, a real server over a real socket (tests/reliability/
test_hostile_api.py's), real signals; the moment to signal is when the server holds the request
(an event it sets), never a sleep. Figures: seconds from the signal to the exit."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.executor import IN_FLIGHT_GRACE
from reconciler.state import StateStore

from .helpers import report
from .test_hostile_api import ADDRESSES, JOBS, Handler, _listing, hostile, jobs_per_address, workspace

TRICKLE_EVERY = 20.0  # seconds between two bytes of the answer
BOUND = 1.0  # seconds from the signal to the exit


def trickler(where: str, held: threading.Event, when: Any = _listing) -> Any:
    """An interceptor that answers `when`'s requests one byte every TRICKLE_EVERY seconds, the
    headers (`where="headers"`) or a body that says it is 100,000 bytes long."""

    def intercept(h: Handler) -> bool:
        if not when(h):
            return False
        head = b"HTTP/1.0 200 OK\r\n"
        if where == "body":
            head += b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        h.wfile.write(head)
        h.wfile.flush()
        held.set()
        while not h.server.stopped.wait(TRICKLE_EVERY):
            h.wfile.write(b" " if where == "body" else b"x")
            h.wfile.flush()
        return True

    return intercept


def signalled(proc: subprocess.Popen[str], held: threading.Event, signum: int) -> tuple[float, str]:
    """Once the server holds the request: the signal, then (seconds to the exit, stderr)."""
    assert held.wait(120), "the request never reached the server"
    assert proc.poll() is None
    sent = time.monotonic()
    os.kill(proc.pid, signum)
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    seconds = time.monotonic() - sent
    _, err = proc.communicate(timeout=30)
    return seconds, err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("where", ["headers", "body"])
@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve"), ("drift",)], ids=lambda c: c[0])
def test_a_signal_during_a_trickling_read_exits_at_once(sandbox: Any, tmp_path: Path, command: tuple[str, ...],
                                                         where: str, signum: int) -> None:
    held = threading.Event()
    with hostile(sandbox, trickler(where, held)) as server:
        cli = workspace(tmp_path, server.base_url)
        seconds, err = signalled(cli.popen(*command), held, signum)
        assert server.requests[f"GET {JOBS}"] == 1
    name = signal.Signals(signum).name
    assert err.strip().splitlines()[-1] == f"Interrupted ({name}): no changes were made; the state lock is released.", err
    assert "Traceback" not in err
    assert not cli.state_file.with_name(cli.state_file.name + ".lock").exists()
    assert seconds < BOUND, f"exit {seconds:.2f} s after {name}"
    report(f"signal_trickle_{command[0]}_{where}_{name}", {"seconds_to_exit": round(seconds, 3)})


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_a_create_is_held_in_flight_exits_after_the_grace(sandbox: Any, tmp_path: Path,
                                                                          signum: int) -> None:
    """The first job create is made upstream, then its answer trickles: the signal stops the apply
    at once (nothing new starts), the held create is waited for IN_FLIGHT_GRACE seconds and then
    left unrecorded; the state is written and the lock released. The next apply adopts the job
    the held create made: no address ever owns two jobs."""
    held = threading.Event()
    first = threading.Lock()

    def intercept(h: Handler) -> bool:
        if not (h.command == "POST" and h.route == JOBS) or not first.acquire(blocking=False):
            return False
        h.forward()   # the job exists upstream; its answer never completes
        h.wfile.write(b"HTTP/1.0 200 OK\r\n")
        h.wfile.flush()
        held.set()
        while not h.server.stopped.wait(TRICKLE_EVERY):
            h.wfile.write(b"x")
            h.wfile.flush()
        return True

    with hostile(sandbox, intercept) as server:
        cli = workspace(tmp_path, server.base_url)
        seconds, err = signalled(cli.popen("apply", "--auto-approve", "--parallelism", "1"), held, signum)
        name = signal.Signals(signum).name
        line = err.strip().splitlines()[-1]
        assert line.startswith(f"Interrupted ({name}): ") and "1 still in flight left unrecorded (FineTuningJob." in line, err
        assert "Traceback" not in err
        store = StateStore(cli.state_file)
        assert not store.lock_path.exists() and not store.journal_path.exists()
        assert seconds < IN_FLIGHT_GRACE + BOUND, f"exit {seconds:.2f} s after {name}"
        server.stopped.set()
    cli = workspace(tmp_path, sandbox.base_url)
    cli.converge()
    assert jobs_per_address(sandbox) == {a: 1 for a in ADDRESSES}
    report(f"signal_create_held_in_flight_{name}", {"seconds_to_exit": round(seconds, 3),
                                                     "grace": IN_FLIGHT_GRACE, "duplicates": 0})


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_waiting_for_the_state_lock_exits_at_once(sandbox: Any, tmp_path: Path, signum: int) -> None:
    from .test_signals import Watched

    cli = workspace(tmp_path, sandbox.base_url)
    cli.state_file.parent.mkdir(parents=True, exist_ok=True)
    with StateStore(cli.state_file).lock("apply"):   # another run holds it
        run = Watched(cli.popen("plan", "--lock-timeout", "5m"))
        run.wait_for(r"Waiting for the state lock held by", "err")
        sent = time.monotonic()
        os.kill(run.proc.pid, signum)
        code = run.finish(timeout=60)
        seconds = time.monotonic() - sent
    name = signal.Signals(signum).name
    assert code == 128 + signum, run.text()
    assert run.err.strip().splitlines()[-1] == \
        f"Interrupted ({name}): no changes were made; the state lock is released.", run.err
    assert seconds < BOUND, f"exit {seconds:.2f} s after {name}"
    report(f"signal_lock_wait_{name}", {"seconds_to_exit": round(seconds, 3)})
