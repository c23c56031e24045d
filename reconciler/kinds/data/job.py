"""data.FineTuningJob: one job, by id or by metadata (exactly one must match)."""

from __future__ import annotations

from typing import Any

from reconciler.errors import PlanError
from reconciler.kinds.base import DataReads
from reconciler.kinds.data.checks import check_data_job
from reconciler.kinds.data.common import DataKind, matches, newest_first
from reconciler.kinds.data.schema import data_job_spec
from reconciler.kinds.job.kind import JOB_ATTRIBUTES

__all__ = ["DATA_JOB"]


class DataJob(DataKind):
    name = type = "data.FineTuningJob"
    listings = frozenset({"jobs"})
    attributes = JOB_ATTRIBUTES

    terraform_types = ("openai_fine_tuning_job",)

    def spec_schema(self) -> dict[str, Any]:
        return data_job_spec()

    def check(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        return check_data_job(spec)

    def read(self, address: str, spec: dict[str, Any], reads: DataReads) -> tuple[dict[str, Any], str | None]:
        job_id = spec.get("id") or spec.get("fine_tuning_job_id")
        if job_id:
            return dict(reads.job(job_id) or {}), None
        found = [j for j in newest_first(reads.all_jobs()) if matches(j, spec.get("metadata"))]
        if len(found) != 1:
            raise PlanError(f"{address}: expected exactly one job with metadata {spec.get('metadata')}, "
                            f"found {len(found)}" + (f" ({', '.join(j['id'] for j in found[:5])})" if found else ""))
        return dict(found[0]), None


DATA_JOB = DataJob()
