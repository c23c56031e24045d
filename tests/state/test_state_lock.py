"""The state lock between processes: fail fast naming the holder, wait, stale holders (a free flock:
taken over on this host, refused from another), force-unlock."""

from __future__ import annotations

import collections
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
from reconciler.state import lock as lock_module

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


def test_dead_holder_of_this_host_is_taken_over_and_said_so(tmp_path: Path) -> None:
    """A lock file whose flock is free and whose holder ran here is stale: taken over, reported."""
    store = StateStore(tmp_path / "s.json")
    pid = dead_pid()
    data = write_lock(store.lock_path, pid=pid, flock=True)
    told: list[tuple[Path, LockInfo]] = []
    info = lock_module.acquire(store.path, store.lock_path, "plan", on_takeover=lambda p, h: told.append((p, h)))
    try:
        assert len(told) == 1 and told[0][1].id == data["id"] and told[0][1].pid == pid
        current = store.lock_info()
        assert current is not None and current.id == info.id and current.pid == os.getpid() and current.flock
        message = lock_module.takeover_message(store.lock_path, told[0][1])
        assert f"pid {pid}" in message and "3m ago" in message and str(data["id"]) in message and "\n" not in message
    finally:
        lock_module.release(store.lock_path, info)
    assert not store.lock_path.exists()


def test_takeover_is_logged_when_nobody_listens(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = StateStore(tmp_path / "s.json")
    write_lock(store.lock_path, pid=os.getpid(), flock=True)  # even a live pid: the free flock decides
    with caplog.at_level("WARNING", logger="reconciler.state.lock"), store.lock("apply"):
        pass
    assert any("took over a stale state lock" in r.getMessage() for r in caplog.records), caplog.records
    assert not store.lock_path.exists()


def test_lock_of_a_reconciler_without_flock_counts_while_its_pid_lives(tmp_path: Path) -> None:
    """A lock written before locks were flocks: held while its pid lives, taken over once it is gone."""
    store = StateStore(tmp_path / "s.json")
    write_lock(store.lock_path, pid=os.getpid())
    with pytest.raises(StateLockedError, match="If that process is gone"), store.lock("plan"):
        pass
    write_lock(store.lock_path, pid=dead_pid())
    with store.lock("plan") as info:
        assert store.lock_info() == info


def test_holder_on_another_host_is_refused_not_taken_over(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    data = write_lock(store.lock_path, pid=dead_pid(), host="elsewhere.example", flock=True)
    with pytest.raises(StateLockedError) as info, store.lock("plan"):
        pass
    message = str(info.value)
    assert "no longer running" not in message and "another machine (elsewhere.example)" in message
    assert f"reconciler force-unlock {data['id']}" in message
    assert json.loads(store.lock_path.read_text()) == data  # untouched
    store.force_unlock(str(data["id"]))   # what force-unlock is still for
    with store.lock("apply"):
        pass


def test_a_sigkilled_holder_does_not_lock_out_the_next_one(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    child, lock_id = start_holder(path)
    child.kill()
    child.wait()
    store = StateStore(path)
    assert store.lock_info() is not None and store.lock_info().id == lock_id  # type: ignore[union-attr]
    told: list[LockInfo] = []
    info = lock_module.acquire(store.path, store.lock_path, "plan", on_takeover=lambda p, h: told.append(h))
    lock_module.release(store.lock_path, info)
    assert [h.pid for h in told] == [child.pid] and not store.lock_path.exists()


def test_a_live_holder_keeps_its_lock_even_if_its_file_names_a_dead_pid(tmp_path: Path) -> None:
    """The flock decides, not the pid written in the file."""
    path = tmp_path / "s.json"
    child, lock_id = start_holder(path)
    try:
        store = StateStore(path)
        data = json.loads(store.lock_path.read_text())
        data["pid"] = dead_pid()
        store.lock_path.write_text(json.dumps(data))   # in place: same file, flock still held
        with pytest.raises(StateLockedError), store.lock("plan"):
            pass
        assert store.lock_info() is not None and store.lock_info().id == lock_id  # type: ignore[union-attr]
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()


RACER = r"""
import sys
from pathlib import Path
from reconciler.errors import StateLockedError
from reconciler.state import StateStore
try:
    with StateStore(Path(sys.argv[1])).lock("apply"):
        print("got", flush=True)
        sys.stdin.read()
except StateLockedError:
    print("locked", flush=True)
"""


def test_many_processes_taking_over_one_stale_lock_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    outcomes: collections.Counter[str] = collections.Counter()
    for _ in range(3):
        child, _ = start_holder(path)
        child.kill()
        child.wait()
        racers = [subprocess.Popen([sys.executable, "-c", RACER, str(path)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True) for _ in range(6)]
        answers = []
        for racer in racers:
            assert racer.stdout is not None
            answers.append(racer.stdout.readline().strip())
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.close()
            racer.wait()
        assert sorted(answers) == ["got"] + ["locked"] * 5, answers
        outcomes.update(answers)
        assert not (tmp_path / "s.json.lock").exists()
    print(f"\nRELIABILITY stale_lock_takeover_races: {dict(outcomes)}")


def test_abandon_held_locks_removes_only_our_own(tmp_path: Path) -> None:
    mine = StateStore(tmp_path / "a.json")
    theirs = StateStore(tmp_path / "b.json")
    info = lock_module.acquire(mine.path, mine.lock_path, "apply")
    other = write_lock(theirs.lock_path, host="elsewhere.example")
    assert lock_module.abandon_held_locks() == 1
    assert not mine.lock_path.exists() and json.loads(theirs.lock_path.read_text()) == other
    lock_module.release(mine.lock_path, info)   # later release: nothing left to do, no error


def test_a_lock_cut_short_while_taken_is_still_released(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signal's exception just after the lock file appeared (before `hold` got it back)."""
    store = StateStore(tmp_path / "s.json")

    def interrupted(*args: object) -> None:
        assert store.lock_path.exists()
        raise KeyboardInterrupt

    monkeypatch.setattr(lock_module, "_register", interrupted)
    with pytest.raises(KeyboardInterrupt), store.lock("apply"):
        pass
    assert not store.lock_path.exists()


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
