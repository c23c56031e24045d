"""The one step of cost estimation that reads files: the token counts of the training files a plan's
new jobs train on (cached, see cost/cache.py). Called by the CLI after the plan is made; the
planner itself reads nothing."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.cost.cache import TokenCache
from reconciler.cost.jobs import CountKey, costed_changes, job_inputs
from reconciler.cost.tokens import FileCount, count_file
from reconciler.plan.model import Plan

__all__ = ["count_training_files"]


def count_training_files(plan: Plan, documents: Mapping[str, Any],
                         cache: TokenCache | None = None) -> dict[CountKey, FileCount | str]:
    """Each training file's count, or one line saying why it could not be counted."""
    keys = []
    for change in costed_changes(plan):
        inputs = job_inputs(change, documents)
        if inputs.key is not None and inputs.key not in keys:
            keys.append(inputs.key)
    counts: dict[CountKey, FileCount | str] = {}
    for key in keys:
        path = Path(key.path)
        cached = cache.get(path, key.encoding, key.format) if cache is not None else None
        if cached is not None:
            counts[key] = cached
            continue
        try:
            count = count_file(path, key.format, key.encoding)
        except OSError as exc:
            counts[key] = f"cannot read {path}: {exc.strerror or exc}"
            continue
        counts[key] = count
        if cache is not None:
            cache.put(path, count)
    if cache is not None:
        cache.save()
    return counts
