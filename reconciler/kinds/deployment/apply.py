"""Applying a Deployment change through Azure Resource Manager: PUT (create-or-replace by name, so
a second PUT after a lost answer makes nothing twice), DELETE, and each long-running operation
polled to its end with a progress line per poll.

A deployment planned before its model was known (PENDING: the job is still training) resolves the
spec once the job finished (the executor waits with --wait); if the deployment then serves
another model it is deleted first — a step the plan showed as conditional."""

from __future__ import annotations

from typing import Any

from reconciler.errors import ApiError, NotFoundError, PlanError
from reconciler.kinds.base import ApplyContext, Kind
from reconciler.kinds.deployment.plan import desired, live_inputs
from reconciler.plan.model import Action, Change, Op
from reconciler.state import ResourceState

__all__ = ["apply_deployment"]

MAX_POLLS = 10_000


def _arm(ctx: ApplyContext) -> Any:
    arm_for = getattr(ctx.client, "arm_for", None)
    if arm_for is None:
        raise PlanError("a Deployment needs a provider with an Azure Resource Manager account (subscription_id, "
                        "resource_group, account)")
    return arm_for()


def _wait(ctx: ApplyContext, arm: Any, address: str, url: str | None, what: str) -> None:
    """Poll an asynchronous operation until it ends; raise unless it Succeeded."""
    if not url:
        return
    for polls in range(MAX_POLLS):
        status = str(arm.operation(url).get("status") or "InProgress")
        if status == "Succeeded":
            return
        if status in ("Failed", "Canceled"):
            raise ApiError(f"{what}: the operation ended {status}", method="GET", path=url.split("?")[0])
        if polls % 5 == 0:
            ctx.announce(address, f"{what}: {status}")
        ctx.pause()
    raise ApiError(f"{what}: still not done after {MAX_POLLS} polls")


def _delete(ctx: ApplyContext, arm: Any, address: str, name: str) -> None:
    ctx.announce(address, f"deleting deployment {name}")
    try:
        url = arm.delete_deployment(name)
    except NotFoundError:
        return
    _wait(ctx, arm, address, url, f"deleting {name}")


def _gone_if_deleting(ctx: ApplyContext, arm: Any, address: str, name: str) -> None:
    """A deletion still running (an interrupted replace, or one made by hand): wait until it is gone,
    since a PUT of the same name is refused meanwhile."""
    for polls in range(MAX_POLLS):
        try:
            state = (arm.get_deployment(name).get("properties") or {}).get("provisioningState")
        except NotFoundError:
            return
        if state != "Deleting":
            return
        if polls % 5 == 0:
            ctx.announce(address, f"waiting for deployment {name} to finish deleting")
        ctx.pause()
    raise ApiError(f"deployment {name} is still being deleted after {MAX_POLLS} polls")


def _destroy(ctx: ApplyContext, arm: Any, change: Change) -> None:
    for step in change.steps:
        if step.op is Op.DELETE_DEPLOYMENT:
            _delete(ctx, arm, change.address, step.args["name"])
        elif step.op is Op.FORGET:
            Kind.forget(ctx, change, step)


def _clear_the_name(ctx: ApplyContext, arm: Any, change: Change, name: str, model: Any) -> None:
    """Deletes what must go before the PUT: the planned delete of a replace, or, for a change planned
    before its model was known, the deployment serving another model (only if the plan showed it)."""
    if change.action is not Action.PENDING:
        for step in change.steps:
            if step.op is Op.DELETE_DEPLOYMENT:
                _delete(ctx, arm, change.address, step.args["name"])
        return
    try:
        now = live_inputs(arm.get_deployment(name))
    except NotFoundError:
        now = None
    if now is not None and now["model"] != model:
        if not any(s.op is Op.DELETE_DEPLOYMENT for s in change.steps):
            raise PlanError(f"{change.address}: deployment {name} serves {now['model']}, and replacing it was "
                            "not in the plan; nothing was changed: run plan again")
        _delete(ctx, arm, change.address, name)


def apply_deployment(ctx: ApplyContext, change: Change) -> str | None:
    arm = _arm(ctx)
    if change.action is Action.DELETE:
        _destroy(ctx, arm, change)
        return None
    if change.action is Action.ADOPT:
        live = arm.get_deployment((change.after or {})["deployment_name"])
        return _record(ctx, change, dict(change.after or {}), live)
    spec = ctx.resolve_or_wait(change) if change.action is Action.PENDING else ctx.resolve(change)
    doc_name = change.address.split(".", 1)[1]
    want = desired(doc_name, spec)
    name = want["deployment_name"]
    _clear_the_name(ctx, arm, change, name, want["model"])
    _gone_if_deleting(ctx, arm, change.address, name)
    body = {"sku": {"name": want["sku"]["name"], "capacity": want["sku"]["capacity"]},
            "properties": {"model": {"format": "OpenAI", "name": want["model"], "version": "1"}}}
    ctx.announce(change.address, f"deploying {want['model']} as {name}")
    obj, url = arm.put_deployment(name, body)
    _wait(ctx, arm, change.address, url, f"deployment {name}")
    live = arm.get_deployment(name) if url else obj
    return _record(ctx, change, want, live)


def _record(ctx: ApplyContext, change: Change, want: dict[str, Any], live: dict[str, Any]) -> str:
    deployment_id = str(live.get("id"))
    resource = ResourceState(address=change.address, kind=change.kind, id=deployment_id, inputs=want,
                             attributes=dict(live), depends_on=list(change.depends_on))
    ctx.record(change.address, resource)
    ctx.remember(change, live)
    return deployment_id
