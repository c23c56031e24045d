"""`POST /fine_tuning/alpha/graders/run` (reconciler_sandbox/grader_run.py) through the official SDK,
every answer checked against the contract's RunGraderResponse; the scoring rules table-driven."""

from __future__ import annotations

import openai
import pytest

from reconciler_sandbox.grader_run import _formula

from .conftest import STRING_CHECK


def _run(client, grader, sample, item=None):
    return client.fine_tuning.alpha.graders.run(grader=grader, model_sample=sample, item=item or {})


@pytest.mark.parametrize(("operation", "sample", "reward"), [
    ("eq", "Paris", 1.0), ("eq", "paris", 0.0), ("ne", "Rome", 1.0), ("like", "It is Paris.", 1.0),
    ("ilike", "it is PARIS", 1.0), ("like", "it is PARIS", 0.0),
])
def test_string_check(client, contract, operation, sample, reward):
    grader = {**STRING_CHECK, "operation": operation}
    assert _run(client, grader, sample, {"label": "Paris"}).reward == reward


def test_text_similarity_and_score_model(client, contract):
    sim = {"type": "text_similarity", "name": "sim", "input": "{{sample.output_text}}",
           "reference": "{{item.answer}}", "evaluation_metric": "fuzzy_match"}
    assert _run(client, sim, "the cat sat", {"answer": "the cat sat"}).reward == 1.0
    assert 0 < _run(client, {**sim, "evaluation_metric": "bleu"}, "the cat", {"answer": "the cat sat"}).reward < 1
    score = {"type": "score_model", "name": "judge", "model": "gpt-4o-mini", "range": [0, 10],
             "input": [{"role": "user", "content": "Rate {{sample.output_text}} against {{item.answer}}"}]}
    first = _run(client, score, "hello", {"answer": "hi"})
    assert 0 <= first.reward <= 10 and first.reward == _run(client, score, "hello", {"answer": "hi"}).reward
    assert first.metadata.token_usage > 0 and first.metadata.sampled_model_name == "gpt-4o-mini"
    assert first.model_grader_token_usage_per_model["gpt-4o-mini"]["prompt_tokens"] > 0


def test_multi_formula_and_sub_rewards(client, contract):
    # the contract's GraderMulti.graders is one grader; the formula names it by its name
    multi = {"type": "multi", "name": "both", "calculate_output": "0.25 * a + 0.5", "graders": {**STRING_CHECK, "name": "a"}}
    result = _run(client, multi, "x", {"label": "x"})
    assert result.reward == 0.75 and result.sub_rewards == {"a": 1.0}
    assert _run(client, multi, "y", {"label": "x"}).reward == 0.5
    broken = _run(client, {**multi, "calculate_output": "__import__('os')"}, "x", {"label": "x"})
    assert broken.reward == 0.0 and broken.metadata.errors.formula_parse_error


def test_missing_item_field_is_an_invalid_variable(client, contract):
    result = _run(client, STRING_CHECK, "x", {"other": "x"})
    assert result.reward == 0.0 and result.metadata.errors.invalid_variable_error


def test_python_refused_and_model_sample_required(client, contract):
    python = {"type": "python", "name": "py", "source": "def grade(sample, item):\n    return 1.0\n"}
    with pytest.raises(openai.BadRequestError, match="does not run python graders"):
        _run(client, python, "x")
    with pytest.raises(openai.BadRequestError, match="model_sample"):
        client.post("/fine_tuning/alpha/graders/run", body={"grader": STRING_CHECK}, cast_to=object)


@pytest.mark.parametrize(("formula", "value"), [
    ("a + b", 3.0), ("max(a, b) / 2", 1.0), ("-a ** 2", -1.0), ("sqrt(b * 2)", 2.0), ("(a + b) * 0.5", 1.5),
])
def test_formula_is_arithmetic(formula, value):
    assert _formula(formula, {"a": 1.0, "b": 2.0}) == value


@pytest.mark.parametrize("formula", ["a.__class__", "open('x')", "c + 1", "[a]", "a if b else 1", "lambda: 1"])
def test_formula_refuses_anything_else(formula):
    with pytest.raises((ValueError, SyntaxError)):
        _formula(formula, {"a": 1.0, "b": 2.0})
