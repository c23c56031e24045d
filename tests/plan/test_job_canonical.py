"""The canonical form of a job's create arguments: for every field, null == absent == the API's
default, in the inputs and their digest, in the diff against recorded inputs, and against a live job
as the API returns it — table-driven per field, then a property over generated specs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.kinds.job import inputs as J
from reconciler.kinds.job.canonical import canonical_inputs

BASE = {"model": "gpt-4o-mini-2024-07-18", "training_file": "file-train"}

# field -> spellings that all mean "not written" (the API's null, an empty value, its default)
ABSENT: dict[str, list[Any]] = {
    "validation_file": [None, ""],
    "seed": [None],
    "suffix": [None, ""],
    "metadata": [None, {}, {J.TAG_ADDRESS: "FineTuningJob.bot", J.TAG_DIGEST: "abc"}],
    "integrations": [None, []],
    "method": [None, {}, {"type": "supervised"}, {"type": "supervised", "supervised": {}},
               {"type": "supervised", "supervised": {"hyperparameters": {}}},
               {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": "auto", "batch_size": None,
                                                                          "learning_rate_multiplier": "auto"}}},
               {"type": "supervised", "dpo": {"hyperparameters": {"beta": 0.1}}}],
    "hyperparameters": [None, {}, {"n_epochs": "auto"}],
}

# (field, written value, spellings of the same value as the API or an older state may give it)
SAME: list[tuple[str, Any, list[Any]]] = [
    ("model", "gpt-4o-mini-2024-07-18", ["gpt-4o-mini"]),
    ("integrations", [{"type": "wandb", "wandb": {"project": "p"}}],
     [[{"type": "wandb", "wandb": {"project": "p", "name": None, "entity": None, "tags": []}}],
      [{"type": "wandb", "wandb": {"project": "p", "name": None, "entity": None, "tags": None}}]]),
    ("integrations", [{"type": "wandb", "wandb": {"project": "p", "tags": ["a"]}}],
     [[{"type": "wandb", "wandb": {"project": "p", "name": None, "entity": None, "tags": ["a"]}}]]),
    ("metadata", {"team": "x"}, [{"team": "x", J.TAG_ADDRESS: "FineTuningJob.bot", J.TAG_LINEAGE: "l"}]),
    ("method", {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}},
     [{"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3, "batch_size": "auto"}}}]),
]


def _with(field: str, value: Any) -> dict[str, Any]:
    return {**BASE, field: value}


@pytest.mark.parametrize(("field", "spelling"), [(f, v) for f, vs in ABSENT.items() for v in vs])
def test_null_absent_and_default_are_one_value(field, spelling):
    assert canonical_inputs(_with(field, spelling)) == canonical_inputs(BASE)
    assert J.inputs_digest(J.inputs_from_spec(_with(field, spelling))) == J.inputs_digest(J.inputs_from_spec(BASE))
    assert J.changed_paths(_with(field, spelling), J.inputs_from_spec(BASE)) == []
    assert J.mismatches_with_live(J.inputs_from_spec(BASE), {"id": "ftjob-1", **_with(field, spelling)}) == []


@pytest.mark.parametrize(("field", "written", "spelling"), [(f, w, s) for f, w, ss in SAME for s in ss])
def test_one_value_spelled_as_the_api_answers(field, written, spelling):
    inputs = J.inputs_from_spec(_with(field, written))
    assert canonical_inputs(_with(field, spelling)) == inputs
    assert J.changed_paths(_with(field, spelling), inputs) == []
    assert J.mismatches_with_live(inputs, {"id": "ftjob-1", **_with(field, spelling)}) == []


def test_a_real_difference_is_still_one():
    inputs = J.inputs_from_spec(_with("integrations", [{"type": "wandb", "wandb": {"project": "p", "name": "run"}}]))
    live = {"id": "j", **_with("integrations", [{"type": "wandb", "wandb": {"project": "p", "name": None}}])}
    assert [p for p, _, _ in J.mismatches_with_live(inputs, live)] == ["integrations"]
    assert [p for p, _, _ in J.changed_paths(_with("seed", 1), J.inputs_from_spec(_with("seed", 2)))] == ["seed"]
    assert canonical_inputs({**BASE, "method": {"type": "dpo"}})["method"] == {"type": "dpo"}
    assert canonical_inputs({**BASE, "seed": 0})["seed"] == 0  # a seed of 0 is a value, not "absent"


WANDB = st.fixed_dictionaries({"project": st.sampled_from(["p", "ft-runs"])},
                              optional={"name": st.sampled_from(["run-1", "x"]),
                                        "entity": st.sampled_from(["team"]),
                                        "tags": st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2)})
HYPER = st.fixed_dictionaries({}, optional={"n_epochs": st.integers(1, 10), "batch_size": st.integers(1, 32),
                                            "learning_rate_multiplier": st.sampled_from([0.1, 2.0])})
SPECS = st.fixed_dictionaries(
    {"model": st.sampled_from(["gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14"]),
     "training_file": st.just("file-train")},
    optional={"validation_file": st.just("file-valid"), "seed": st.integers(0, 1000),
              "suffix": st.sampled_from(["bot", "support-v1"]),
              "metadata": st.dictionaries(st.sampled_from(["team", "owner"]), st.sampled_from(["a", "b"]),
                                          min_size=1),
              "integrations": st.lists(st.fixed_dictionaries({"type": st.just("wandb"), "wandb": WANDB}),
                                       min_size=1, max_size=2),
              "method": st.fixed_dictionaries({"type": st.just("supervised"),
                                               "supervised": st.fixed_dictionaries({"hyperparameters": HYPER})})})


def _as_the_api_answers(spec: dict[str, Any], draw_seed: int) -> dict[str, Any]:
    """The job the API returns for `spec`: every field present (null when not given), W&B's
    unset fields null and its tags a list, the method always spelled out, a generated seed, the
    suffix only inside fine_tuned_model, our tracking tags in metadata."""
    integrations = [{"type": i["type"], "wandb": {"name": None, "entity": None, "tags": [], **i["wandb"]}}
                    for i in spec.get("integrations") or []]
    method = spec.get("method") or {"type": "supervised"}
    hyper = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8,
             **((method.get("supervised") or {}).get("hyperparameters") or {})}
    suffix = spec.get("suffix")
    return {"id": "ftjob-1", "object": "fine_tuning.job", "status": "succeeded", "model": spec["model"],
            "training_file": spec["training_file"], "validation_file": spec.get("validation_file"),
            "seed": spec.get("seed", draw_seed), "integrations": integrations,
            "metadata": {**(spec.get("metadata") or {}), J.TAG_ADDRESS: "FineTuningJob.bot"},
            "method": {"type": "supervised", "supervised": {"hyperparameters": hyper}},
            "hyperparameters": hyper,
            "fine_tuned_model": f"ft:{spec['model']}:org:{suffix or ''}:abc123"}


@settings(max_examples=200, deadline=None)
@given(SPECS, st.integers(0, 2**31))
def test_a_job_read_back_from_the_api_matches_its_spec(spec, seed):
    inputs = J.inputs_from_spec(spec)
    assert J.mismatches_with_live(inputs, _as_the_api_answers(spec, seed)) == []
    recorded = {k: (v if k != "integrations" else [{"type": "wandb", "wandb": {"name": None, **i["wandb"]}}
                                                   for i in v]) for k, v in inputs.items()}
    assert J.changed_paths(recorded, inputs) == []
