"""The comparisons `reconciler compare` wrote under a recordings folder, for the report page:
DIR/<address>/compare/<model>/report.json (docs/RECORDING.md). Reads files only; a report.json
that is not one `compare` writes is refused in one line naming it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError
from reconciler.report.model import Comparison, WorstPrompt

__all__ = ["read_comparisons"]

REPORT_FILE = "report.json"


def _score(value: Any, where: Path, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: {field}: expected a number, got {value!r}")
    return float(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value, ensure_ascii=False)


def _grader(definition: Any) -> str:
    if not isinstance(definition, Mapping):
        return "unknown"
    kind = str(definition.get("type") or "unknown")
    detail = definition.get("evaluation_metric") or definition.get("operation") or definition.get("model")
    return f"{kind}:{detail}" if detail else kind


def _one(path: Path) -> Comparison:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, Mapping) or data.get("version") != 1 or not isinstance(data.get("summary"), Mapping):
        raise ConfigError(f"{path}: not a comparison report this version reads (version 1, with a summary)")
    summary = data["summary"]
    histogram = summary.get("histogram")
    if not isinstance(histogram, list) or len(histogram) != 10 or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in histogram):
        raise ConfigError(f"{path}: summary.histogram: expected ten counts")
    threshold = _score(summary.get("threshold"), path, "summary.threshold")
    worst = []
    for i, row in enumerate(data.get("worst") or []):
        if not isinstance(row, Mapping):
            raise ConfigError(f"{path}: worst[{i}]: expected an object")
        index = row.get("index")
        worst.append(WorstPrompt(index if isinstance(index, int) and not isinstance(index, bool) else i,
                                 _text(row.get("prompt")), _text(row.get("recorded")), _text(row.get("answer")),
                                 _score(row.get("score"), path, f"worst[{i}].score") or 0.0))
    count = summary.get("count")
    unscored = data.get("unscored")
    errors = data.get("grader_errors")
    billed = (data.get("grading") or {}).get("billed") if isinstance(data.get("grading"), Mapping) else None
    tokens: int | None = None
    usd: float | None = None
    if isinstance(billed, Mapping):
        tokens = 0
        for key in ("prompt_tokens", "completion_tokens"):
            n = billed.get(key)
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ConfigError(f"{path}: grading.billed.{key}: expected a count of tokens, got {n!r}")
            tokens += n
        cost = billed.get("cost")
        usd = _score(cost.get("usd"), path, "grading.billed.cost.usd") if isinstance(cost, Mapping) else None
    return Comparison(
        address=_text(data.get("address")), recorded=_text(data.get("recorded")), candidate=_text(data.get("candidate")),
        grader=_grader(data.get("grader")), threshold=threshold if threshold is not None else 0.0,
        passed=summary.get("passed") is True, count=count if isinstance(count, int) else sum(histogram),
        unscored=unscored if isinstance(unscored, int) else 0,
        mean=_score(summary.get("mean"), path, "summary.mean"), low=_score(summary.get("min"), path, "summary.min"),
        p10=_score(summary.get("p10"), path, "summary.p10"), median=_score(summary.get("median"), path, "summary.median"),
        high=_score(summary.get("max"), path, "summary.max"), histogram=tuple(histogram), worst=tuple(worst),
        folder=str(path.parent), grader_errors=len(errors) if isinstance(errors, list) else 0,
        grader_tokens=tokens, grader_usd=usd)


def read_comparisons(directory: Path) -> tuple[Comparison, ...]:
    """Every comparison under `directory`, by address then candidate. A folder that is not there
    is refused (the flag names a folder to read)."""
    if not directory.is_dir():
        raise ConfigError(f"--recordings {directory}: not a folder (give the folder `reconciler record` wrote)")
    found = sorted(directory.glob(f"*/compare/*/{REPORT_FILE}"))
    return tuple(sorted((_one(p) for p in found), key=lambda c: (c.address, c.candidate)))
