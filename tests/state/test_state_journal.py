"""The journal: per-action persistence, replay after a crash, folding into the next write."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reconciler.errors import StateError
from reconciler.state import ResourceState, StateStore


def res(name: str, rid: str = "id", **attrs: object) -> ResourceState:
    return ResourceState(f"FineTuningJob.{name}", "FineTuningJob", rid, {"model": "m"}, "d", dict(attrs))


def written_store(tmp_path: Path) -> tuple[StateStore, Path]:
    path = tmp_path / "s.json"
    store = StateStore(path)
    state = store.load()
    state.set(res("keep"))
    state.set(res("gone"))
    store.write(state)
    return store, path


def test_replay_applies_entries_in_order_and_reports_it(tmp_path: Path) -> None:
    store, path = written_store(tmp_path)
    state = store.load()
    journal = store.open_journal(state)
    journal.record("FineTuningJob.new", res("new", "ftjob-1", status="queued"))
    journal.record("FineTuningJob.new", res("new", "ftjob-1", status="running"))
    journal.record("FineTuningJob.gone", None)
    assert journal.count == 3
    mode = stat.S_IMODE(os.stat(store.journal_path).st_mode)
    assert mode == 0o600
    # simulate a crash: no write; a new process loads
    recovered = StateStore(path).load()
    assert recovered.recovered_from_journal == 3
    assert recovered.addresses() == ["FineTuningJob.keep", "FineTuningJob.new"]
    assert recovered.resources["FineTuningJob.new"].attributes == {"status": "running"}
    assert recovered.serial == 1  # not written yet


def test_write_folds_in_and_removes_the_journal(tmp_path: Path) -> None:
    _, path = written_store(tmp_path)
    store = StateStore(path)
    state = store.load()
    journal = store.open_journal(state)
    journal.record("FineTuningJob.new", res("new"))
    assert StateStore(path).load().recovered_from_journal == 1  # loading alone folds nothing in
    assert store.journal_path.exists()
    second = StateStore(path)
    recovered = second.load()
    second.write(recovered)
    assert not second.journal_path.exists()
    final = StateStore(path).load()
    assert final.recovered_from_journal == 0 and "FineTuningJob.new" in final.resources
    assert final.serial == 2


def test_records_after_a_write_are_based_on_the_new_serial(tmp_path: Path) -> None:
    store, path = written_store(tmp_path)
    state = store.load()
    journal = store.open_journal(state)
    first = res("a")
    journal.record(first.address, first)
    state.set(first)
    store.write(state)  # folds "a" in, journal restarts on serial 2
    assert not store.journal_path.exists()
    second = res("b")
    journal.record(second.address, second)
    line = json.loads(store.journal_path.read_text().splitlines()[0])
    assert line["serial"] == 2 and line["lineage"] == state.lineage
    recovered = StateStore(path).load()
    assert recovered.recovered_from_journal == 1
    assert {"FineTuningJob.a", "FineTuningJob.b"} <= set(recovered.resources)


def test_torn_last_line_is_ignored_and_cut_before_appending(tmp_path: Path) -> None:
    store, path = written_store(tmp_path)
    state = store.load()
    journal = store.open_journal(state)
    journal.record("FineTuningJob.a", res("a"))
    journal.close()
    with open(store.journal_path, "ab") as fh:
        fh.write(b'{"v":1,"address":"FineTuningJob.b","resource":{"kind":"FineTu')
    again = StateStore(path)
    recovered = again.load()
    assert recovered.recovered_from_journal == 1
    assert "FineTuningJob.b" not in recovered.resources
    journal = again.open_journal(recovered)  # continues the same journal, torn tail removed
    journal.record("FineTuningJob.c", res("c"))
    lines = store.journal_path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(line) for line in lines[:-1])
    final = StateStore(path).load()
    assert final.recovered_from_journal == 2
    assert {"FineTuningJob.a", "FineTuningJob.c"} <= set(final.resources)


def test_damaged_middle_line_is_an_error_and_nothing_is_touched(tmp_path: Path) -> None:
    store, path = written_store(tmp_path)
    state = store.load()
    journal = store.open_journal(state)
    journal.record("FineTuningJob.a", res("a"))
    journal.close()
    content = b"garbage\n" + store.journal_path.read_bytes()
    store.journal_path.write_bytes(content)
    before = path.read_bytes()
    broken = StateStore(path)
    with pytest.raises(StateError, match="journal is damaged"):
        broken.load()
    with pytest.raises(StateError, match=r"refusing to write: .*the journal is damaged"):
        broken.write(state)
    assert store.journal_path.read_bytes() == content and path.read_bytes() == before


def test_journal_of_another_lineage_is_an_error(tmp_path: Path) -> None:
    store, path = written_store(tmp_path)
    state = store.load()
    line = {"v": 1, "lineage": "someone-else", "serial": state.serial, "seq": 1,
            "address": "FineTuningJob.x", "resource": None}
    content = (json.dumps(line) + "\n").encode()
    store.journal_path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(StateError, match="another state"):
        StateStore(path).load()
    assert store.journal_path.read_bytes() == content and path.read_bytes() == before


def test_stale_journal_already_folded_in_is_ignored(tmp_path: Path) -> None:
    # A crash between replacing the state and removing the journal.
    store, path = written_store(tmp_path)
    state = store.load()
    line = {"v": 1, "lineage": state.lineage, "serial": state.serial - 1, "seq": 1,
            "address": "FineTuningJob.keep", "resource": None}
    store.journal_path.write_text(json.dumps(line) + "\n")
    loaded = StateStore(path).load()
    assert loaded.recovered_from_journal == 0 and "FineTuningJob.keep" in loaded.resources


def test_journal_on_a_never_written_state_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "s.json"
    store = StateStore(path)
    state = store.load()
    journal = store.open_journal(state)  # creates the folder
    journal.record("File.f", ResourceState("File.f", "File", "file-1"))
    recovered = StateStore(path).load()
    assert recovered.lineage == state.lineage and recovered.recovered_from_journal == 1


def test_parallel_records_are_all_persisted_as_whole_lines(tmp_path: Path) -> None:
    store, path = written_store(tmp_path)
    state = store.load()
    journal = store.open_journal(state)

    def worker(n: int) -> None:
        for i in range(25):
            journal.record(f"FineTuningJob.w{n}_{i}", res(f"w{n}_{i}", pad="x" * 2000))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert journal.count == 200
    recovered = StateStore(path).load()
    assert recovered.recovered_from_journal == 200
    assert len(recovered.resources) == 202


KILLED = r"""
import sys
from pathlib import Path
from reconciler.state import StateStore, ResourceState
store = StateStore(Path(sys.argv[1]))
state = store.load()
journal = store.open_journal(state)
for i in range(5):
    journal.record(f"File.f{i}", ResourceState(f"File.f{i}", "File", f"file-{i}"))
import os
os._exit(9)  # crash: no write, no cleanup
"""


def test_a_crashed_process_loses_no_recorded_action(tmp_path: Path) -> None:
    _, path = written_store(tmp_path)
    result = subprocess.run([sys.executable, "-c", KILLED, str(path)])
    assert result.returncode == 9
    recovered = StateStore(path).load()
    assert recovered.recovered_from_journal == 5
    assert {f"File.f{i}" for i in range(5)} <= set(recovered.resources)


def test_a_write_through_another_store_instance_rebases_the_open_journal(tmp_path: Path) -> None:
    store, path = written_store(tmp_path)
    state = store.load()
    journal = store.open_journal(state)
    first = res("a")
    state.set(first)
    journal.record(first.address, first)
    StateStore(path).write(state)  # e.g. the CLI built a second store for the same file
    second = res("b")
    state.set(second)
    journal.record(second.address, second)  # must land in a live journal on the new serial
    recovered = StateStore(path).load()
    assert recovered.recovered_from_journal == 1
    assert {"FineTuningJob.a", "FineTuningJob.b"} <= set(recovered.resources)
