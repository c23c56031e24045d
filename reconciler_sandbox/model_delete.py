"""`DELETE /v1/models/{model}`: delete a fine-tuned model.

As the API reference describes it ("Delete a fine-tuned model"; openai-python's `models.delete`
answers `ModelDeleted {id, object: "model", deleted: true}`): only a fine-tuned model can be
deleted, by the organisation that owns it. The sandbox is one organisation: a key that can see the
model's job (its project's key, or any key when projects are not scoped) may delete it. Afterwards
the model no longer serves: it cannot be shared (checkpoint permissions answer 404) nor trained on,
and a second delete answers 404. The texts of the refusals are not published (docs/SANDBOX.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler_sandbox import lifecycle
from reconciler_sandbox.errors import ApiError, not_found
from reconciler_sandbox.models import ALIASES, SNAPSHOTS
from reconciler_sandbox.projects import check_job

if TYPE_CHECKING:
    from reconciler_sandbox.routes import Request
    from reconciler_sandbox.world import World

__all__ = ["ROUTE", "delete_model"]


def _missing(model: str) -> ApiError:
    return not_found(f"The model '{model}' does not exist or you do not have access to it.", param="model",
                     code="model_not_found")


def delete_model(world: World, req: Request) -> dict[str, Any]:
    model = req.params["model"]
    if model in ALIASES or model in SNAPSHOTS:
        raise ApiError(403, f"You cannot delete {model}: only fine-tuned models can be deleted.", param="model",
                       code="model_not_deletable")
    job = world.job_for_model(model)
    if job is None or lifecycle.status_at(job, world.now()) != "succeeded":
        raise _missing(model)
    try:
        check_job(world, req, str(job["id"]))
    except ApiError:
        raise _missing(model) from None
    with world.lock:
        if model in world.deleted_models:
            raise _missing(model)
        world.deleted_models.add(model)
    world.changed()
    return {"id": model, "object": "model", "deleted": True}


ROUTE = ("DELETE", "/v1/models/{model}", delete_model)
