"""A score_model grader in a comparison: its checks (table-driven), grading with row errors, and
the bounds of what it costs. The graders/run answers that carry an error flag or a 400 for one row
cannot be produced on demand by the sandbox, so those rows come from a small stand-in runner;
the same code against the sandbox is tests/e2e/test_compare_model_grader_e2e.py."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from reconciler.cost.tokens import count_record, count_text
from reconciler.errors import ApiError
from reconciler.kinds.evaluation.grading import Grader, grader_from_definition, parse_grader
from reconciler.recording.compare import score_folder
from reconciler.recording.model_grading import (
    grade_log,
    grade_missing,
    grader_prompt_tokens,
    grading_bound,
    grading_estimate,
    item_for,
)
from reconciler.recording.prompts import Prompt, prompt_id
from reconciler.recording.store import Folder

JUDGE = {"type": "score_model", "name": "judge", "model": "gpt-4o-2024-08-06", "range": [0, 10],
         "input": [{"role": "system", "content": "Rate it."},
                   {"role": "user", "content": "Q: {{item.prompt}}\nRef: {{item.reference}}\nA: {{sample.output_text}}"}],
         "sampling_params": {"max_completions_tokens": 4}}

BAD = [
    ({**JUDGE, "modle": "x"}, "modle", "unknown field 'modle'"),
    ({k: v for k, v in JUDGE.items() if k != "model"}, "model", "expected the grader's model"),
    ({**JUDGE, "input": []}, "input", "expected a non-empty list of messages"),
    ({**JUDGE, "input": [{"role": "robot", "content": "{{sample.output_text}}"}]}, "input[0].role", "expected one of"),
    ({**JUDGE, "input": [{"role": "user", "content": "{{item.answer}} {{sample.output_text}}"}]}, "input[0].content",
     "{{item.answer}}: a comparison gives a grader"),
    ({**JUDGE, "input": [{"role": "user", "content": "{{item.reference}}"}]}, "input", "no message shows the new answer"),
    ({**JUDGE, "range": [1, 0]}, "range", "expected [min, max] with min < max"),
    ({**JUDGE, "sampling_params": {"max_completions_tokens": 0}}, "sampling_params.max_completions_tokens",
     "invalid value"),
    ({**JUDGE, "sampling_params": {"top_k": 3}}, "sampling_params.top_k", "unknown field"),
    ({"type": "label_model"}, "type", "expected one of string_check, text_similarity, score_model"),
    ({"type": "text_similarity", "evaluation_metric": "cosine"}, "evaluation_metric", "computed only by the platform"),
]


@pytest.mark.parametrize(("definition", "field", "message"), BAD)
def test_a_malformed_grader_names_its_field(definition: dict[str, Any], field: str, message: str) -> None:
    from reconciler.config.documents import display_path

    found: list[tuple[str, str]] = []
    assert grader_from_definition(definition, lambda where, text: found.append((display_path(where), text))) is None
    assert found and found[0][0] == field and message in found[0][1], found


def test_graders_from_mappings_and_flags() -> None:
    model = grader_from_definition(JUDGE, lambda where, text: pytest.fail(text))
    assert model is not None and model.remote and model.label == "score_model (gpt-4o-2024-08-06)"
    local = grader_from_definition({"type": "string_check", "operation": "eq"}, lambda where, text: pytest.fail(text))
    assert local is not None and not local.remote and local.score is not None and local.score("a", "a") == 1.0
    assert parse_grader('{type: text_similarity, evaluation_metric: bleu}').definition["evaluation_metric"] == "bleu"
    assert parse_grader('{"type": "score_model", "model": "gpt-4o", "input": [{"role": "user", "content": '
                        '"{{sample.output_text}}"}]}').remote


def _prompts(n: int) -> list[Prompt]:
    out = []
    for i in range(n):
        messages = ({"role": "user", "content": f"Question {i}?"},)
        out.append(Prompt(index=i, id=prompt_id(messages), messages=messages, line=i + 1))
    return out


def _folder(path: Path, model: str, prompts: list[Prompt], answers: list[str]) -> Folder:
    folder = Folder(path)
    manifest = folder.open(model, prompts, {"kind": "recording", "address": "FineTuningJob.bot", "prompts": len(prompts),
                                            "sampling": {"max_completion_tokens": 16}})
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    for p, answer in zip(prompts, answers, strict=True):
        counted = {"prompt_tokens": count_record({"messages": list(p.messages)}, "chat", "o200k_base"),
                   "completion_tokens": count_text(answer, "o200k_base")}
        folder.answers.append({"prompt_id": p.id, "index": p.index, "answer": answer, "usage": counted})
        usage = {k: usage[k] + counted[k] for k in usage}
    folder.finish(manifest, {"usage": usage})
    return folder


class Runner:
    """Answers as graders/run does: reward 10 for an exact answer, 5 otherwise; row 1 raises an
    error flag, row 2 is refused (400), and `fail_on` raises a 500 (after retries)."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[str] = []
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def run_grader(self, grader: dict[str, Any], item: dict[str, Any], model_sample: str) -> dict[str, Any]:
        with self.lock:
            self.calls.append(item["prompt"])
        if item["prompt"] == "Question 2?":
            raise ApiError("Invalid 'model_sample'.", status=400)
        if self.fail_on is not None and item["prompt"] == f"Question {self.fail_on}?":
            raise ApiError("server error", status=500)
        flags = {"model_grader_refusal_error": item["prompt"] == "Question 1?"}
        tokens = grader_prompt_tokens(grader, item, model_sample)
        return {"reward": 10.0 if model_sample == item["reference"] else 5.0, "metadata": {"errors": flags},
                "model_grader_token_usage_per_model": {grader["model"]: {"prompt_tokens": tokens,
                                                                         "completion_tokens": 1}}}


