"""StateStore: load/write, atomicity, backup, 0600, serial and lineage rules, damaged files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.errors import StateError
from reconciler.state import ResourceState, State, StateStore, new_state


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def job(i: int) -> ResourceState:
    return ResourceState(f"FineTuningJob.j{i}", "FineTuningJob", f"ftjob-{i}", {"model": "m", "n": i},
                         f"digest{i}", {"status": "running"}, ["File.f"])


def test_missing_file_gives_new_state_without_writing(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state" / "default.json")
    assert not store.exists()
    state = store.load()
    assert state.serial == 0 and state.resources == {}
    assert not (tmp_path / "state").exists()


def test_write_creates_dir_bumps_serial_keeps_lineage_0600(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state" / "default.json"
    store = StateStore(path)
    state = store.load()
    lineage = state.lineage
    state.set(job(1))
    store.write(state)
    assert state.serial == 1
    assert mode(path) == 0o600
    assert not store.backup_path.exists()  # nothing to back up on the first write

    again = StateStore(path)
    loaded = again.load()
    assert loaded.serial == 1 and loaded.lineage == lineage and loaded == state
    loaded.set(job(2))
    again.write(loaded)
    assert loaded.serial == 2 and loaded.lineage == lineage
    assert mode(path) == 0o600 and mode(again.backup_path) == 0o600
    assert again.load_backup().serial == 1
    assert StateStore(path).load().addresses() == ["FineTuningJob.j1", "FineTuningJob.j2"]
    # no temp files left behind
    assert sorted(p.name for p in path.parent.iterdir()) == ["default.json", "default.json.backup"]


def test_backup_is_the_state_before_this_stores_first_write(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    StateStore(path).write(new_state())  # serial 1
    store = StateStore(path)
    state = store.load()
    store.write(state)  # 2: backup = 1
    store.write(state)  # 3: backup still 1 (the state before this run)
    assert store.load_backup().serial == 1
    assert StateStore(path).load().serial == 3


def test_write_refuses_another_lineage_and_a_newer_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    store = StateStore(path)
    state = store.load()
    store.write(state)
    with pytest.raises(StateError, match="another state"):
        store.write(new_state())
    other = StateStore(path)
    older = other.load()
    store.write(state)  # serial 2 on disk
    with pytest.raises(StateError, match="changed since it was read"):
        other.write(older)
    assert StateStore(path).load().serial == 2


def test_write_without_load_refuses_to_overwrite_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(b"{not json")
    with pytest.raises(StateError, match="not valid JSON"):
        StateStore(path).write(new_state())
    assert path.read_bytes() == b"{not json"


DAMAGED = {
    "corrupt": b'{"format_version": 1, "lineage": "x", "serial": 3, "resources": {oops}}',
    "truncated": None,  # filled in from a real state below
    "empty": b"",
    "wrong_shape": b'{"hello": "world"}',
    "binary": b"\x00\xff\xfe garbage",
    "newer_format": b'{"format_version": 7, "lineage": "x", "serial": 3, "reconciler_version": "9.0.0", '
                    b'"resources": {}}',
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_file_is_a_clear_error_and_never_touched(tmp_path: Path, case: str) -> None:
    path = tmp_path / "s.json"
    content = DAMAGED[case]
    if content is None:
        state = new_state()
        for i in range(50):
            state.set(job(i))
        full = state.to_json().encode()
        content = full[: len(full) * 2 // 3]
    path.write_bytes(content)
    os.chmod(path, 0o600)
    store = StateStore(path)
    with pytest.raises(StateError) as info:
        store.load()
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    if case == "newer_format":
        assert "format_version 7" in message and "upgrade" in message
    if case == "truncated":
        assert "truncated" in message
    # A later write in the same run must not replace it, nor may a journal be opened on it.
    with pytest.raises(StateError, match="refusing"):
        store.write(new_state())
    with pytest.raises(StateError, match="refusing"):
        store.open_journal(new_state())
    assert path.read_bytes() == content
    assert not store.backup_path.exists()


def test_failed_replace_leaves_old_state_and_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.json"
    store = StateStore(path)
    state = store.load()
    state.set(job(1))
    store.write(state)
    before = path.read_bytes()

    real_replace = os.replace

    def broken_replace(src: object, dst: object) -> None:
        if Path(str(dst)) == path:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)  # type: ignore[arg-type]

    state.set(job(2))
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StateError, match="No space left"):
        store.write(state)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert state.serial == 1  # not bumped by the failed write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.json.backup"]
    store.write(state)  # and the next write works
    assert StateStore(path).load().serial == 2


WRITER = r"""
import sys
from pathlib import Path
from reconciler.state import StateStore, ResourceState
store = StateStore(Path(sys.argv[1]))
state = store.load()
i = 0
while True:
    i += 1
    for k in range(300):
        state.set(ResourceState(f"FineTuningJob.j{k}", "FineTuningJob", f"ftjob-{k}",
                                {"round": i, "pad": "x" * 200}, str(i), {"round": i}))
    store.write(state)
    sys.stdout.write(f"{state.serial}\n"); sys.stdout.flush()
