"""data.FineTuningJobCheckpoints: a job's checkpoints, or those of several jobs (a sweep:
`fine_tuning_job_ids: ${FineTuningJob.sweep[*].id}`), and the one `select` picks.

Across several jobs the pick waits until every one of them has ended (a running job's checkpoint
might still beat the current best), and only the checkpoints of jobs that succeeded are
candidates. A job added to the sweep later makes the pick wait again (the grant stays where it
is meanwhile) and it moves when the new job wins; `selection_reason` gives the plan the metric
values behind such a move."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.config.checks import Finding
from reconciler.kinds.base import DataReads
from reconciler.kinds.data.checks import check_data_checkpoints
from reconciler.kinds.data.common import DataKind, select
from reconciler.kinds.data.schema import data_checkpoints_spec
from reconciler.plan.snapshot import MissingRead
from reconciler.values import UNKNOWN

__all__ = ["DATA_CHECKPOINTS", "selection_reason"]

_ENDED = frozenset({"succeeded", "failed", "cancelled"})
_FIELDS = ("id", "fine_tuned_model_checkpoint", "step_number", "metrics", "created_at", "fine_tuning_job_id")


class DataCheckpoints(DataKind):
    name = type = "data.FineTuningJobCheckpoints"
    picks_checkpoint = True
    attributes = frozenset({"items", *_FIELDS})

    terraform_types = ("openai_fine_tuning_job_checkpoints",)

    def spec_schema(self) -> dict[str, Any]:
        return data_checkpoints_spec()

    def check(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        spec, findings = check_data_checkpoints(spec)
        given = [k for k in ("fine_tuning_job_id", "fine_tuning_job_ids") if k in spec]
        if not given:
            findings.append(Finding(("spec",), "missing required field 'fine_tuning_job_id' (or "
                                               "fine_tuning_job_ids for several, e.g. ${FineTuningJob.sweep[*].id})"))
        elif len(given) == 2:
            findings.append(Finding(("spec", "fine_tuning_job_ids"), "give fine_tuning_job_id (one job) or "
                                                                     "fine_tuning_job_ids (several), not both"))
        return spec, findings

    def read(self, address: str, spec: dict[str, Any], reads: DataReads) -> tuple[dict[str, Any], str | None]:
        limit = int(spec.get("max_items") or 1000)
        if "fine_tuning_job_ids" in spec:
            job_ids = [str(j) for j in spec["fine_tuning_job_ids"] or []]
            items, what = self._across(job_ids, reads, limit)
            if what:
                return {"items": items, **dict.fromkeys(_FIELDS, UNKNOWN)}, f"{address}: {what}"
            what = f"no checkpoint of its {len(job_ids)} jobs matches {spec.get('select')}"
        else:
            job_id = str(spec.get("fine_tuning_job_id") or spec.get("id") or "")
            items = reads.checkpoints(job_id)[:limit]
            what = f"job {job_id} has no checkpoint matching {spec.get('select')} yet"
        chosen = select(items, spec.get("select"))
        result: dict[str, Any] = {"items": items, "selected_by": dict(spec.get("select") or {"latest": True})}
        if chosen is None:
            result.update(dict.fromkeys(_FIELDS, UNKNOWN))
            return result, f"{address}: {what}"
        result.update({f: chosen.get(f) for f in _FIELDS})
        return result, None

    @staticmethod
    def _across(job_ids: list[str], reads: DataReads, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """The checkpoints of the jobs that succeeded (at most `limit` per job) once every job has
        ended, else why the pick waits: a sweep's winner is chosen when the sweep is complete, so a
        grant never goes to a checkpoint a job still running is about to beat."""
        items: list[dict[str, Any]] = []
        running: list[str] = []
        succeeded = 0
        missing: list[MissingRead] = []  # every job's missing read is asked for in one round
        for job_id in dict.fromkeys(job_ids):
            try:
                job = reads.job(job_id)
                status = (job or {}).get("status")
                if status not in _ENDED:
                    running.append(job_id)
                    continue
                if status != "succeeded":
                    continue
                succeeded += 1
                items.extend(reads.checkpoints(job_id)[:limit])
            except MissingRead as need:
                missing.append(need)
        if missing:
            raise MissingRead(missing[0].read, *(n.read for n in missing[1:]))
        if running:
            shown = ", ".join(running[:3]) + (f" and {len(running) - 3} more" if len(running) > 3 else "")
            return items, f"{len(running)} of its {len(job_ids)} jobs have not finished ({shown})"
        if not succeeded:
            return items, f"none of its {len(job_ids)} jobs succeeded"
        return items, None


def selection_reason(planned: Mapping[str, Mapping[str, Any]], sources: Iterable[str], old: str,
                     new: str) -> str | None:
    """Why a checkpoint picked by `lowest` / `highest` replaced another, with both metric values
    (for the plan of a grant that moves), when one of `sources` made the pick; else None."""
    for source in sources:
        result = planned.get(source)
        how = (result or {}).get("selected_by") or {}
        items = (result or {}).get("items")
        order = "lowest" if "lowest" in how else "highest" if "highest" in how else None
        if order is None or not isinstance(items, list):
            continue
        metric = how[order]
        by_name = {c.get("fine_tuned_model_checkpoint"): c for c in items if isinstance(c, Mapping)}
        if new not in by_name:
            continue

        if old in by_name:
            return f"{order} {metric}: {_shown(by_name[new], metric)} beats {_shown(by_name[old], metric)}"
        return f"{order} {metric}: {_shown(by_name[new], metric)}; the previous checkpoint is no longer a candidate"
    return None


def _shown(checkpoint: Mapping[str, Any], metric: str) -> str:
    value = (checkpoint.get("metrics") or {}).get(metric)
    return f"{value} ({checkpoint.get('fine_tuning_job_id')}, step {checkpoint.get('step_number')})"


DATA_CHECKPOINTS = DataCheckpoints()