def test_grading_reports_row_errors_with_the_row_and_never_scores_them(tmp_path: Path) -> None:
    prompts = _prompts(5)
    recording = _folder(tmp_path / "rec", "ft:gpt-4o-mini-2024-07-18:o::a", prompts, [f"A{i}" for i in range(5)])
    comparison = _folder(tmp_path / "cmp", "gpt-4.1-mini", prompts, ["A0", "A1", "A2", "x", "A4"])
    grader = Grader(JUDGE)
    log = grade_log(comparison.path, JUDGE, "digest")
    runner = Runner()
    run = grade_missing(prompts, recording.answers.load(), comparison.answers.load(), grader, log, runner,
                        parallelism=2)
    assert sorted(runner.calls) == [f"Question {i}?" for i in range(5)]
    assert run.sent == 4 and [e["index"] for e in run.errors] == [2]   # the 400 is not kept: sent again next time
    report = score_folder(recording, comparison, grader, 0.5, 5, log.load())
    assert report["summary"]["count"] == 3 and report["unscored"] == 2
    assert [s["score"] for s in sorted(report["worst"], key=lambda r: r["index"])] == [1.0, 0.5, 1.0]
    assert [e["index"] for e in report["grader_errors"]] == [1, 2]
    assert "model_grader_refusal_error" in report["grader_errors"][0]["error"]
    assert "Invalid 'model_sample'" in report["grader_errors"][1]["error"]
    assert report["summary"]["passed"] is False     # a pair the grader failed on is never a pass
    billed = report["grading"]["billed"]
    assert billed["requests"] == 4   # the refused pair was not billed
    sent = report["grading"]["estimated_prompt_tokens"]
    refused_tokens = grader_prompt_tokens(JUDGE, item_for(prompts[2], "A2"), "A2")
    assert billed["prompt_tokens"] == sent - refused_tokens

    again = Runner()
    grade_missing(prompts, recording.answers.load(), comparison.answers.load(), grader, log, again, parallelism=2)
    assert again.calls == ["Question 2?"]           # only the refused row is asked again


def test_a_server_error_stops_grading_and_keeps_what_was_graded(tmp_path: Path) -> None:
    prompts = _prompts(6)
    recording = _folder(tmp_path / "rec", "ft:gpt-4o-mini-2024-07-18:o::a", prompts, [f"A{i}" for i in range(6)])
    comparison = _folder(tmp_path / "cmp", "gpt-4.1-mini", prompts, [f"A{i}" for i in range(6)])
    log = grade_log(comparison.path, JUDGE, "digest")
    with pytest.raises(ApiError):
        grade_missing(prompts, recording.answers.load(), comparison.answers.load(), Grader(JUDGE), log,
                      Runner(fail_on=3), parallelism=1)
    kept = log.load().values()
    assert sorted(g["index"] for g in kept) == [0, 1, 2] and [g["index"] for g in kept if g.get("refused")] == [2]


def test_the_estimates_bound_what_is_billed(tmp_path: Path) -> None:
    prompts = _prompts(4)
    answers = ["Answer number one.", "Two", "A much longer third answer with many words in it.", ""]
    recording = _folder(tmp_path / "rec", "ft:gpt-4o-mini-2024-07-18:o::a", prompts, answers)
    recorded = recording.answers.load()
    grader = Grader(JUDGE)
    new = {p.id: {"answer": "Some new answer text."} for p in prompts}
    exact = sum(grader_prompt_tokens(JUDGE, item_for(p, recorded[p.id]["answer"]), "Some new answer text.")
                for p in prompts)
    known = grading_estimate("A", grader, prompts, recorded, new, set(), 16)
    assert known["prompt_tokens"] == exact and known["completion_tokens_max"] == 16
    bounded = grading_estimate("A", grader, prompts, recorded, {}, set(), 16)
    assert bounded["prompt_tokens"] >= exact and bounded["cost"]["usd_max"] >= known["cost"]["usd_max"] > 0
    assert grading_estimate("A", grader, prompts, recorded, new, {p.id for p in prompts}, 16)["prompts"] == 0
    # what plan shows (from the manifest alone) bounds it too
    plan = grading_bound(JUDGE, recording.manifest() or {})
    assert plan["usd_max"] is not None and plan["usd_max"] >= known["cost"]["usd_max"]
    unbounded = grading_estimate("A", Grader({**JUDGE, "sampling_params": {}}), prompts, recorded, new, set(), 16)
    assert unbounded["cost"]["usd_max"] is None and "not bounded" in unbounded["cost"]["reason"]
    unpriced = grading_estimate("A", Grader({**JUDGE, "model": "o3-2025-04-16"}), prompts, recorded, new, set(), 16)
    assert unpriced["cost"]["usd_max"] is None and "no inference price" in unpriced["cost"]["reason"]
