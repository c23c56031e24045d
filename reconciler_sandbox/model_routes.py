"""The models routes: `GET /v1/models` and `GET /v1/models/{model}`, with each model's
`shutdown_date` (YYYY-MM-DD or null, as the real API answers), on the sandbox's clock.

The base models are those the sandbox fine-tunes (sandbox/models.py), the fine-tuned ones those
of its succeeded jobs (visible to the job's project). Their end dates come from the shipped data
(reconciler/lifecycle/end_dates.json, platform openai; the rules are the sandbox's own statement of
them, end_dates.py): from its shutdown date on, a model is no
longer listed and answers 404, its fine-tunes with it; from the platform's job-creation end (or a
base's end) on, a job create is refused (`check_creation_open`). docs/SANDBOX.md says which of
these answers are sourced and which are not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler_sandbox import lifecycle
from reconciler_sandbox.end_dates import (
    PLATFORM,
    base_snapshot,
    creation_end,
    serving_end,
    today,
    training_refusal,
)
from reconciler_sandbox.errors import ApiError, not_found
from reconciler_sandbox.models import ALIASES, SNAPSHOTS
from reconciler_sandbox.projects import job_filter

if TYPE_CHECKING:
    from collections.abc import Callable

    from reconciler_sandbox.routes import Request
    from reconciler_sandbox.world import World

__all__ = ["MODEL_ROUTES", "check_creation_open", "get_model", "list_models", "serving"]

BASE_CREATED = 1_721_260_800   # a fixed `created` for the base models (2024-07-18): stable answers
CREATION_CLOSED_CODE = "fine_tuning_unavailable"   # not the real API's (unpublished): docs/SANDBOX.md


def _shutdown(model: str, platform: str = PLATFORM) -> str | None:
    end = serving_end(model, platform)
    return end.day if end is not None else None


def _model(model: str, created: int, owned_by: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": created, "owned_by": owned_by,
            "shutdown_date": _shutdown(model)}


def serving(model: str, now: float, platform: str = PLATFORM) -> bool:
    """Whether `model` (or a fine-tune of its base) still answers on the sandbox's clock, on
    `platform` ("azure": Azure's deployment retirement of fine-tunes)."""
    day = _shutdown(model, platform)
    return day is None or today(now).isoformat() < day


def _fine_tuned(world: World, project: str | None, now: float) -> list[dict[str, Any]]:
    return [_model(lifecycle.fine_tuned_model_name(job), int(done), str(job.get("organization_id") or "system"))
            for job, done in lifecycle.succeeded_jobs(world, project, now)]


def _catalogue(world: World, req: Request) -> list[dict[str, Any]]:
    now = world.now()
    bases = [_model(name, BASE_CREATED, "system") for name in sorted({*ALIASES, *SNAPSHOTS})]
    return [m for m in [*bases, *_fine_tuned(world, job_filter(req), now)] if serving(m["id"], now)]


def list_models(world: World, req: Request) -> dict[str, Any]:
    return {"object": "list", "data": _catalogue(world, req)}


def get_model(world: World, req: Request) -> dict[str, Any]:
    wanted = req.params["model"]
    for model in _catalogue(world, req):
        if model["id"] == wanted:
            return model
    raise not_found(f"The model '{wanted}' does not exist or you do not have access to it.", param="model",
                    code="model_not_found")


def check_creation_open(world: World, body: Any) -> None:
    """Refuse a job create the platform no longer accepts on the sandbox's clock: after its
    job-creation end (the refusal's real text is not published: this one keeps the OpenAI error
    shape), or on a base that no longer trains (answered as the API answers a model it does not
    fine-tune)."""
    model = body.get("model") if isinstance(body, dict) else None
    now = world.now()
    if not isinstance(model, str) or not model:
        return
    end = training_refusal(model, now)
    if end is None:
        return
    if end == creation_end():
        raise ApiError(400, f"Fine-tuning job creation is no longer available: new fine-tuning jobs cannot be "
                            f"created from {end.day}.", code=CREATION_CLOSED_CODE)
    raise ApiError(400, f"Model {base_snapshot(model)} is not available for fine-tuning or does not exist.",
                   param="model", code="model_not_found")


MODEL_ROUTES: list[tuple[str, str, Callable[[World, Request], dict[str, Any]]]] = [
    ("GET", "/v1/models", list_models),
    ("GET", "/v1/models/{model}", get_model),
]
