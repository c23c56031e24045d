"""Deployment: an Azure OpenAI deployment of a model (Microsoft.CognitiveServices/accounts/
deployments), managed through Azure Resource Manager with the provider's ARM account. A fine-tuned
model serves on Azure only once deployed. Schema: schema.py; planning: plan.py; applying: apply.py;
the ARM client: reconciler/api/arm.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.kinds.base import ApplyContext, Kind
from reconciler.kinds.deployment.apply import apply_deployment
from reconciler.kinds.deployment.plan import live_inputs, plan_deployment, plan_deployment_destroy
from reconciler.kinds.deployment.schema import deployment_spec

if TYPE_CHECKING:
    from reconciler.config.documents import Document
    from reconciler.plan.model import Change
    from reconciler.plan.walk import Walk
    from reconciler.state import ResourceState

__all__ = ["DEPLOYMENT", "DeploymentKind"]

KIND = "Deployment"


class DeploymentKind(Kind):
    name = type = KIND
    show_fields = ("id", "deployment_name", "model", "sku")
    attributes = frozenset({"id", "deployment_name", "model", "sku", "provisioning_state"})
    terraform_types = ("azurerm_cognitive_deployment",)
    control_plane = True
    hosted = True
    pending_verbs = ("Deploying", "Deployment")

    def spec_schema(self) -> dict[str, Any]:
        return deployment_spec()

    def plan(self, doc: Document, spec: dict[str, Any], walk: Walk, unresolved: list[str]) -> Change:
        return plan_deployment(doc, spec, walk, unresolved)

    def plan_destroy(self, address: str, rs: ResourceState, walk: Walk, *, prevent_destroy: bool,
                     delete_model: bool = False) -> Change:
        return plan_deployment_destroy(address, rs, walk, prevent_destroy=prevent_destroy)

    def apply(self, ctx: ApplyContext, change: Change) -> str | None:
        return apply_deployment(ctx, change)

    def view(self, change: Change, obj: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"id": obj.get("id"), **live_inputs(obj),
                "provisioning_state": (obj.get("properties") or {}).get("provisioningState")}

    def output_attributes(self, resource: ResourceState) -> dict[str, Any]:
        attrs = resource.attributes or {}
        return {"id": resource.id, **live_inputs(attrs),
                "provisioning_state": (attrs.get("properties") or {}).get("provisioningState")}

    def deployed_model(self, resource: ResourceState) -> tuple[str, str, str, int | None] | None:
        now = live_inputs(resource.attributes or {})
        model, name, sku = now.get("model"), now.get("deployment_name"), now["sku"]
        capacity = sku.get("capacity") if isinstance(sku.get("capacity"), int) else None
        if isinstance(model, str) and isinstance(name, str):
            return model, name, str(sku.get("name") or ""), capacity
        return None


DEPLOYMENT = DeploymentKind()
