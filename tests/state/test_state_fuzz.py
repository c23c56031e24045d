"""Whatever bytes are in the state file, load() either succeeds or raises StateError."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

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
        State.from_json(state.to_json())  # what loads can be written and read back


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
