"""Score a comparison's answers against a recording's, prompt by prompt."""

from __future__ import annotations

from typing import Any

from reconciler.recording.grading import Grader, summarise
from reconciler.recording.prompts import read_prompts
from reconciler.recording.store import Folder, write_json

__all__ = ["score_folder"]


def _last_user(messages: Any) -> str:
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else str(content)
    return ""


def score_folder(recording: Folder, comparison: Folder, grader: Grader, threshold: float, worst: int) -> dict[str, Any]:
    """Scores of every prompt both folders answered; written to the comparison's report.json."""
    recorded = recording.answers.load()
    answered = comparison.answers.load()
    prompts = read_prompts(comparison.prompts_file)
    rows = []
    for prompt in prompts:
        mine, theirs = recorded.get(prompt.id), answered.get(prompt.id)
        if mine is None or theirs is None:
            continue
        score = grader.score(str(theirs.get("answer") or ""), str(mine.get("answer") or ""))
        rows.append({"index": prompt.index, "prompt_id": prompt.id, "prompt": _last_user(prompt.messages),
                     "recorded": mine.get("answer"), "answer": theirs.get("answer"), "score": round(score, 6)})
    summary = summarise([float(r["score"] or 0) for r in rows], threshold)
    recorded_manifest = recording.manifest() or {}
    compared_manifest = comparison.manifest() or {}
    report = {"version": 1, "address": recorded_manifest.get("address"), "recorded": recorded_manifest.get("model"),
              "candidate": compared_manifest.get("model"), "grader": dict(grader.definition), "summary": summary,
              "unscored": len(prompts) - len(rows),
              "worst": sorted(rows, key=lambda r: (r["score"], r["index"]))[:worst],
              "folder": str(comparison.path)}
    write_json(comparison.path / "report.json", {**report, "scores": [
        {"index": r["index"], "prompt_id": r["prompt_id"], "score": r["score"]} for r in rows]})
    return report
