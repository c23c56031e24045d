"""Whatever bytes are in the state file, load() either succeeds or raises StateError."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import StateError
from reconciler.state import State, StateStore, new_state

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)

NEAR_STATE = st.fixed_dictionaries(
    {},
    optional={
        "format_version": st.one_of(st.integers(-2, 3), st.text(max_size=3), st.booleans(), st.none()),
        "lineage": st.one_of(st.text(max_size=10), st.integers(), st.none()),
        "serial": st.one_of(st.integers(-3, 10), st.floats(allow_nan=False), st.text(max_size=3)),
        "reconciler_version": st.one_of(st.text(max_size=5), st.integers()),
        "resources": st.one_of(JSON, st.dictionaries(st.text(max_size=6), st.fixed_dictionaries(
            {}, optional={"kind": JSON, "id": JSON, "inputs": JSON, "digest": JSON, "attributes": JSON,
                          "depends_on": JSON, "meta": JSON}), max_size=3)),
    },
)

# NEAR_STATE almost never loads (format_version is usually missing or wrong), so the "what loads round
# trips" half of check() needs states that do load: a valid header, fuzzed resources of valid shape.
PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
OBJECTS = st.dictionaries(st.text(max_size=6), PLAIN, max_size=3)
LOADABLE = st.fixed_dictionaries(
    {"format_version": st.just(1), "lineage": st.text(min_size=1, max_size=10), "serial": st.integers(0, 10)},
    optional={
        "reconciler_version": st.text(max_size=5),
        "resources": st.dictionaries(
            st.text(min_size=1, max_size=6),
            st.fixed_dictionaries(
                {"kind": st.sampled_from(["File", "FineTuningJob", "CheckpointPermission"])},
                optional={"id": st.text(max_size=8), "inputs": OBJECTS, "digest": st.text(max_size=8),
                          "attributes": OBJECTS, "depends_on": st.lists(st.text(max_size=8), max_size=3),
                          "meta": OBJECTS}),
            max_size=3),
    },
)


def check(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.json"
        path.write_bytes(content)
        store = StateStore(path)
        try:
            state = store.load()
        except StateError as exc:
            assert "\n" not in str(exc)
            try:
                store.write(new_state())
            except StateError:
                pass
            else:
                raise AssertionError("wrote over a file that could not be loaded")
            assert path.read_bytes() == content
            return
        assert isinstance(state, State)
        assert State.from_json(state.to_json()) == state  # what loads can be written and read back


@pytest.mark.parametrize(("version", "shown"), [
    ("9.0\nx", "'9.0\\nx'"),
    ("9.0\r\n", "'9.0\\r\\n'"),
    ("9.0\u2028x", "'9.0\\u2028x'"),
    (3, "3"),
    (["9", "\n"], "['9', '\\n']"),
    ("x" * 500, "'" + "x" * 56 + "..."),
    ("9.1.0", "9.1.0"),  # a plain version reads as written
])
def test_newer_format_error_is_one_line_whatever_the_version(tmp_path: Path, version: object, shown: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format_version": 2, "lineage": "l", "serial": 1, "reconciler_version": version}))
    with pytest.raises(StateError, match="format_version 2 is newer than this reconciler supports") as info:
        StateStore(path).load()
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert f"written by reconciler {shown}: upgrade reconciler" in message
    assert path.read_text() == json.dumps({"format_version": 2, "lineage": "l", "serial": 1,
                                           "reconciler_version": version})  # never overwritten


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(content: bytes) -> None:
    check(content)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(JSON)
def test_random_json(value: object) -> None:
    check(json.dumps(value).encode())


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(NEAR_STATE)
def test_almost_states(value: dict[str, object]) -> None:
    check(json.dumps(value).encode())


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(LOADABLE)
def test_loadable_states_round_trip_and_write(value: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.json"
        path.write_text(json.dumps(value))
        store = StateStore(path)
        state = store.load()  # a valid header and well-shaped resources always load
        assert State.from_json(state.to_json()) == state
        store.write(state)
        again = StateStore(path).load()
        assert again.resources == state.resources and again.serial == value["serial"] + 1