"""


def test_killing_a_writer_at_random_moments_never_leaves_a_half_written_state(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    import random

    rng = random.Random(1234)
    kills = 20
    mid_write = 0
    for _ in range(kills):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        child.stdout.readline()  # at least one write done
        time.sleep(rng.uniform(0.0, 0.15))
        child.kill()
        child.wait()
        state = StateStore(path).load()  # must never raise
        assert state.serial >= 1
        rounds = {r.inputs["round"] for r in state.resources.values()}
        assert len(rounds) == 1  # one whole version, never a mix
        backup = StateStore(path).load_backup() if (tmp_path / "s.json.backup").exists() else None
        if backup is not None:
            assert backup.lineage == state.lineage
        leftovers = list(tmp_path.glob(".s.json.tmp-*"))
        mid_write += bool(leftovers)
        for leftover in leftovers:
            leftover.unlink()  # a killed writer may leave its temp file; it is never read
    final = StateStore(path).load()
    assert final.serial >= kills
    # Typically a third to most kills land inside a write (temp file there, not yet renamed): the
    # case that matters. The deterministic version of it is the next test.
    assert mid_write >= 1, mid_write


CRASH_BEFORE_RENAME = r"""
import os, signal, sys
from pathlib import Path
from reconciler.state import StateStore, ResourceState
path = Path(sys.argv[1])
store = StateStore(path)
state = store.load()
state.set(ResourceState("File.new", "File", "file-new"))
real_replace = os.replace
def dying_replace(src, dst):
    if Path(dst) == path:
        os.kill(os.getpid(), signal.SIGKILL)  # the temp file is complete and fsync'd: die now
    real_replace(src, dst)
os.replace = dying_replace
store.write(state)
"""


def test_crash_between_temp_write_and_rename_keeps_the_old_state(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    store = StateStore(path)
    state = store.load()
    state.set(job(1))
    store.write(state)
    before = path.read_bytes()
    result = subprocess.run([sys.executable, "-c", CRASH_BEFORE_RENAME, str(path)], check=False)
    assert result.returncode == -9
    assert path.read_bytes() == before
    loaded = StateStore(path).load()
    assert loaded.serial == 1 and "File.new" not in loaded.resources
    assert StateStore(path).load_backup().serial == 1  # the backup was taken before the rename
    assert len(list(tmp_path.glob(".s.json.tmp-*"))) == 1  # the orphaned temp file is ignored...
    again = StateStore(path)
    again.write(again.load())
    assert list(tmp_path.glob(".s.json.tmp-*")) == []  # ...and cleared by the next write


def test_writing_10000_resources_is_cheap(tmp_path: Path) -> None:
    # Not a benchmark (bench/ has those): a guard against accidental quadratic behaviour.
    store = StateStore(tmp_path / "s.json")
    state = store.load()
    for i in range(10_000):
        state.set(job(i))
    started = time.perf_counter()
    store.write(state)
    store.write(state)
    elapsed = time.perf_counter() - started
    assert elapsed < 10.0
    assert len(StateStore(tmp_path / "s.json").load()) == 10_000


def test_directory_in_place_of_state_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "s.json").mkdir()
    with pytest.raises(StateError, match="directory"):
        StateStore(tmp_path / "s.json").load()


def test_state_to_json_is_what_is_on_disk(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    state = store.load()
    state.set(job(3))
    store.write(state)
    assert State.from_json((tmp_path / "s.json").read_text()) == state
