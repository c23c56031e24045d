"""Which reads of a rule `validate` warns about (fields that may be absent, read without has()),
table-driven over the parse tree: no server."""

from __future__ import annotations

import pytest

from reconciler.config.nullable import nullable_warnings, unguarded_reads
from reconciler.config.policies import check_policy_document
from reconciler.kinds.registry import KINDS

REQUIRED = {kind: KINDS[kind].spec_schema().get("required", ()) for kind in ("FineTuningJob", "File",
                                                                              "CheckpointPermission")}

CASES = [
    # (rule, match, unguarded paths)
    ("object.cost.usd < 20.0", ["FineTuningJob"], ["object.cost.usd"]),
    ("has(object.cost.usd) && object.cost.usd < 20.0", ["FineTuningJob"], []),
    ("!has(object.cost.usd) || object.cost.usd < 20.0", ["FineTuningJob"], []),
    ("object.cost['usd'] < 20.0", ["FineTuningJob"], []),  # an index is not a path: not judged
    ('object.spec.model.startsWith("gpt-4o-mini")', ["FineTuningJob"], []),  # required
    ('object.spec.model.startsWith("gpt-4o-mini")', ["FineTuningJob", "File"], ["object.spec.model"]),
    ('has(object.spec.metadata) && "team" in object.spec.metadata', ["FineTuningJob"], []),
    ('"team" in object.spec.metadata', ["FineTuningJob"], ["object.spec.metadata"]),
    ("has(object.spec.method.supervised.hyperparameters.n_epochs) && "
     "object.spec.method.supervised.hyperparameters.n_epochs <= 4", ["FineTuningJob"], []),
    ("object.spec.suffix.size() <= 18", ["FineTuningJob"], ["object.spec.suffix"]),
    ('object.spec.project_ids.all(p, p.startsWith("proj_"))', ["CheckpointPermission"], []),
    ('object.inputs.training_file.startsWith("file-")', ["FineTuningJob"], ["object.inputs.training_file"]),
    ("plan.cost.usd < 5.0 && plan.new_jobs <= 2", ["FineTuningJob"], []),  # always present
    ('object.action == "create" && object.address != ""', ["File"], []),
]


def _policy(rule: str, match: list[str], enforcement: str = "deny"):
    found, errors = check_policy_document(
        {"kind": "Policy", "name": "p", "spec": {"match": match, "rule": rule, "message": "m",
                                                 "enforcement": enforcement}},
        "p.yaml", 1, {"spec.rule": 5}, tuple(KINDS))
    assert not errors, errors
    return found


@pytest.mark.parametrize(("rule", "match", "expected"), CASES)
def test_unguarded_reads(rule, match, expected):
    assert [".".join(p) for p in unguarded_reads(_policy(rule, match), REQUIRED)] == expected


def test_the_warning_names_the_field_the_line_and_the_outcome():
    [deny] = nullable_warnings(_policy("object.cost.usd < 1.0", ["FineTuningJob"]), REQUIRED)
    assert deny.severity == "warning"
    assert str(deny).startswith("p.yaml:5: Policy.p: spec.rule: reads object.cost.usd without has(): it is absent "
                                "when the job's cost is unknown, and the rule then fails to evaluate, which denies")
    [warn] = nullable_warnings(_policy("object.cost.usd < 1.0", ["FineTuningJob"], "warn"), REQUIRED)
    assert "which warns on that change" in str(warn)
