"""The sandbox's Azure Resource Manager routes: Cognitive Services account deployments.

    /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{account}
        /deployments                    GET (list)
        /deployments/{name}             GET, PUT (createOrUpdate: 201/200 + Azure-AsyncOperation), DELETE
    /subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/sandbox/operationResults/{id}
                                        GET (the asynchronous operation's status)

Shapes as Azure/azure-rest-api-specs Microsoft.CognitiveServices (Deployment.tsp; stable 2025-06-01
examples GetDeployment.json, and DeleteDeployment.json: 200, 202 + azure-asyncoperation, 204)
describe them; every behaviour and its source is a row in docs/SANDBOX.md. Deployments are kept
in the world (persisted with it), keyed by their lower-cased ARM id; what Azure removes on its own
(Developer tier after 24 hours, an idle fine-tuned deployment after 15 days) is gone from the
moment the sandbox clock passes that time.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from reconciler_sandbox.azure import AzureError
from reconciler_sandbox.models import ALIASES, SNAPSHOTS

if TYPE_CHECKING:  # the world imports this module (a call through a deployment)
    from reconciler_sandbox.world import World

__all__ = ["ArmError", "call_deployment", "handle"]

DEVELOPER_LIFETIME = 24 * 3600.0       # fine-tune-test: "Developer Tier deployments have a fixed lifetime of 24 hours"
IDLE_LIMIT = 15 * 24 * 3600.0          # fine-tuning-deploy / manage-costs: inactive for more than 15 days
SKUS = {"standard": "Standard", "globalstandard": "GlobalStandard", "developertier": "DeveloperTier"}
TOKEN_VARIABLE = "AZURE_MANAGEMENT_TOKEN"
DEPLOYMENT_NOT_FOUND = ("The API deployment for this resource does not exist. If you created the deployment within "
                        "the last 5 minutes, please wait a moment and try again.")

_ACCOUNT = (r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
            r"Microsoft\.CognitiveServices/accounts/(?P<account>[^/]+)")
_LIST = re.compile(_ACCOUNT + r"/deployments/?$", re.IGNORECASE)
_ONE = re.compile(_ACCOUNT + r"/deployments/(?P<name>[^/]+)$", re.IGNORECASE)
_OPERATION = re.compile(r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.CognitiveServices/locations/"
                        r"sandbox/operationResults/(?P<op>[^/]+)$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ArmError(Exception):
    """An ARM error answer: {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def handle(world: World, method: str, path: str, headers: dict[str, str], query: dict[str, list[str]],
           body: bytes, base_url: str) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
    """(status, JSON body or None, extra headers) of one ARM request; ArmError for an error answer."""
    _authenticate(headers)
    if not (query.get("api-version") or [""])[0]:
        raise ArmError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.")
    path = unquote(path)
    if m := _OPERATION.match(path):
        if method != "GET":
            raise _method(method)
        return 200, _operation(world, m["op"]), {}
    if m := _LIST.match(path):
        if method != "GET":
            raise _method(method)
        prefix = _account_id(m).lower() + "/deployments/"
        with world.lock:
            _expire(world)
            found = [_view(world, d) for key, d in sorted(_store(world).items()) if key.startswith(prefix)]
        return 200, {"value": found}, {}
    if m := _ONE.match(path):
        deployment_id = f"{_account_id(m)}/deployments/{m['name']}"
        if method == "GET":
            with world.lock:
                _expire(world)
                return 200, _view(world, _existing(world, deployment_id)), {}
        if method == "PUT":
            return _put(world, deployment_id, m["name"], m["sub"], body, base_url)
        if method == "DELETE":
            return _delete(world, deployment_id, m["sub"], base_url)
        raise _method(method)
    raise ArmError(404, "InvalidResourceType", f"The resource type could not be found for the path {path}.")


# -- auth ----------------------------------------------------------------------------------------------

def _authenticate(headers: dict[str, str]) -> None:
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if not auth:
        raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
    if scheme.lower() != "bearer" or not token.strip():
        raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.")
    valid = os.environ.get(TOKEN_VARIABLE)
    if valid and token.strip() != valid:
        raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.")


# -- the deployments ----------------------------------------------------------------------------------

def _store(world: World) -> dict[str, dict[str, Any]]:
    store: dict[str, dict[str, Any]] = world.deployments
    return store


def _account_id(m: re.Match[str]) -> str:
    return (f"/subscriptions/{m['sub']}/resourceGroups/{m['rg']}/providers/Microsoft.CognitiveServices/"
            f"accounts/{m['account']}")


def _existing(world: World, deployment_id: str) -> dict[str, Any]:
    found = _store(world).get(deployment_id.lower())   # one being deleted answers, as Deleting
    if found is None:
        name = deployment_id.rsplit("/", 1)[1]
        raise ArmError(404, "DeploymentNotFound", f"Deployment {name} not found.")
    return found


def call_deployment(world: World, name: str) -> str:
    """The model a data-plane call to deployment `name` reaches (Azure: `/openai/deployments/{name}/...`),
    the call counted against its idling; 404 DeploymentNotFound for one that does not serve (absent,
    still being created, being deleted). The sandbox is one resource: the deployments of every account
    in its world are its deployments (the first by id when two accounts use the name). The caller
    holds the world's lock."""
    _expire(world)
    now = world.now()
    for _key, d in sorted(_store(world).items()):
        if d["name"].lower() != name.lower() or d.get("deleting_done") is not None:
            continue
        if d["created"] == d["changed"] and now < d["ready"]:
            break   # still being created: not served yet
        d["last_used"] = now
        world.changed()
        return str(d["model"]["name"])
    raise AzureError(404, DEPLOYMENT_NOT_FOUND, code="DeploymentNotFound")


def _expire(world: World) -> None:
    """Remove what Azure removes on its own once the clock has passed its time."""
    now = world.now()
    for key, d in list(_store(world).items()):
        gone = d.get("deleting_done")
        if (gone is not None and now >= gone) or (d["sku"]["name"] == "DeveloperTier" and now >= d["created"] + DEVELOPER_LIFETIME) or (d.get("fine_tuned") and now >= max(d["created"], d.get("last_used") or 0.0) + IDLE_LIMIT):
            del _store(world)[key]
        else:
            continue
        world.changed()


def _view(world: World, d: dict[str, Any]) -> dict[str, Any]:
    now = world.now()
    state = "Succeeded" if now >= d["ready"] else ("Creating" if d["created"] == d["changed"] else "Updating")
    if d.get("deleting_done") is not None:
        state = "Deleting"
    return {"id": d["id"], "name": d["name"], "type": "Microsoft.CognitiveServices/accounts/deployments",
            "sku": dict(d["sku"]),
            "properties": {"model": dict(d["model"]), "provisioningState": state},
            "systemData": {"createdAt": _iso(d["created"]), "lastModifiedAt": _iso(d["changed"])}}


def _iso(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                       "deserialized.") from None
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                       "deserialized.")
    return body


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _model_known(world: World, name: str) -> tuple[bool, bool]:
    """(the model exists in this world, it is a fine-tune)."""
    if name in ALIASES or name in SNAPSHOTS:
        return True, False
    job = world.job_for_model(name)
    if job is None:
        return False, True
    return world.get_job(job["id"]).get("fine_tuned_model") == name, True


