"""Trying a reinforcement job's grader before paying for the job (`validate --run-graders`).

The grader runs against the API (`POST /v1/fine_tuning/alpha/graders/run`) over the first rows of
the job's validation File (its training File when it has none). A row has no model answer yet,
so the sample graded is the row's last assistant message when it has one, else the reference
answer the grader compares with (the first `{{item.X}}` of a `reference`): a grader that scores
even the reference answer 0 is broken before any job is paid for. A row lacking a field the
grader reads (`{{item.X}}`) is an error naming the row and the field, and is not sent; an answer
whose error flags are set is an error naming the row and the flag."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from reconciler.config.documents import Document, SpecSet
from reconciler.kinds.job.grader_fields import item_templates, job_files
from reconciler.kinds.job.inputs import KIND as JOB

__all__ = ["DEFAULT_ROWS", "GraderRunner", "Trial", "reinforcement_jobs", "run_trial"]

DEFAULT_ROWS = 5
MAX_LINE_BYTES = 32 * 1024 * 1024


class GraderRunner(Protocol):
    def run_grader(self, grader: dict[str, Any], item: dict[str, Any], model_sample: str) -> dict[str, Any]: ...


@dataclass
class Trial:
    address: str
    grader: str
    file: str                       # the data file's path as the spec writes it
    sample_from: str                # what was graded as the model's answer
    scores: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # "data/x.jsonl:3: ..."

    def summary(self) -> dict[str, float]:
        if not self.scores:
            return {}
        return {"min": min(self.scores), "median": statistics.median(self.scores),
                "mean": statistics.fmean(self.scores), "max": max(self.scores)}


def reinforcement_jobs(specset: SpecSet) -> Iterator[tuple[Document, dict[str, Any]]]:
    for doc in specset.documents.values():
        method = doc.spec.get("method") if doc.type == JOB else None
        block = method.get("reinforcement") if isinstance(method, dict) and method.get("type") == "reinforcement" \
            else None
        if isinstance(block, dict) and isinstance(block.get("grader"), dict):
            yield doc, block["grader"]


def _reference_field(grader: Any) -> str | None:
    """The item field the grader compares with: the first `{{item.X}}` of a `reference`."""
    if not isinstance(grader, dict):
        return None
    found = next(item_templates(grader.get("reference"), ()), None)
    if found is not None:
        return found.field
    subs = grader.get("graders")
    for sub in ([subs] if isinstance(subs, dict) and "type" in subs else
                subs.values() if isinstance(subs, dict) else []):
        name = _reference_field(sub)
        if name:
            return name
    return None


def _sample(record: dict[str, Any], reference: str | None) -> tuple[str, str]:
    messages = record.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict) \
            and messages[-1].get("role") == "assistant" and isinstance(messages[-1].get("content"), str):
        return messages[-1]["content"], "the row's last assistant message"
    if reference and reference in record:
        value = record[reference]
        return (value if isinstance(value, str) else json.dumps(value)), f"item.{reference} (the reference answer)"
    return "", "an empty answer"


def _rows(path: Path, limit: int) -> Iterator[tuple[int, dict[str, Any]]]:
    taken = 0
    with open(path, "rb") as fh:
        for number, line in enumerate(iter(lambda: fh.readline(MAX_LINE_BYTES + 1), b""), start=1):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield number, record
                taken += 1
                if taken >= limit:
                    return


def run_trial(job: Document, grader: dict[str, Any], specset: SpecSet, client: GraderRunner,
              rows: int = DEFAULT_ROWS) -> Trial | None:
    """The grader over the first `rows` rows of the job's validation (else training) File; None
    when neither is a File of the specs (a literal file id cannot be read here)."""
    files = dict(job_files(job, specset))
    data = files.get("validation_file") or files.get("training_file")
    if data is None:
        return None
    shown = str(data.spec["path"])
    fields = list(dict.fromkeys(t.field for t in item_templates(grader, ())))
    reference = _reference_field(grader)
    trial = Trial(job.address, str(grader.get("name", grader.get("type"))), shown, "")
    for number, record in _rows(data.base_dir / shown, rows):
        sample, trial.sample_from = _sample(record, reference)
        missing = [name for name in fields if name not in record]
        if missing:
            trial.errors.extend(f"{shown}:{number}: the grader reads {{{{item.{name}}}}}, and this row has no "
                                f"{name!r}" for name in missing)
            continue
        answer = client.run_grader(grader, record, sample)
        flags = (answer.get("metadata") or {}).get("errors") or {}
        raised = sorted(k for k, v in flags.items() if v is True)
        if raised:
            details = [str(flags[k]) for k in sorted(flags) if k.endswith("_details") and flags[k]]
            trial.errors.append(f"{shown}:{number}: the grader failed ({', '.join(raised)})"
                                + (f": {details[0]}" if details else ""))
            continue
        trial.scores.append(float(answer.get("reward") or 0.0))
    return trial
