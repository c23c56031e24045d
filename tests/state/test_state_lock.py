"""The state lock between processes: fail fast naming the holder, wait, stale holders, force-unlock."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.errors import StateError, StateLockedError
from reconciler.state import LockInfo, StateStore

HOLDER = r"""
import sys, time
from pathlib import Path
from reconciler.state import StateStore
store = StateStore(Path(sys.argv[1]))
with store.lock("apply") as info:
    print(info.id, flush=True)
    hold = float(sys.argv[2])
    if hold < 0:
        sys.stdin.read()
    else:
        time.sleep(hold)
"""


def start_holder(path: Path, hold: float = -1) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(hold)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    lock_id = child.stdout.readline().strip()
    assert lock_id
    return child, lock_id


def test_lock_file_content_and_release(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state" / "s.json")
    with store.lock("plan") as info:
        data = json.loads(store.lock_path.read_text())
        assert data["id"] == info.id and data["operation"] == "plan" and data["pid"] == os.getpid()
        assert data["host"] == socket.gethostname() and "@" in data["who"]
        assert data["created"].endswith("Z") and data["version"]
        assert oct(os.stat(store.lock_path).st_mode & 0o777) == "0o600"
    assert not store.lock_path.exists()


def test_lock_is_released_on_error(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    with pytest.raises(RuntimeError, match="boom"), store.lock("apply"):
        raise RuntimeError("boom")
    assert not store.lock_path.exists()


def test_second_process_fails_fast_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    child, lock_id = start_holder(path)
    try:
        started = time.monotonic()
        with pytest.raises(StateLockedError) as info, StateStore(path).lock("plan"):
            pass
        assert time.monotonic() - started < 2
        message = str(info.value)
        assert f"pid {child.pid}" in message and "operation apply" in message
        assert f"lock id {lock_id}" in message and f"reconciler force-unlock {lock_id}" in message
        assert "@" in message and "ago" in message and "\n" not in message
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
    assert not (tmp_path / "s.json.lock").exists()


def test_waiting_gets_the_lock_when_the_holder_releases(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    child, lock_id = start_holder(path, hold=0.6)
    told: list[LockInfo] = []
    try:
        with StateStore(path).lock("apply", wait=20, on_wait=told.append) as info:
            assert info.id != lock_id
    finally:
        child.wait()
    assert len(told) == 1 and told[0].id == lock_id and told[0].pid == child.pid


def test_waiting_gives_up_at_the_deadline(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    child, _ = start_holder(path)
    try:
        started = time.monotonic()
        with pytest.raises(StateLockedError), StateStore(path).lock("apply", wait=0.5):
            pass
        assert 0.45 <= time.monotonic() - started < 3
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_lock(path: Path, **fields: object) -> dict[str, object]:
    created = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3, seconds=5)).replace(microsecond=0)
    data: dict[str, object] = {"id": "5f3c0000-aaaa-bbbb-cccc-000000000001", "operation": "apply",
                               "who": "alice@ci", "pid": 4242, "host": socket.gethostname(),
                               "created": created.isoformat().replace("+00:00", "Z"), "version": "0.1.0"}
    data.update(fields)
    path.write_text(json.dumps(data))
    return data


def test_dead_holder_is_reported_but_not_removed(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    pid = dead_pid()
    data = write_lock(store.lock_path, pid=pid)
    with pytest.raises(StateLockedError) as info, store.lock("plan"):
        pass
    message = str(info.value)
    assert "no longer running" in message and f"pid {pid}" in message and "3m ago" in message
    assert f"reconciler force-unlock {data['id']}" in message
    assert store.lock_path.exists()


def test_holder_on_another_host_is_not_called_dead(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    write_lock(store.lock_path, pid=dead_pid(), host="elsewhere.example")
    with pytest.raises(StateLockedError) as info, store.lock("plan"):
        pass
    assert "no longer running" not in str(info.value) and "If that process is gone" in str(info.value)


def test_unreadable_lock_file_still_counts_as_held(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    store.lock_path.write_text("")
    with pytest.raises(StateLockedError, match=r"delete .*s\.json\.lock"), store.lock("plan"):
        pass


def test_force_unlock_needs_the_right_id(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    data = write_lock(store.lock_path)
    with pytest.raises(StateError, match="does not match"):
        store.force_unlock("wrong-id")
    assert store.lock_path.exists()
    removed = store.force_unlock(str(data["id"]))
    assert removed.who == "alice@ci"
    assert not store.lock_path.exists()
    with pytest.raises(StateError, match="not locked"):
        store.force_unlock(str(data["id"]))
    with store.lock("apply"):  # usable again
        pass


def test_a_force_unlocked_holder_does_not_remove_the_next_lock(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    second_lock = StateStore(tmp_path / "s.json").lock("plan")
    with store.lock("apply") as first:
        store.force_unlock(first.id)
        second = second_lock.__enter__()
    # leaving the first holder's block must not delete the second holder's lock
    current = store.lock_info()
    assert current is not None and current.id == second.id
    second_lock.__exit__(None, None, None)
    assert not store.lock_path.exists()
