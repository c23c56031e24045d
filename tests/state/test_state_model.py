"""State / ResourceState JSON round trip and strict parsing."""

from __future__ import annotations

import json
import uuid

import pytest

from reconciler import __version__
from reconciler.errors import StateError
from reconciler.state import FORMAT_VERSION, ResourceState, State, new_state


def sample() -> State:
    state = new_state()
    state.set(ResourceState("File.train", "File", "file-1", {"path": "a.jsonl"}, "d1",
                            {"bytes": 10}, [], {}))
    state.set(ResourceState("FineTuningJob.bot", "FineTuningJob", "ftjob-1", {"model": "m"}, "d2",
                            {"status": "running"}, ["File.train"], {"pending": "waiting for model"}))
    return state


def test_new_state_has_fresh_lineage_and_serial_zero() -> None:
    a, b = new_state(), new_state()
    assert a.serial == 0 and a.format_version == FORMAT_VERSION and a.reconciler_version == __version__
    assert uuid.UUID(a.lineage).version == 4
    assert a.lineage != b.lineage
    assert a.resources == {}


def test_round_trip_is_exact_and_sorted() -> None:
    state = sample()
    text = state.to_json()
    back = State.from_json(text)
    assert back == state
    assert back.resources["FineTuningJob.bot"].meta == {"pending": "waiting for model"}
    assert back.resources["FineTuningJob.bot"].depends_on == ["File.train"]
    assert text == back.to_json()  # stable
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert "meta" not in data["resources"]["File.train"]  # empty extras are not written


def test_state_helpers() -> None:
    state = sample()
    assert state.addresses() == ["File.train", "FineTuningJob.bot"]
    assert [r.address for r in state] == state.addresses()
    assert len(state) == 2
    removed = state.remove("File.train")
    assert removed is not None and removed.id == "file-1"
    assert state.get("File.train") is None
    copy = state.copy()
    copy.resources["FineTuningJob.bot"].attributes["status"] = "x"
    assert state.resources["FineTuningJob.bot"].attributes["status"] == "running"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("{", "not valid JSON"),
        ("[]", "not a state file"),
        ('{"lineage": "x"}', "format_version"),
        ('{"format_version": 99, "lineage": "x", "serial": 1}', "newer than this reconciler supports"),
        ('{"format_version": 1, "serial": 1}', "lineage"),
        ('{"format_version": 1, "lineage": "x", "serial": -1}', "serial"),
        ('{"format_version": 1, "lineage": "x", "serial": true}', "serial"),
        ('{"format_version": 1, "lineage": "x", "serial": 1, "resources": []}', "resources"),
        ('{"format_version": 1, "lineage": "x", "serial": 1, "resources": '
         '{"A.b": {"kind": "A", "attributes": {"x": Infinity}}}}', "Infinity is not allowed"),
        ('{"format_version": 1, "lineage": "x", "serial": 1, "resources": {"A.b": 3}}', "'A.b'"),
        ('{"format_version": 1, "lineage": "x", "serial": 1, "resources": {"A.b": {"id": "1"}}}', "no kind"),
        ('{"format_version": 1, "lineage": "x", "serial": 1, "resources": '
         '{"A.b": {"kind": "A", "inputs": [1]}}}', "inputs must be an object"),
        ('{"format_version": 1, "lineage": "x", "serial": 1, "resources": '
         '{"A.b": {"kind": "A", "depends_on": [1]}}}', "depends_on"),
        ('{"format_version": 1, "lineage": "x", "serial": 1, "folder": 3}', "folder must be a non-empty string"),
        ('{"format_version": 1, "lineage": "x", "serial": 1, "folder": ""}', "folder must be a non-empty string"),
    ],
)
def test_bad_shapes_are_one_line_state_errors(text: str, fragment: str) -> None:
    with pytest.raises(StateError) as info:
        State.from_json(text, where="state/x.json")
    message = str(info.value)
    assert message.startswith("state/x.json: ")
    assert fragment in message
    assert "\n" not in message


def test_truncated_json_says_so() -> None:
    text = sample().to_json()
    with pytest.raises(StateError, match="truncated"):
        State.from_json(text[: len(text) // 2], where="s.json")


def test_streamed_json_is_byte_for_byte_to_json():
    """The store writes the state in chunks (bounded memory); the bytes must be those of to_json."""
    from reconciler.state import ResourceState, new_state

    state = new_state()
    for i in range(300):
        state.resources[f"FineTuningJob.j{i:03d}"] = ResourceState(
            address=f"FineTuningJob.j{i:03d}", kind="FineTuningJob", id=f"ftjob-{i}",
            inputs={"model": "gpt-4o-mini-2024-07-18", "suffix": f"s{i}", "metadata": {"é": "ü"}},
            digest="d" * 64, attributes={"status": "running", "seed": i}, depends_on=["File.f"])
    for chunk_size in (1, 100, 1 << 20):
        assert b"".join(state.iter_json(chunk_size)) == state.to_json().encode("utf-8")
    empty = new_state("lineage-x")
    assert b"".join(empty.iter_json()) == empty.to_json().encode("utf-8")
    state.folder = "github.com/acme/ml//examples/supervised"
    for chunk_size in (1, 1 << 20):
        assert b"".join(state.iter_json(chunk_size)) == state.to_json().encode("utf-8")


def test_the_spec_folder_is_kept_and_a_state_without_one_still_loads() -> None:
    """`folder` (the spec folder a state was last applied from) is optional: older states lack it.
    The run's owner is never written."""
    from reconciler.state.model import Owner

    state = new_state("lineage-x")
    assert "folder" not in state.to_dict()
    state.folder = "examples/supervised"
    state.owner = Owner("prod", "specs")
    data = json.loads(state.to_json())
    assert data["folder"] == "examples/supervised" and "owner" not in data and "prod" not in state.to_json()
    back = State.from_json(state.to_json())
    assert back.folder == "examples/supervised" and back.owner is None
