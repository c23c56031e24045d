"""data.FineTuningJobCheckpoints: a job's checkpoints, and the one `select` picks."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.base import DataReads
from reconciler.kinds.data.common import DataKind, select
from reconciler.values import UNKNOWN

__all__ = ["DATA_CHECKPOINTS"]

_FIELDS = ("id", "fine_tuned_model_checkpoint", "step_number", "metrics", "created_at", "fine_tuning_job_id")


class DataCheckpoints(DataKind):
    name = type = "data.FineTuningJobCheckpoints"
    attributes = frozenset({"items", *_FIELDS})

    terraform_types = ("openai_fine_tuning_job_checkpoints",)

    def spec_schema(self) -> dict[str, Any]:
        from reconciler.config.schema_source import data_checkpoints_spec

        return data_checkpoints_spec()

    def check(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        from reconciler.config.checks import check_data_checkpoints

        return check_data_checkpoints(spec)

    def read(self, address: str, spec: dict[str, Any], reads: DataReads) -> tuple[dict[str, Any], str | None]:
        job_id = str(spec.get("fine_tuning_job_id") or spec.get("id") or "")
        limit = int(spec.get("max_items") or 1000)
        items = reads.checkpoints(job_id)[:limit]
        chosen = select(items, spec.get("select"))
        result: dict[str, Any] = {"items": items}
        if chosen is None:
            result.update(dict.fromkeys(_FIELDS, UNKNOWN))
            return result, f"{address}: job {job_id} has no checkpoint matching {spec.get('select')} yet"
        result.update({f: chosen.get(f) for f in _FIELDS})
        return result, None


DATA_CHECKPOINTS = DataCheckpoints()
