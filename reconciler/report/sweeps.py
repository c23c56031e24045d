"""What an ML engineer compares across runs: each job's resolved hyperparameters, and a sweep (the
for_each / matrix instances of one job document) ranked by the metric its checkpoint data source
selects by. Pure functions of the values gather read."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.report.model import Hyperparameter, JobReport, Sweep, SweepRun

__all__ = ["Pick", "hyperparameters", "instance", "sweeps"]

_INSTANCE = re.compile(r'^(?P<doc>.+?)\["(?P<key>.*)"\]$')
# The order a reader expects; any other key the API reports follows, sorted.
_ORDER = ("n_epochs", "batch_size", "learning_rate_multiplier", "beta", "compute_multiplier", "eval_interval",
          "eval_samples", "reasoning_effort")
_DEFAULT_METRICS = ("valid_loss", "train_loss")


@dataclass(frozen=True)
class Pick:
    """A checkpoint data source: the jobs it reads, how it selects, and what it picked."""

    address: str
    job_ids: tuple[str, ...]
    select: Mapping[str, Any]
    checkpoint_id: str | None


def instance(address: str) -> tuple[str, str]:
    """(document address, instance key): `FineTuningJob.sweep["lr=0.5"]` -> ("FineTuningJob.sweep", "lr=0.5");
    a plain address -> (address, "")."""
    found = _INSTANCE.match(address)
    return (found["doc"], found["key"]) if found else (address, "")


def _method_hp(job: Mapping[str, Any]) -> Mapping[str, Any] | None:
    method = job.get("method")
    if isinstance(method, Mapping):
        body = method.get(method.get("type")) if isinstance(method.get("type"), str) else None
        if isinstance(body, Mapping) and isinstance(body.get("hyperparameters"), Mapping):
            return body["hyperparameters"]  # type: ignore[no-any-return]
    return None


def _shown(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def hyperparameters(job: Mapping[str, Any], requested: Mapping[str, Any] | None) -> tuple[Hyperparameter, ...]:
    """The job's hyperparameters as the API reports them (`method.<type>.hyperparameters`, else
    the top-level `hyperparameters`), each marked `auto` when `requested` (the spec's inputs)
    left it to the API."""
    reported = _method_hp(job) or (job.get("hyperparameters") if isinstance(job.get("hyperparameters"), Mapping)
                                   else None) or {}
    asked = (_method_hp(requested) or (requested.get("hyperparameters") if isinstance(
        requested.get("hyperparameters"), Mapping) else None) or {}) if requested else {}
    names = [n for n in _ORDER if n in reported] + sorted(n for n in reported if n not in _ORDER)
    out = []
    for name in names:
        value = _shown(reported[name])
        if value is not None:
            wanted = asked.get(name, "auto")
            out.append(Hyperparameter(name, value, auto=wanted == "auto" and value != "auto"))
    return tuple(out)


def _best(job: JobReport, metric: str, lowest: bool) -> float | None:
    values = [v for c in job.checkpoints if not c.final for k, v in c.metrics if k == metric]
    if not values:
        values = [y for s in job.series if s.name == metric for _, y in s.points[-1:]]
    if not values:
        return None
    return min(values) if lowest else max(values)


def _metric(members: Sequence[JobReport], picks: Iterable[Pick]) -> tuple[str, bool, tuple[str, ...]]:
    ids = {j.id for j in members if j.id}
    for pick in picks:
        if ids & set(pick.job_ids):
            for key, lowest in (("lowest", True), ("highest", False)):
                if isinstance(pick.select.get(key), str):
                    return str(pick.select[key]), lowest, (pick.address,)
    present = {s.name for j in members for s in j.series} | {k for j in members for c in j.checkpoints
                                                             for k, _ in c.metrics}
    metric = next((m for m in _DEFAULT_METRICS if m in present), _DEFAULT_METRICS[0])
    return metric, True, ()


def sweeps(jobs: Sequence[JobReport], picks: Sequence[Pick]) -> tuple[Sweep, ...]:
    """Every job document with two or more instances, its runs ranked best first (a run with no
    value yet last, in address order)."""
    groups: dict[str, list[JobReport]] = {}
    for job in jobs:
        if job.sweep:
            groups.setdefault(job.sweep, []).append(job)
    out = []
    for document, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        metric, lowest, chosen_by = _metric(members, picks)
        runs = [SweepRun(j.address, j.run, _best(j, metric, lowest),
                         any(c.selected_by for c in j.checkpoints)) for j in members]
        runs.sort(key=lambda r: (r.value is None, (r.value if lowest else -r.value) if r.value is not None else 0.0,
                                 r.address))
        by = tuple(sorted({a for j in members for c in j.checkpoints for a in c.selected_by} | set(chosen_by)))
        out.append(Sweep(document, metric, lowest, tuple(runs), by))
    return tuple(out)
