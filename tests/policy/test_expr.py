"""The CEL evaluator, table-driven, no server: what compiles, what each rule gives, and the one line
each mistake is reported as."""

from __future__ import annotations

import pytest

from reconciler.errors import SpecError
from reconciler.expr import Where, compile_expression
from reconciler.values import UNKNOWN

WHERE = Where("specs/policy.yaml", 7, "Policy.epochs", "spec.rule")
OBJECT = {"kind": "FineTuningJob", "address": "FineTuningJob.bot", "action": "create",
          "spec": {"model": "gpt-4o-mini-2024-07-18", "n_epochs": 3, "metadata": {"team": "search"}},
          "cost": {"usd": 2.5, "billed_tokens": 120000}}
PLAN = {"new_jobs": 2, "replacements": 0, "cost": {"usd": 7.5}}

TRUE_OR_FALSE = [
    ("object.spec.n_epochs <= 3", True),
    ("object.spec.n_epochs > 3", False),
    ('object.spec.model.startsWith("gpt-4o")', True),
    ('"team" in object.spec.metadata', True),
    ('has(object.spec.suffix)', False),
    ("object.cost.usd < 10.0 && plan.cost.usd < 10.0", True),
    ("plan.new_jobs <= 1 || object.action != \"create\"", False),
    ('["a", "b"].all(x, x != "c")', True),
    ("object.spec.unknown_later == null", True),   # UNKNOWN reads as null
    ("!(object.kind == \"File\")", True),
]


@pytest.mark.parametrize(("source", "expected"), TRUE_OR_FALSE)
def test_rule_evaluates(source: str, expected: bool) -> None:
    expression = compile_expression(source, ("object", "plan"), WHERE)
    obj = {**OBJECT, "spec": {**OBJECT["spec"], "unknown_later": UNKNOWN}}  # type: ignore[dict-item]
    assert expression.evaluate({"object": obj, "plan": PLAN}) is expected


COMPILE_ERRORS = [
    ("object.spec.", "CEL syntax error in 'object.spec.'"),
    ("object.spec.n_epochs <=", "CEL syntax error"),
    ("spec.n_epochs <= 3", "unknown name 'spec'"),
    ("self.status == \"succeeded\"", "unknown name 'self'"),   # only postconditions read self
    ("1 + 2", "gives a sum, not true or false"),
    ('"yes"', 'gives the constant "yes", not true or false'),
    ("[object.kind]", "gives a list"),
    ("", "expected a CEL expression"),
]


@pytest.mark.parametrize(("source", "message"), COMPILE_ERRORS)
def test_compile_error_is_one_line_with_file_and_line(source: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        compile_expression(source, ("object", "plan"), WHERE)
    line = str(caught.value)
    assert line.startswith("specs/policy.yaml:7: Policy.epochs: spec.rule: ")
    assert message in line
    assert "\n" not in line


EVAL_ERRORS = [
    ("object.spec.missing == 1", "failed to evaluate: no such member in mapping: 'missing'"),
    ("object.spec.model", "gave a string ('gpt-4o-mini-2024-07-18'), not true or false"),
    ("size(object.spec.metadata)", "gave a number (1), not true or false"),
    ("object.spec.n_epochs / 0 == 1", "failed to evaluate"),
]


@pytest.mark.parametrize(("source", "message"), EVAL_ERRORS)
def test_evaluation_error_is_one_line(source: str, message: str) -> None:
    expression = compile_expression(source, ("object", "plan"), WHERE)
    with pytest.raises(SpecError) as caught:
        expression.evaluate({"object": OBJECT, "plan": PLAN})
    line = str(caught.value)
    assert line.startswith("specs/policy.yaml:7: Policy.epochs: spec.rule: ")
    assert message in line
    assert "\n" not in line


def test_self_is_readable_where_allowed() -> None:
    expression = compile_expression("self.metrics.valid_loss < 0.5", ("object", "self"), WHERE)
    assert expression.evaluate({"self": {"metrics": {"valid_loss": 0.4}}}) is True
    assert expression.evaluate({"self": {"metrics": {"valid_loss": 0.6}}}) is False
