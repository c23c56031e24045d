"""CheckpointPermission: which projects may use a fine-tuned checkpoint. `exclusive: true` is
authoritative (every grant not listed is revoked); `exclusive: false` only ensures the listed
projects and revokes only grants reconciler made that the spec no longer lists. Needs the admin
key. Planning: plan.py; the grant/revoke arithmetic both sides share: grants.py; applying: apply.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from reconciler.kinds.base import ApplyContext, Kind
from reconciler.kinds.permission.checks import check_permission
from reconciler.kinds.permission.grants import KIND
from reconciler.kinds.permission.schema import permission_spec

if TYPE_CHECKING:
    from reconciler.config.documents import Document, SpecSet
    from reconciler.plan.finding import Finding
    from reconciler.plan.model import Change, Plan
    from reconciler.plan.snapshot import Snapshot, SnapshotReads
    from reconciler.plan.walk import Walk
    from reconciler.state import ResourceState, State

__all__ = ["KIND", "PERMISSION", "PermissionKind"]


class PermissionKind(Kind):
    name = type = KIND
    grants_access = True
    absent_on = frozenset({"azure"})  # Azure shares a fine-tuned model by deploying it, not by a grant
    admin = True
    listings = frozenset({"permissions"})   # refresh lists the grants of every managed checkpoint
    importable = True
    show_fields = ("fine_tuned_model_checkpoint", "project_ids")
    attributes = frozenset({"fine_tuned_model_checkpoint", "project_ids", "permissions"})
    # a create shows no `id = (known after apply)`: the checkpoint is the id, and it is known
    shows_unknown_id = False

    terraform_types = ("openai_fine_tuning_checkpoint_permission",)

    def spec_schema(self) -> dict[str, Any]:
        return permission_spec()

    def check(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        return check_permission(spec)

    def plan(self, doc: Document, spec: dict[str, Any], walk: Walk, unresolved: list[str]) -> Change:
        from reconciler.kinds.permission.plan import plan_permission  # lazy: start-up

        return plan_permission(doc, spec, walk, unresolved)

    def plan_destroy(self, address: str, rs: ResourceState, walk: Walk, *, prevent_destroy: bool,
                     delete_model: bool = False) -> Change:
        from reconciler.kinds.permission.plan import plan_permission_destroy  # lazy: start-up

        return plan_permission_destroy(address, rs, walk, prevent_destroy=prevent_destroy)

    def checkpoint_of(self, spec: Mapping[str, Any]) -> Any:
        return spec.get("fine_tuned_model_checkpoint")

    def read_for_import(self, address: str, object_id: str, reads: SnapshotReads) -> dict[str, Any]:
        return {"fine_tuned_model_checkpoint": object_id, "permissions": reads.permissions(object_id)}

    def imported_inputs(self, object_id: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        return {"fine_tuned_model_checkpoint": object_id,
                "project_ids": sorted(p["project_id"] for p in attributes.get("permissions") or [])}

    def output_attributes(self, resource: ResourceState) -> dict[str, Any]:
        attrs = super().output_attributes(resource)
        attrs["project_ids"] = sorted(p["project_id"] for p in attrs.get("permissions") or [])
        return attrs

    def model_grants(self, resource: ResourceState) -> tuple[str, tuple[str, ...]] | None:
        attrs = resource.attributes or {}
        checkpoint = attrs.get("fine_tuned_model_checkpoint") or resource.id
        if not isinstance(checkpoint, str) or not checkpoint:
            return None
        return checkpoint, tuple(sorted(p["project_id"] for p in attrs.get("permissions") or []
                                        if isinstance(p, Mapping) and isinstance(p.get("project_id"), str)))

    def unmanaged(self, plan: Plan, snapshot: Snapshot | None, specs: SpecSet, state: State,
                  selector: Mapping[str, str], include_finished: bool) -> Iterable[Finding]:
        from reconciler.kinds.permission.drift import unmanaged  # lazy: start-up

        return unmanaged(plan, snapshot, specs)

    def prune(self, finding: Finding, plan: Plan, snapshot: Snapshot | None,
              planned_revokes: set[tuple[Any, Any]]) -> Change | None:
        from reconciler.kinds.permission.drift import prune  # lazy: start-up

        return prune(finding, plan, snapshot, planned_revokes)

    def apply(self, ctx: ApplyContext, change: Change) -> str | None:
        from reconciler.kinds.permission.apply import apply_permission  # lazy: start-up

        return apply_permission(ctx, change)


PERMISSION = PermissionKind()
