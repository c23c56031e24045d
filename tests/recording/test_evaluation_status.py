"""Where an Evaluation stands (recording/status.py), table-driven: pure, from the resolved
target, the recording's manifest and the result kept by `compare --evaluation`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.kinds.evaluation.document import Evaluation
from reconciler.recording.compare import recording_digest
from reconciler.recording.status import EvaluationStatus, resolve_target, status_of
from reconciler.render.evaluations import iter_evaluation_lines, running_cost

FT = "ft:gpt-4o-mini-2024-07-18:org:bot:abc"
FT2 = "ft:gpt-4o-mini-2024-07-18:org:bot:def"
GRADER = {"type": "text_similarity", "evaluation_metric": "fuzzy_match"}
MANIFEST = {"model": FT, "complete": True, "prompts": 10, "prompts_sha256": "p" * 64,
            "files": {"answers.jsonl": "a" * 64}, "usage": {"prompt_tokens": 1000},
            "sampling": {"max_completion_tokens": 100}}


def _evaluation(threshold: float = 0.9, target: str = FT, ref: tuple[str, str] | None = None) -> Evaluation:
    return Evaluation("switch", Path("rec"), target, ref, dict(GRADER), threshold)


def _result(**over: Any) -> dict[str, Any]:
    return {"target": FT2, "recording_digest": recording_digest(MANIFEST), "grader": dict(GRADER), "score": 0.95,
            "unscored": 0, "compared_at": "2027-01-02T03:04:05Z", **over}


CASES = [
    # (name, evaluation, target, manifest, result, status, score, message part)
    ("pass", _evaluation(), FT2, MANIFEST, _result(), "pass", 0.95, "scored 0.950 ≥ 0.900"),
    ("fail", _evaluation(), FT2, MANIFEST, _result(score=0.5), "fail", 0.5, "scored 0.500 < 0.900"),
    ("threshold raised since: the kept score against the new bar", _evaluation(0.99), FT2, MANIFEST, _result(),
     "fail", 0.95, "< 0.990"),
    ("exactly the threshold passes", _evaluation(0.95), FT2, MANIFEST, _result(), "pass", 0.95, "≥ 0.950"),
    ("the target changed since", _evaluation(), FT, MANIFEST, _result(), "stale", None, f"asked {FT2}; the target is now {FT}"),
    ("the recording changed since", _evaluation(), FT2, {**MANIFEST, "files": {"answers.jsonl": "b" * 64}}, _result(),
     "stale", None, "the recording changed"),
    ("another grader", _evaluation(), FT2, MANIFEST, _result(grader={"type": "string_check", "operation": "eq"}),
     "stale", None, "graded with string_check eq"),
    ("never compared", _evaluation(), FT2, MANIFEST, None, "missing", None, "never compared"),
    ("no recording", _evaluation(), FT2, None, _result(), "missing", None, "no complete recording"),
    ("recording incomplete", _evaluation(), FT2, {**MANIFEST, "complete": False}, _result(), "missing", None,
     "no complete recording"),
    ("target unknown", _evaluation(), None, MANIFEST, _result(), "pending", None, "not known"),
    ("unscored prompts fail", _evaluation(), FT2, MANIFEST, _result(unscored=2), "fail", None, "without a score"),
]


@pytest.mark.parametrize(("name", "evaluation", "target", "manifest", "result", "status", "score", "message"), CASES,
                         ids=[c[0] for c in CASES])
def test_status(name: str, evaluation: Evaluation, target: str | None, manifest: Any, result: Any, status: str,
                score: float | None, message: str) -> None:
    got = status_of(evaluation, target, None, manifest, result)
    assert (got.status, got.score) == (status, score)
    assert message in got.message


def test_what_running_it_costs_is_shown_for_stale_and_missing_only_and_never_as_zero() -> None:
    missing = status_of(_evaluation(), FT2, None, MANIFEST, None)
    assert missing.cost is not None and missing.cost["usd_max"] > 0   # 1,000 prompt + at most 1,000 completion tokens
    base = status_of(_evaluation(), "gpt-4.1-mini", None, MANIFEST, None)
    assert base.cost is not None and base.cost["usd_max"] is None and "base model" in base.cost["reason"]
    assert running_cost(base.cost).startswith("cost unknown: ")
    assert status_of(_evaluation(), FT2, None, MANIFEST, _result()).cost is None


@pytest.mark.parametrize(("attributes", "after_apply", "model", "why"), [
    ({"FineTuningJob.bot": {"fine_tuned_model": FT}}, (), FT, None),
    ({"FineTuningJob.bot": {"fine_tuned_model": FT}}, ("FineTuningJob.bot",), None, "created or replaced"),
    ({"FineTuningJob.bot": {"fine_tuned_model": None, "status": "running"}}, (), None, "(status running)"),
    ({}, (), None, "not applied yet"),
])
def test_resolve_target(attributes: dict[str, Any], after_apply: tuple[str, ...], model: str | None,
                        why: str | None) -> None:
    evaluation = _evaluation(target="${FineTuningJob.bot.fine_tuned_model}", ref=("FineTuningJob.bot", "fine_tuned_model"))
    got_model, got_why = resolve_target(evaluation, attributes, after_apply)
    assert got_model == model
    assert (got_why is None) if why is None else (got_why is not None and why in got_why)


def test_a_model_id_target_is_itself() -> None:
    assert resolve_target(_evaluation(target="gpt-4.1-mini"), {}) == ("gpt-4.1-mini", None)


def test_text_lines_are_aligned_with_one_mark_per_status() -> None:
    statuses = [EvaluationStatus("Evaluation.a", "pass", "m scored 1.000 ≥ 0.900", "m", FT, 0.9, "g", 1.0),
                EvaluationStatus("Evaluation.longer", "missing", "never compared", "m", FT, 0.9, "g",
                                 cost={"usd_max": None, "reason": "no price"})]
    lines = list(iter_evaluation_lines(statuses))
    assert lines[1] == "Evaluations: 1 pass, 1 missing"
    assert lines[2].index("Evaluation.a") == lines[3].index("Evaluation.longer")
    assert lines[2].startswith("  ✓ pass     Evaluation.a")
    assert "run `reconciler compare --evaluation Evaluation.longer`: cost unknown: no price" in lines[3]
