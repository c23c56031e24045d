"""data.FineTuningJobs: the jobs whose metadata matches, newest first."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.base import DataReads
from reconciler.kinds.data.checks import check_data_list
from reconciler.kinds.data.common import DataKind, matches, newest_first
from reconciler.kinds.data.schema import data_jobs_spec

__all__ = ["DATA_JOBS"]


class DataJobs(DataKind):
    name = type = "data.FineTuningJobs"
    listings = frozenset({"jobs"})
    attributes = frozenset({"ids", "items"})

    terraform_types = ("openai_fine_tuning_jobs",)

    def spec_schema(self) -> dict[str, Any]:
        return data_jobs_spec()

    def check(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        return check_data_list(spec)

    def read(self, address: str, spec: dict[str, Any], reads: DataReads) -> tuple[dict[str, Any], str | None]:
        limit = int(spec.get("max_items") or 1000)
        items = [j for j in newest_first(reads.all_jobs()) if matches(j, spec.get("metadata"))][:limit]
        return {"items": items, "ids": [j["id"] for j in items]}, None


DATA_JOBS = DataJobs()
