"""The local graders compare uses, table-driven, and the score summary."""

from __future__ import annotations

import pytest

from reconciler.errors import ConfigError
from reconciler.kinds.evaluation.grading import parse_grader, summarise

CASES = [
    ("text_similarity:fuzzy_match", "Reset it in Settings.", "reset it in  settings.", 1.0),
    ("text_similarity:fuzzy_match", "abc", "xyz", 0.0),
    ("fuzzy_match", "", "", 1.0),
    ("text_similarity:bleu", "the cat sat on the mat", "the cat sat on the mat", 1.0),
    ("text_similarity:bleu", "dog", "the cat sat on the mat", 0.0),
    ("text_similarity:rouge_1", "a b c", "a b d", pytest.approx(2 / 3)),
    ("text_similarity:rouge_2", "a b c", "a b d", pytest.approx(0.5)),
    ("text_similarity:rouge_l", "a b c d", "a c d", pytest.approx(6 / 7)),
    ("string_check:eq", "Yes", "Yes", 1.0),
    ("string_check:eq", "Yes", "yes", 0.0),
    ("string_check:ne", "Yes", "yes", 1.0),
    ("string_check:like", "Open Settings now", "Settings", 1.0),
    ("string_check:like", "Open settings now", "Settings", 0.0),
    ("string_check:ilike", "Open settings now", "Settings", 1.0),
]


@pytest.mark.parametrize(("grader", "answer", "reference", "expected"), CASES)
def test_scores(grader: str, answer: str, reference: str, expected: float) -> None:
    assert parse_grader(grader).score(answer, reference) == expected


@pytest.mark.parametrize("text", ["text_similarity:cosine", "text_similarity:meteor", "score_model", "nope:eq",
                                  "string_check:contains"])
def test_a_grader_not_run_here_is_one_clear_line(text: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_grader(text)
    assert str(err.value).startswith(f"--grader {text}:") and "\n" not in str(err.value)


def test_summary_passes_on_the_mean() -> None:
    s = summarise([1.0, 1.0, 0.7, 0.9], 0.9)
    assert (s["mean"], s["min"], s["max"], s["passed"]) == (0.9, 0.7, 1.0, True)
    assert s["histogram"] == [0, 0, 0, 0, 0, 0, 0, 1, 0, 3]
    assert summarise([0.5], 0.9)["passed"] is False
    assert summarise([], 0.0)["passed"] is False
