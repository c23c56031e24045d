"""Planning a Deployment: create, update in place (capacity), replace (a new model or deployment
type), delete, re-create what Azure or a person removed. Pure: the ARM listing comes from the
snapshot (`Read("deployments", (profile,))`).

A deployment's name is fixed within its account, so a replace deletes first and then creates
(docs/adr/0501-deployment-replace.md); `lifecycle.create_before_destroy` is refused for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.config.providers import declared_profile
from reconciler.errors import PlanError
from reconciler.kinds.deployment.ends import deployment_health, gone_refusal, serving_note
from reconciler.kinds.deployment.schema import SKUS
from reconciler.plan.model import Action, AttrChange, Change, Drift, Health, Op, ReplaceMode, Step
from reconciler.plan.walk import Walk
from reconciler.values import UNKNOWN

__all__ = ["desired", "live_inputs", "plan_deployment", "plan_deployment_destroy"]


def desired(doc_name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs a Deployment's spec asks for, in ARM's spelling (sku name as ARM writes it)."""
    sku = spec.get("sku") or {}
    return {"deployment_name": spec.get("deployment_name") or doc_name, "model": spec.get("model"),
            "sku": {"name": SKUS.get(str(sku.get("name")), sku.get("name")), "capacity": sku.get("capacity")}}


