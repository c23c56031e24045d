"""The pg state backend against a real throw-away PostgreSQL (tests/pgcluster.py): writes with
serial/lineage checks, every version kept, the journal replayed, the lock naming its holder and
freed when the holder's session ends."""

from __future__ import annotations

import pytest

from reconciler.errors import StateError, StateLockedError
from reconciler.state import ResourceState, new_state
from reconciler.state.pg import PgStateStore
from tests.pgcluster import fresh_schema


def _resource(address: str, rid: str) -> ResourceState:
    return ResourceState.from_dict(address, {"kind": address.split(".")[0], "id": rid, "inputs": {},
                                             "digest": "d", "attributes": {}, "depends_on": []})


@pytest.fixture
def store(pg_conninfo: str) -> PgStateStore:
    return PgStateStore(pg_conninfo, fresh_schema(), "default")


def test_new_workspace_is_empty_then_written_with_serial_one(store: PgStateStore) -> None:
    assert not store.exists()
    state = store.load()
    assert state.serial == 0 and not state.resources
    state.resources["File.a"] = _resource("File.a", "file-1")
    store.write(state)
    assert state.serial == 1 and store.exists()
    again = store.load()
    assert (again.lineage, again.serial, again.resources["File.a"].id) == (state.lineage, 1, "file-1")


def test_stale_writer_is_refused(pg_conninfo: str) -> None:
    schema = fresh_schema()
    first, second = PgStateStore(pg_conninfo, schema, "w"), PgStateStore(pg_conninfo, schema, "w")
    first.write(first.load())
    a, b = first.load(), second.load()
    first.write(a)
    with pytest.raises(StateError, match=r"was changed since it was read \(serial 2 in the database, 1 in memory\)"):
        second.write(b)
    other = new_state()
    with pytest.raises(StateError, match="holds another state"):
        second.write(other)


def test_every_version_is_kept(store: PgStateStore) -> None:
    state = store.load()
    for i in range(3):
        state.resources[f"File.f{i}"] = _resource(f"File.f{i}", f"file-{i}")
        store.write(state)
    assert [h.serial for h in store.history()] == [1, 2, 3]
    assert [h.resources for h in store.history()] == [1, 2, 3]
    assert sorted(store.load_serial(2).resources) == ["File.f0", "File.f1"]
    with pytest.raises(StateError, match="no version with serial 9"):
        store.load_serial(9)


def test_journal_rows_are_replayed_then_folded_in(store: PgStateStore) -> None:
    state = store.load()
    journal = store.open_journal(state)
    journal.begin()
    journal.record("File.a", _resource("File.a", "file-a"))
    journal.record("File.b", _resource("File.b", "file-b"))
    journal.record("File.b", None)
    journal.close()  # the run died here
    recovered = store.load()
    assert recovered.lineage == state.lineage and recovered.recovered_from_journal == 3
    assert sorted(recovered.resources) == ["File.a"]
    store.write(recovered)
    assert store.load().recovered_from_journal == 0


def test_lock_names_its_holder_and_is_freed_with_the_session(pg_conninfo: str) -> None:
    schema = fresh_schema()
    holder, other = PgStateStore(pg_conninfo, schema, "w"), PgStateStore(pg_conninfo, schema, "w")
    with holder.lock("apply") as info:
        with pytest.raises(StateLockedError) as raised, other.lock("plan"):
            pass
        assert f"lock id {info.id}" in str(raised.value) and "operation apply" in str(raised.value)
        assert other.lock_info() == info
    assert other.lock_info() is None
    with other.lock("plan"):
        pass


def test_force_unlock_ends_the_holders_session(pg_conninfo: str) -> None:
    schema = fresh_schema()
    holder, other = PgStateStore(pg_conninfo, schema, "w"), PgStateStore(pg_conninfo, schema, "w")
    lock = holder.lock("apply")
    info = lock.__enter__()
    with pytest.raises(StateError, match="does not match"):
        other.force_unlock("nope")
    assert other.force_unlock(info.id).id == info.id
    with other.lock("plan", wait=30):
        pass
    with pytest.raises(StateError, match="lock was lost"):
        holder.write(holder.load())


def test_workspaces_are_separate(pg_conninfo: str) -> None:
    schema = fresh_schema()
    a, b = PgStateStore(pg_conninfo, schema, "a"), PgStateStore(pg_conninfo, schema, "b")
    a.write(a.load())
    b.create_workspace("b")
    assert a.workspaces() == ["a", "b", "default"]
    assert not b.exists()
    a.delete_workspace()
    assert a.workspaces() == ["b", "default"]


class _Finding:
    def __init__(self, key: str):
        self._key = key

    def key(self) -> str:
        return self._key

    def to_dict(self) -> dict[str, str]:
        return {"address": self._key}


class _Report:
    generated_at = "2026-01-01T00:00:00Z"

    def __init__(self, *keys: str):
        self.findings = [_Finding(k) for k in keys]

    def active(self) -> list[_Finding]:
        return self.findings


def test_drift_memory_lives_in_the_backend(store: PgStateStore, tmp_path: object) -> None:
    """`drift --notify` fires on what is new since the last run: on pg the memory is a row, so a
    fresh CI runner (no state folder) still knows what the last run saw."""
    from pathlib import Path

    from reconciler.drift.notify import delta_since_last_run, remember

    nowhere = Path(str(tmp_path)) / "state" / "default.json"
    first = delta_since_last_run(_Report("a"), nowhere, store)  # type: ignore[arg-type]
    assert [f["address"] for f in first.new] == ["a"]
    remember(_Report("a"), nowhere, store)  # type: ignore[arg-type]
    again = delta_since_last_run(_Report("a", "b"), nowhere, store)  # type: ignore[arg-type]
    assert [f["address"] for f in again.new] == ["b"] and not again.resolved
    assert not nowhere.parent.exists()
