"""Adopting an existing object into state (`reconciler import ADDR ID` and `import:` blocks).

The adopted object gets no recorded inputs (jobs, files): the next plan compares the spec with
the live object, leniently where the API fills in values, and apply records the inputs once they
match. A permission set is adopted with the grants it has now."""

from __future__ import annotations

from typing import Any

from reconciler.errors import NotFoundError, PlanError

__all__ = ["imported_resource", "kind_of", "read_for_import"]


def kind_of(address: str, documents: dict[str, Any]) -> str:
    doc = documents.get(address)
    return doc.type if doc is not None else address.split(".", 1)[0]


def read_for_import(kind: str, address: str, object_id: str, reader: Any, observed: Any = None) -> dict[str, Any]:
    """The live object behind `object_id`, as state attributes."""
    try:
        if kind == "FineTuningJob":
            job = observed.job(object_id) if observed is not None else None
            return dict(job if job is not None else reader.get_job(object_id))
        if kind == "File":
            files = getattr(observed, "files", None) or {}
            return dict(files.get(object_id) or reader.get_file(object_id))
        if kind == "CheckpointPermission":
            grants = observed.permissions_for(object_id) if observed is not None else \
                list(reader.list_permissions(object_id))
            return {"fine_tuned_model_checkpoint": object_id, "permissions": grants}
    except NotFoundError:
        raise PlanError(f"cannot import {address}: {object_id} does not exist") from None
    raise PlanError(f"cannot import {address}: {kind} objects cannot be imported "
                    "(only FineTuningJob, File and CheckpointPermission)")


def imported_resource(kind: str, address: str, object_id: str, attributes: dict[str, Any],
                      depends_on: list[str]) -> Any:
    from reconciler.state import ResourceState

    inputs: dict[str, Any] = {}
    if kind == "CheckpointPermission":
        inputs = {"fine_tuned_model_checkpoint": object_id,
                  "project_ids": sorted(p["project_id"] for p in attributes.get("permissions") or [])}
    return ResourceState(address=address, kind=kind, id=object_id, inputs=inputs, digest="",
                         attributes=dict(attributes), depends_on=list(depends_on), meta={"imported": True})