def live_inputs(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The same inputs read back from an ARM deployment object."""
    props = obj.get("properties") or {}
    sku = obj.get("sku") or {}
    return {"deployment_name": obj.get("name"), "model": (props.get("model") or {}).get("name"),
            "sku": {"name": sku.get("name"), "capacity": sku.get("capacity")}}


def _find(listing: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The deployment of that name, unless it is being deleted (then it is as good as gone: what an
    interrupted replace leaves; apply waits for it to go before creating it again)."""
    found = next((d for d in listing if str(d.get("name", "")).lower() == name.lower()), None)
    if found is not None and (found.get("properties") or {}).get("provisioningState") == "Deleting":
        return None
    return found


def _live(walk: Walk, profile: str, name: str, rs: Any) -> dict[str, Any] | None:
    if walk.refreshed:
        return _find(walk.reads.deployments(profile), name)
    return dict(rs.attributes) if rs is not None and rs.attributes else None


def _health(walk: Walk, address: str, kind: str, live: Mapping[str, Any] | None) -> None:
    state = ((live or {}).get("properties") or {}).get("provisioningState")
    if state in ("Failed", "Canceled"):
        walk.health.append(Health(address, kind, "failed", f"deployment {live.get('name') if live else ''} "
                                  f"provisioning {state.lower()}"))


def _check_name(address: str, name: Any, doc: Any) -> None:
    """Refuses a name Azure would not take, and create_before_destroy (the name is fixed)."""
    if not isinstance(name, str) or not name or not name[0].isalnum() or any(
            not (c.isalnum() or c in "_.-") for c in name):
        raise PlanError(f"{address}: {name!r} cannot be an Azure deployment name (letters, digits, _ . -): "
                        "set spec.deployment_name")
    if doc.lifecycle.create_before_destroy:
        raise PlanError(f"{address}: lifecycle.create_before_destroy cannot apply to a Deployment: its name is "
                        "fixed in the account, so the old one is deleted before the new one is created")


def _observe(walk: Walk, doc: Any, name: str, want: Mapping[str, Any], rs: Any,
             live: dict[str, Any] | None) -> None:
    """Records what the walk learns of this deployment: its live object and health, the values it
    will have once applied, and drift against what state recorded."""
    address = doc.address
    if live is not None:
        walk.live[address] = live
        _health(walk, address, doc.type, live)
        ending = deployment_health(address, doc.type, live_inputs(live)["model"], walk)
        if ending is not None:
            walk.health.append(ending)
    walk.planned[address] = {"id": live.get("id") if live else UNKNOWN, "deployment_name": name,
                             "model": want["model"], "sku": want["sku"],
                             "provisioning_state": UNKNOWN}
    if rs is not None and walk.refreshed:
        _drift(walk, address, doc.type, name, dict(rs.inputs or {}), rs.id, live)


def _drift(walk: Walk, address: str, kind: str, name: str, recorded: dict[str, Any], prior_id: Any,
           live: dict[str, Any] | None) -> None:
    if live is None:
        walk.drift.append(Drift(address, kind, "deleted",
                                f"deployment {name} was deleted outside reconciler (by hand, or by Azure: "
                                "Developer tier after 24 hours, idle fine-tuned deployments after 15 days)",
                                before=prior_id, after=None))
    elif recorded and live_inputs(live)["sku"] != recorded.get("sku"):
        walk.drift.append(Drift(address, kind, "sku_changed",
                                f"deployment {name}'s sku was changed outside reconciler",
                                before=recorded.get("sku"), after=live_inputs(live)["sku"]))


def _pending(name: str, want: dict[str, Any], rs: Any, live: dict[str, Any] | None, before: Any,
             unresolved: list[str], base: dict[str, Any]) -> Change:
    """The model or capacity is not known until apply: the deploy waits for it."""
    reason = "; ".join(unresolved) or "the model is not known yet"
    later: list[Step] = [Step(Op.DEPLOY, f"deploy {name} once the model is known", {"name": name})]
    if live is not None:
        # Once known, a different model replaces this deployment: shown now, done only then.
        later.insert(0, Step(Op.DELETE_DEPLOYMENT, f"delete deployment {name} ({live_inputs(live)['model']}) "
                             "if the model it serves changes", {"name": name, "id": live.get("id"),
                                                                 "when_model_changes": True}))
    return Change(action=Action.PENDING, before=before, after=want, pending=reason, steps=tuple(later),
                  reasons=(f"waiting: {reason}",), prior_id=rs.id if rs else None, **base)


def _create(name: str, want: dict[str, Any], rs: Any, before: Any, ends: Any, base: dict[str, Any]) -> Change:
    reasons = ("re-create: it was deleted outside reconciler",) if rs is not None else ()
    return Change(action=Action.CREATE, before=before, after=want, reasons=reasons, serving_end=ends,
                  steps=(Step(Op.DEPLOY, f"deploy {want['model']} as {name} ({want['sku']['name']}, "
                              f"capacity {want['sku']['capacity']})", {"name": name}),),
                  prior_id=rs.id if rs else None, **base)


def _adopt(address: str, name: str, want: dict[str, Any], live: dict[str, Any], base: dict[str, Any]) -> Change:
    """A deployment of that name exists but state does not know it: taken in only when it is
    exactly what the spec asks for (what an interrupted run made: a PUT is create-or-replace by
    name); anything else is refused."""
    now = live_inputs(live)
    if now["model"] == want["model"] and now["sku"] == want["sku"]:
        return Change(action=Action.ADOPT, after=want, reasons=(f"deployment {name} already serves this model",),
                      steps=(Step(Op.ADOPT, name, {"id": live.get("id")}),), **base)
    raise PlanError(f"{address}: deployment {name} already exists in the account (serving {now['model']}, "
                    f"{now['sku']['name']}) and is not managed here: delete it, or choose another "
                    "spec.deployment_name")


def _replace(doc: Any, name: str, want: dict[str, Any], rs: Any, live: dict[str, Any], before: Any,
             ends: Any, base: dict[str, Any]) -> Change:
    now = live_inputs(live)
    if doc.lifecycle.prevent_destroy:
        raise PlanError(f"{doc.address}: lifecycle.prevent_destroy is set, but the plan would delete deployment "
                        f"{name} to replace it")
    attrs = [AttrChange("model", now["model"], want["model"], forces_replacement=now["model"] != want["model"]),
             AttrChange("sku.name", now["sku"]["name"], want["sku"]["name"],
                        forces_replacement=now["sku"]["name"] != want["sku"]["name"])]
    return Change(action=Action.REPLACE, before=before, after=want,
                  attrs=tuple(a for a in attrs if a.before != a.after),
                  reasons=("a new model or deployment type is a new deployment",),
                  steps=(Step(Op.DELETE_DEPLOYMENT, f"delete deployment {name} ({now['model']})",
                              {"name": name, "id": live.get("id")}),
                         Step(Op.DEPLOY, f"deploy {want['model']} as {name}", {"name": name})),
                  prior_id=rs.id, replace=ReplaceMode.DESTROY_THEN_CREATE, serving_end=ends, **base)


def _resize_or_keep(name: str, want: dict[str, Any], rs: Any, live: dict[str, Any], before: Any,
                    base: dict[str, Any]) -> Change:
    now = live_inputs(live)
    if now["sku"]["capacity"] != want["sku"]["capacity"]:
        return Change(action=Action.UPDATE, before=before, after=want,
                      attrs=(AttrChange("sku.capacity", now["sku"]["capacity"], want["sku"]["capacity"]),),
                      steps=(Step(Op.DEPLOY, f"set {name}'s capacity to {want['sku']['capacity']}", {"name": name}),),
                      prior_id=rs.id, **base)
    return Change(action=Action.NOOP, before=before, after=want, prior_id=rs.id, **base)


def plan_deployment(doc: Any, spec: dict[str, Any], walk: Walk, unresolved: list[str]) -> Change:
    address = doc.address
    profile = declared_profile(doc)
    want = desired(doc.name, spec)
    name = want["deployment_name"]
    _check_name(address, name, doc)
    rs = walk.state.resources.get(address)
    live = _live(walk, profile, name, rs)
    base = dict(address=address, kind=doc.type, config=doc.spec, depends_on=tuple(doc.depends_on))
    before = None if rs is None else {**(rs.inputs or {}), "id": rs.id}
    _observe(walk, doc, name, want, rs, live)

    if want["model"] is UNKNOWN or want["model"] is None or want["sku"]["capacity"] is UNKNOWN:
        return _pending(name, want, rs, live, before, unresolved, base)

    creating = live is None or live_inputs(live)["model"] != want["model"] or (
        live_inputs(live)["sku"]["name"] != want["sku"]["name"])
    if creating and (refusal := gone_refusal(address, want["model"], walk)):
        raise PlanError(refusal)
    ends = serving_note(want["model"], walk) if creating else None
    if live is None:
        return _create(name, want, rs, before, ends, base)
    if rs is None:
        return _adopt(address, name, want, live, base)
    if creating:
        return _replace(doc, name, want, rs, live, before, ends, base)
    return _resize_or_keep(name, want, rs, live, before, base)


def plan_deployment_destroy(address: str, rs: Any, walk: Walk, *, prevent_destroy: bool) -> Change:
    if prevent_destroy:
        raise PlanError(f"{address}: lifecycle.prevent_destroy is set, but the plan would delete its deployment")
    name = (rs.inputs or {}).get("deployment_name") or str(rs.id).rsplit("/", 1)[-1]
    steps = [Step(Op.DELETE_DEPLOYMENT, f"delete deployment {name}", {"name": name, "id": rs.id}),
             Step(Op.FORGET, "remove from state", {"id": rs.id})]
    return Change(address=address, kind=rs.kind, action=Action.DELETE, before={**(rs.inputs or {}), "id": rs.id},
                  reasons=("not in the specs",), steps=tuple(steps), prior_id=rs.id)
