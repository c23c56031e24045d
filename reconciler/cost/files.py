"""The one step of cost estimation that reads files: the token counts of the training files a plan's
new jobs train on (cached, see cost/cache.py). Called by the CLI after the plan is made; the
planner itself reads nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.cost.cache import TokenCache
from reconciler.cost.jobs import CountKey, costed_changes, job_inputs
from reconciler.cost.tokens import FileCount, count_in_process
from reconciler.plan.model import Plan

__all__ = ["count_training_files"]

# [(path, format, encoding)] -> for each, its FileCount or the line saying why it was not counted
CountMany = Callable[[Sequence[tuple[str, str, str]]], list["FileCount | str"]]


def count_training_files(plan: Plan, documents: Mapping[str, Any], cache: TokenCache | None = None,
                         count_many: CountMany = count_in_process) -> dict[CountKey, FileCount | str]:
    """Each training file's count, or one line saying why it could not be counted. The files the
    cache does not hold are counted by `count_many`, all at once (the CLI counts them in a child
    process: cost/count_worker.py)."""
    keys = []
    for change in costed_changes(plan):
        inputs = job_inputs(change, documents)
        if inputs.key is not None and inputs.key not in keys:
            keys.append(inputs.key)
    counts: dict[CountKey, FileCount | str] = {}
    missing: list[CountKey] = []
    for key in keys:
        cached = cache.get(Path(key.path), key.encoding, key.format) if cache is not None else None
        if cached is not None:
            counts[key] = cached
        else:
            missing.append(key)
    if missing:
        found = count_many([(key.path, key.format, key.encoding) for key in missing])
        for key, count in zip(missing, found, strict=True):
            counts[key] = count
            if cache is not None and isinstance(count, FileCount):
                cache.put(Path(key.path), count)
    if cache is not None:
        cache.save()
    return counts