def _put(world: World, deployment_id: str, name: str, sub: str, raw: bytes,
         base_url: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    if not _NAME.match(name):
        raise ArmError(400, "InvalidResourceName", f"The deployment name '{name}' is invalid: 1 to 64 letters, "
                       "digits, '_', '.' and '-', starting with a letter or digit.")
    body = _body(raw)
    sku = _mapping(body.get("sku"))
    sku_name = SKUS.get(str(sku.get("name") or "").lower())
    capacity = sku.get("capacity", 1)
    if sku_name is None:
        raise ArmError(400, "InvalidSkuName", f"The sku name '{sku.get('name')}' is not supported for this "
                       "deployment; use Standard, GlobalStandard or DeveloperTier.")
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ArmError(400, "InvalidCapacity", "The sku capacity must be a positive integer.")
    model = _mapping(_mapping(body.get("properties")).get("model"))
    model_name = model.get("name")
    if model.get("format") != "OpenAI" or not isinstance(model_name, str) or not model_name:
        raise ArmError(400, "InvalidResourceProperties", "properties.model needs format 'OpenAI' and a name.")
    version = str(model.get("version") or "1")
    with world.lock:
        _expire(world)
        known, fine_tuned = _model_known(world, model_name)
        if not known:
            raise ArmError(400, "DeploymentModelNotSupported",
                           f"The model 'Format:OpenAI,Name:{model_name},Version:{version}' of account deployment "
                           "is not supported.")
        now = world.now()
        key = deployment_id.lower()
        current = _store(world).get(key)
        if current is not None and current.get("deleting_done") is not None:
            raise ArmError(409, "Conflict", f"Deployment {name} is being deleted; try again once it is gone.")
        if current is not None and current["model"]["name"] != model_name:
            raise ArmError(400, "DeploymentModelNotChangeable", f"The model of deployment {name} cannot be "
                           "changed in place; delete the deployment and create it again.")
        record = {"id": current["id"] if current else deployment_id, "name": name,
                  "sku": {"name": sku_name, "capacity": capacity},
                  "model": {"format": "OpenAI", "name": model_name, "version": version},
                  "fine_tuned": fine_tuned, "created": current["created"] if current else now, "changed": now,
                  "ready": now + world.arm_provisioning_seconds, "last_used": current.get("last_used") if current else None}
        _store(world)[key] = record
        op = _new_operation(world, key, now + world.arm_provisioning_seconds)
        world.changed()
        view = _view(world, record)
    return (200 if current else 201), view, {"Azure-AsyncOperation": _operation_url(base_url, sub, op),
                                             "Retry-After": "10"}


def _delete(world: World, deployment_id: str, sub: str, base_url: str) -> tuple[int, None, dict[str, str]]:
    with world.lock:
        _expire(world)
        key = deployment_id.lower()
        current = _store(world).get(key)
        if current is None:
            return 204, None, {}
        if current.get("deleting_done") is None:
            current["deleting_done"] = world.now() + world.arm_provisioning_seconds
            world.changed()
        op = _new_operation(world, key, current["deleting_done"])
    return 202, None, {"Azure-AsyncOperation": _operation_url(base_url, sub, op), "Retry-After": "10"}


# -- asynchronous operations ---------------------------------------------------------------------------

def _new_operation(world: World, key: str, done: float) -> str:
    world.counter += 1
    op_id = f"op-{world.counter:08d}"
    world.arm_operations[op_id] = {"deployment": key, "started": world.now(), "done": done}
    return op_id


def _operation_url(base_url: str, sub: str, op_id: str) -> str:
    return (f"{base_url.rstrip('/')}/subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/sandbox/"
            f"operationResults/{op_id}?api-version=2025-06-01")


def _operation(world: World, op_id: str) -> dict[str, Any]:
    with world.lock:
        op = world.arm_operations.get(op_id)
        if op is None:
            raise ArmError(404, "OperationNotFound", f"The operation {op_id} was not found.")
        now = world.now()
        done = now >= op["done"]
        body = {"id": op_id, "name": op_id, "status": "Succeeded" if done else "InProgress",
                "startTime": _iso(op["started"])}
        if done:
            body["endTime"] = _iso(op["done"])
        return body


def _method(method: str) -> ArmError:
    return ArmError(405, "MethodNotAllowed", f"The requested method {method} is not allowed.")
