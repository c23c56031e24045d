"""data.CheckpointPermissions: the grants on one checkpoint (needs the admin key)."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.base import DataReads
from reconciler.kinds.data.checks import check_data_list
from reconciler.kinds.data.common import DataKind
from reconciler.kinds.data.schema import data_permissions_spec

__all__ = ["DATA_PERMISSIONS"]


class DataPermissions(DataKind):
    name = type = "data.CheckpointPermissions"
    absent_on = frozenset({"azure"})  # Azure OpenAI has no checkpoint permissions to read
    admin = True
    attributes = frozenset({"items", "project_ids", "ids"})

    terraform_types = ("openai_fine_tuning_checkpoint_permission", "openai_fine_tuning_checkpoint_permissions")

    def spec_schema(self) -> dict[str, Any]:
        return data_permissions_spec()

    def check(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        return check_data_list(spec)

    def read(self, address: str, spec: dict[str, Any], reads: DataReads) -> tuple[dict[str, Any], str | None]:
        items = reads.permissions_query(spec.get("fine_tuned_model_checkpoint") or "", spec.get("project_id"),
                                        spec.get("order"))
        items = items[: int(spec.get("max_items") or 1000)]
        return {"items": items, "project_ids": [p["project_id"] for p in items],
                "ids": [p["id"] for p in items]}, None


DATA_PERMISSIONS = DataPermissions()
