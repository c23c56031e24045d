"""Score a comparison's answers against a recording's, prompt by prompt; and the result an
Evaluation keeps (`<recording>/evaluations/<name>.json`): what was compared, with which grader,
the score and when, so plan and drift can say whether it still holds without asking anything.

The formats written here: `report.json` in the comparison folder (`score_folder`) and the
evaluation result (`evaluation_result`, `write_evaluation_result`, `read_evaluation_result`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.kinds.evaluation.grading import Grader, summarise
from reconciler.recording.model_grading import billed, grader_prompt_tokens, item_for, last_user
from reconciler.recording.prompts import read_prompts
from reconciler.recording.store import Folder, folder_name, write_json

__all__ = ["EVALUATION_RESULT_VERSION", "evaluation_result", "evaluation_result_path", "read_evaluation_result",
           "recording_digest", "score_folder", "write_evaluation_result"]

EVALUATION_RESULT_VERSION = 1


def score_folder(recording: Folder, comparison: Folder, grader: Grader, threshold: float, worst: int,
                 grades: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Scores of every prompt both folders answered; written to the comparison's report.json.

    A local grader scores here; a model grader's scores are `grades` (model_grading.grade_missing,
    by prompt id). A pair the grader failed on is listed in `grader_errors` with its row, counted
    unscored, and the comparison does not pass."""
    recorded = recording.answers.load()
    answered = comparison.answers.load()
    prompts = read_prompts(comparison.prompts_file)
    rows, errors = [], []
    estimated = 0
    for prompt in prompts:
        mine, theirs = recorded.get(prompt.id), answered.get(prompt.id)
        if mine is None or theirs is None:
            continue
        answer, reference = str(theirs.get("answer") or ""), str(mine.get("answer") or "")
        if grader.score is not None:
            score: float | None = grader.score(answer, reference)
        else:
            grade = (grades or {}).get(prompt.id)
            if grade is None:
                continue
            estimated += grader_prompt_tokens(grader.definition, item_for(prompt, reference), answer)
            if grade.get("error") or grade.get("score") is None:
                errors.append({"index": prompt.index, "prompt_id": prompt.id, "prompt": last_user(prompt.messages),
                               "error": grade.get("error") or "no score"})
                continue
            score = float(grade["score"])
        assert score is not None
        rows.append({"index": prompt.index, "prompt_id": prompt.id, "prompt": last_user(prompt.messages),
                     "recorded": mine.get("answer"), "answer": theirs.get("answer"), "score": round(score, 6)})
    summary = summarise([float(r["score"] or 0) for r in rows], threshold)
    if errors:
        summary["passed"] = False
    recorded_manifest = recording.manifest() or {}
    compared_manifest = comparison.manifest() or {}
    report = {"version": 1, "address": recorded_manifest.get("address"), "recorded": recorded_manifest.get("model"),
              "candidate": compared_manifest.get("model"), "grader": dict(grader.definition), "summary": summary,
              "unscored": len(prompts) - len(rows),
              "worst": sorted(rows, key=lambda r: (r["score"], r["index"]))[:worst],
              "folder": str(comparison.path)}
    if grader.remote:
        report["grader_errors"] = errors
        report["grading"] = {"billed": billed(grades or {}, str(grader.definition["model"])),
                             "estimated_prompt_tokens": estimated}
    write_json(comparison.path / "report.json", {**report, "scores": [
        {"index": r["index"], "prompt_id": r["prompt_id"], "score": r["score"]} for r in rows]})
    return report


def recording_digest(manifest: Mapping[str, Any]) -> str:
    """One digest of a complete recording: its prompt set and the sha256 of every file."""
    body = json.dumps({"prompts": manifest.get("prompts_sha256"), "files": manifest.get("files") or {}},
                      sort_keys=True).encode()
    return hashlib.sha256(body).hexdigest()


def evaluation_result_path(recording_dir: Path, name: str) -> Path:
    return recording_dir / "evaluations" / f"{folder_name(name)}.json"


def evaluation_result(address: str, report: Mapping[str, Any], grader: Mapping[str, Any], threshold: float,
                      manifest: Mapping[str, Any], compared_at: str | None) -> dict[str, Any]:
    """What an Evaluation keeps of one comparison: the target compared, the recording (by digest),
    the grader, the score, whether it reached the threshold, and when (the API's clock)."""
    s = report["summary"]
    return {"version": EVALUATION_RESULT_VERSION, "evaluation": address, "target": report["candidate"],
            "recorded": report["recorded"], "recording_digest": recording_digest(manifest),
            "grader": dict(grader), "threshold": threshold, "score": s["mean"], "passed": bool(s["passed"]),
            "summary": {k: s[k] for k in ("count", "mean", "min", "p10", "median", "max")},
            "unscored": report["unscored"], "compared_at": compared_at,
            "report": str(Path(report["folder"]) / "report.json")}


def write_evaluation_result(recording_dir: Path, name: str, result: Mapping[str, Any]) -> Path:
    path = evaluation_result_path(recording_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, dict(result))
    return path


def read_evaluation_result(recording_dir: Path, name: str) -> dict[str, Any] | None:
    """The last result kept for Evaluation `name`; None when there is none or it is not one this
    version reads (the evaluation then shows as never compared)."""
    path = evaluation_result_path(recording_dir, name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != EVALUATION_RESULT_VERSION:
        return None
    return data
