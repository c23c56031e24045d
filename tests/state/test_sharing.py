"""Equal values held once (reconciler.sharing): sharing must never change a value, only how many
objects hold it."""

from __future__ import annotations

import json

import pytest

from reconciler.sharing import Canonical, dedupe_hook, same, share_equal
from reconciler.state.model import State
from reconciler.values import UNKNOWN


@pytest.mark.parametrize("a,b", [
    (True, 1), (1, 1.0), (False, 0), ({"x": True}, {"x": 1}), ([1], [1.0]), ({"a": 1}, {"a": 1, "b": 2}),
    ({"a": [1, 2]}, {"a": [2, 1]}), (None, {}), ("1", 1), (UNKNOWN, None),
])
def test_same_is_strict_about_types(a, b):
    # whatever `==` says (True == 1 == 1.0), these are different values to a plan
    assert not same(a, b) and not same(b, a)


def test_same_deep_equal_values():
    a = {"method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}}, "seed": 7}
    assert same(a, json.loads(json.dumps(a)))


def test_share_equal_returns_the_old_object_when_equal():
    old = {"model": "gpt-4o-mini", "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}}
    new = json.loads(json.dumps(old))
    assert share_equal(new, old) is old


def test_share_equal_keeps_what_differs_and_shares_the_rest():
    old = {"model": "m", "method": {"type": "supervised"}, "metadata": {"team": "a"}, "id": "ftjob-1"}
    new = {"model": "m", "method": {"type": "supervised"}, "metadata": {"team": "b"}, "status": "running"}
    before = json.loads(json.dumps(new))
    merged = share_equal(new, old)
    assert merged == new and merged is not old and set(merged) == set(new)
    assert merged["method"] is old["method"]
    assert merged["metadata"] is new["metadata"] and merged["metadata"] == {"team": "b"}
    assert new == before and old["metadata"] == {"team": "a"}  # neither side was touched


def test_share_equal_never_turns_a_bool_into_an_int():
    merged = share_equal({"exclusive": True, "n": 1.0}, {"exclusive": 1, "n": 1})
    assert merged["exclusive"] is True and type(merged["n"]) is float


def test_share_equal_keeps_unknown_values():
    merged = share_equal({"training_file": UNKNOWN, "model": "m"}, {"training_file": "file-1", "model": "m"})
    assert merged["training_file"] is UNKNOWN


def test_dedupe_hook_makes_equal_strings_one_object():
    # strings built at run time, so the interpreter's own constant sharing cannot be what we see
    text = json.dumps({"jobs": [{"model": "gpt-" + str(i % 1), "tags": ["a" + "b"] * 2} for i in range(3)]})
    plain = json.loads(text)
    assert plain["jobs"][0]["model"] is not plain["jobs"][1]["model"]
    doc = json.loads(text, object_hook=dedupe_hook())
    models = {id(j["model"]) for j in doc["jobs"]}
    tags = {id(t) for j in doc["jobs"] for t in j["tags"]}
    assert len(models) == 1 and len(tags) == 1
    assert doc == plain == {"jobs": [{"model": "gpt-0", "tags": ["ab", "ab"]}] * 3}


def test_canonical_hands_out_one_object_per_value():
    canonical = Canonical()
    first = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}}
    again = json.loads(json.dumps(first))
    other = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3.0}}}
    assert canonical(first) is first and canonical(again) is first
    assert canonical(other) is other  # 3.0 is not 3
    assert canonical("text") == "text" and canonical(None) is None


def test_loaded_state_shares_method_and_settings_blocks():
    method = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}}
    resources = {f"FineTuningJob.j{i}": {
        "kind": "FineTuningJob", "id": f"ftjob-{i}", "digest": "", "depends_on": ["File.train"],
        "inputs": {"model": "gpt-4o-mini-2024-07-18", "method": method, "seed": i},
        "attributes": {"status": "running", "model": "gpt-4o-mini-2024-07-18"},
        "meta": {"settings": {"status": "running", "cancel_after_timeout": None}}} for i in range(3)}
    text = json.dumps({"format_version": 1, "lineage": "l", "serial": 1, "resources": resources})
    state = State.from_json(text)
    jobs = list(state.resources.values())
    assert len({id(r.inputs["method"]) for r in jobs}) == 1
    assert len({id(r.meta["settings"]) for r in jobs}) == 1
    assert len({id(r.attributes["model"]) for r in jobs} | {id(r.inputs["model"]) for r in jobs}) == 1
    assert json.loads(state.to_json())["resources"] == resources  # nothing changed but the sharing


def test_dedupe_hook_shares_while_decoding():
    text = json.dumps({"data": [{"object": "checkpoint.permission", "project_id": "proj_" + str(i % 2),
                                 "tags": ["t", "t"], "nested": [["deep"], ["deep"]]} for i in range(4)]})
    decoded = json.loads(text, object_hook=dedupe_hook(frozenset({"object"})))
    assert decoded == json.loads(text)
    rows = decoded["data"]
    assert len({id(r["project_id"]) for r in rows}) == 2
    assert len({id(t) for r in rows for t in r["tags"]}) == 1
    assert rows[0]["object"] is json.loads(text, object_hook=dedupe_hook(frozenset({"object"})))["data"][0]["object"]
