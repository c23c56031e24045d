"""The sandbox as Azure OpenAI's data plane (`flavor="azure"`; docs/SANDBOX.md, "Azure flavour").

The same world answers; what Azure does differently is here:

- paths: `/openai/{path}?api-version=V` and the version-less `/openai/v1/{path}` both reach the
  `/v1/{path}` routes; `/v1/...` itself, or `/openai/...` without an api-version, is not Azure's;
- authentication: the resource key in an `api-key` header (the one key is `AZURE_OPENAI_API_KEY`
  of the sandbox's environment when set, or the `azure_key` it was started with; else any
  non-empty key), or a Microsoft Entra ID token as `Authorization: Bearer` (the sandbox cannot
  check a token's signature: any non-empty bearer token is accepted);
- error bodies: `{"error": {"code": "401", "message": …}}` for a wrong key, "Resource not found"
  for a path Azure does not serve — among them the checkpoint-permission routes (Azure has none);
- chat completions through a deployment: `/openai/deployments/{deployment}/chat/completions`, and
  `/openai/v1/chat/completions` with `model` naming the deployment (arm.py `call_deployment`);
- fine-tuned model names `<base>.ft-<32 hex>` (lifecycle.py's `fine_tuned_name`);
- the models list in Azure's shape (capabilities, lifecycle_status, deprecation), its base models
  those Azure fine-tunes (reconciler/lifecycle/end_dates.json, platform azure), and a job on a base
  past its Azure training end refused on the sandbox's clock.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.lifecycle.data import shipped
from reconciler_sandbox import lifecycle
from reconciler_sandbox.chat import check_request
from reconciler_sandbox.end_dates import base_snapshot, serving_end, today, training_end, training_refusal
from reconciler_sandbox.errors import ApiError
from reconciler_sandbox.projects import job_filter

if TYPE_CHECKING:
    from reconciler_sandbox.routes import Request
    from reconciler_sandbox.world import World

__all__ = ["EXTRA_ROUTES", "FLAVORS", "ROUTES", "AzureError", "authenticate", "check_training_open", "list_models",
           "route_path"]

FLAVORS = ("openai", "azure")
PLATFORM = "azure"
INVALID_KEY = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
               "key for an active subscription and use a correct regional API endpoint for your resource.")
NOT_FOUND = "Resource not found"
MISSING_VERSION = "The api-version query parameter (?api-version=) is required for all requests."
BASE_CREATED = 1_721_260_800
# Routes Azure's data plane does not have: checkpoint permissions are OpenAI's alone.
_ABSENT = ("/v1/fine_tuning/checkpoints/",)


class AzureError(ApiError):
    """An error answered in Azure's shape: `{"error": {"code": "401", "message": "…"}}`."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(status, message, code=code or str(status))

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def route_path(path: str, query: Mapping[str, list[str]]) -> str:
    """The `/v1/...` route an Azure data-plane path reaches; AzureError when Azure serves no such path."""
    if path.startswith("/openai/v1/"):
        inner = "/v1/" + path[len("/openai/v1/"):]
    elif path.startswith("/openai/"):
        if not [v for v in query.get("api-version", []) if v]:
            raise AzureError(404, MISSING_VERSION, code="404")
        inner = "/v1/" + path[len("/openai/"):]
        if inner.rstrip("/") == "/v1/chat/completions":   # the api-version API chats through deployments only
            raise AzureError(404, NOT_FOUND)
    else:
        raise AzureError(404, NOT_FOUND)
    if inner.startswith(_ABSENT):
        raise AzureError(404, NOT_FOUND)
    return inner


def authenticate(headers: Mapping[str, str], valid_key: str | None) -> str:
    """The credential of a request (an api-key, or a bearer token), or AzureError 401."""
    key = (headers.get("api-key") or "").strip()
    if key:
        if valid_key and key != valid_key:
            raise AzureError(401, INVALID_KEY)
        return key
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "entra:" + hashlib.sha256(token.strip().encode()).hexdigest()[:12]
    raise AzureError(401, INVALID_KEY)


def _day_epoch(day: Any) -> int:
    return calendar.timegm(day.timetuple())


def _bases() -> list[str]:
    return sorted(shipped().platform(PLATFORM).models)


def _model(model_id: str, created: int, *, fine_tune: bool, base: str | None = None,
           job_id: str | None = None) -> dict[str, Any]:
    deprecation: dict[str, int] = {}
    trains = training_end(model_id, PLATFORM)
    if fine_tune and trains is not None:
        deprecation["fine_tune"] = _day_epoch(trains.date)
    serves = serving_end(model_id, PLATFORM)
    if serves is not None:
        deprecation["inference"] = _day_epoch(serves.date)
    found: dict[str, Any] = {"id": model_id, "object": "model", "created_at": created, "status": "succeeded",
                             "lifecycle_status": "generally-available",
                             "capabilities": {"fine_tune": fine_tune, "inference": True, "completion": False,
                                              "chat_completion": True, "embeddings": False},
                             "deprecation": deprecation}
    if base is not None:
        found["model"] = base
        found["fine_tune"] = job_id
    return found


def list_models(world: World, req: Request) -> dict[str, Any]:
    """GET /openai/models: the bases Azure fine-tunes and the fine-tuned models of succeeded jobs."""
    now = world.now()
    data = [_model(name, BASE_CREATED, fine_tune=training_refusal(name, now, PLATFORM) is None)
            for name in _bases()]
    data += [_model(lifecycle.fine_tuned_model_name(job), int(done), fine_tune=False, base=str(job["model"]),
                    job_id=str(job["id"]))
             for job, done in lifecycle.succeeded_jobs(world, job_filter(req), now)]
    return {"object": "list", "data": data}


def get_model(world: World, req: Request) -> dict[str, Any]:
    wanted = req.params["model"]
    for model in list_models(world, req)["data"]:
        if model["id"] == wanted:
            return dict(model)
    raise AzureError(404, NOT_FOUND)


def check_training_open(world: World, body: Any) -> None:
    """Refuse a job on a base Azure does not fine-tune, or past its Azure training end on the
    sandbox's clock (Azure's text for these is not published: the OpenAI error shape is kept)."""
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, str) or not model:
        return
    base = base_snapshot(model)
    if base not in shipped().platform(PLATFORM).models:
        raise ApiError(400, f"Model {model} is not available for fine-tuning on this resource or does not exist.",
                       param="model", code="invalid_model")
    end = training_refusal(model, world.now(), PLATFORM)
    if end is not None:
        raise ApiError(400, f"Fine-tuning of {base} is retired on this resource: new jobs cannot be created from "
                            f"{end.day} (today is {today(world.now()).isoformat()}).", param="model",
                       code="model_retired")


def deployment_chat(world: World, req: Request) -> dict[str, Any]:
    """POST /openai/deployments/{deployment}/chat/completions?api-version=V: the deployed model
    answers (the body needs no `model`)."""
    return world.chat_completion(req.json(), deployment=req.params["deployment"])


def v1_chat(world: World, req: Request) -> dict[str, Any]:
    """POST /openai/v1/chat/completions: `model` names a deployment, as on Azure's v1 API."""
    body = req.json()
    model, *_ = check_request(body)
    return world.chat_completion(body, deployment=model)


# Routes answered differently on Azure (same path as OpenAI's)
ROUTES = {"/v1/models": list_models, "/v1/models/{model}": get_model, "/v1/chat/completions": v1_chat}
# Routes Azure has and OpenAI does not
EXTRA_ROUTES = [("POST", "/v1/deployments/{deployment}/chat/completions", deployment_chat)]
