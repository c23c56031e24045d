"""Planning for CheckpointPermission: grants and revokes listed one by one.

`exclusive: true` is authoritative (every grant not listed is revoked); `exclusive: false` only
ensures the listed projects and revokes only grants that reconciler itself made and the spec
no longer lists.
"""

from __future__ import annotations

from typing import Any

from reconciler.errors import PlanError
from reconciler.kinds.data.checkpoints import selection_reason
from reconciler.kinds.permission.grants import grant_steps, move_steps
from reconciler.plan.model import Action, AttrChange, Change, Drift, Op, ReplaceMode, Step
from reconciler.plan.walk import Walk
from reconciler.sharing import share_equal
from reconciler.values import UNKNOWN


def _grants(walk: Walk, rs: Any, checkpoint: str | None) -> list[dict[str, Any]]:
    if checkpoint is None:
        return []
    if walk.refreshed:
        return walk.reads.permissions(checkpoint)
    if rs is not None and rs.id == checkpoint:
        return list((rs.attributes or {}).get("permissions") or [])
    return []


def _record_drift(walk: Walk, address: str, kind: str, rs: Any, live: dict[str, dict[str, Any]]) -> None:
    if rs is None or not walk.refreshed:
        return
    known = {p["project_id"]: p for p in (rs.attributes or {}).get("permissions") or []}
    for project in sorted(set(live) - set(known)):
        walk.drift.append(Drift(address, kind, "grant_added",
                                f"{project} was granted {rs.id} outside reconciler ({live[project]['id']})",
                                before=None, after=project))
    for project in sorted(set(known) - set(live)):
        walk.drift.append(Drift(address, kind, "grant_removed",
                                f"the grant of {rs.id} to {project} was revoked outside reconciler",
                                before=project, after=None))


def plan_permission(doc: Any, spec: dict[str, Any], walk: Walk, unresolved: list[str]) -> Change:
    address = doc.address
    checkpoint = spec.get("fine_tuned_model_checkpoint")
    projects = spec.get("project_ids")
    # a whole list not known yet (taken from a data source that is not read yet) waits like one entry
    wanted = [UNKNOWN] if projects is UNKNOWN else list(dict.fromkeys(projects or []))
    exclusive = bool(spec.get("exclusive", False))
    rs = walk.state.resources.get(address)
    after = {"fine_tuned_model_checkpoint": checkpoint, "project_ids": wanted, "exclusive": exclusive}
    base = dict(address=address, kind=doc.type, config=doc.spec, depends_on=tuple(doc.depends_on))
    before = None if rs is None else {**(rs.inputs or {}), "id": rs.id}
    if before is not None:
        after = share_equal(after, before)  # equal values held once (10,000 unchanged grants)

    if checkpoint is UNKNOWN or checkpoint is None or UNKNOWN in wanted:
        reason = "; ".join(unresolved) or "the checkpoint is not known yet"
        walk.planned[address] = {"fine_tuned_model_checkpoint": UNKNOWN, "project_ids": after["project_ids"],
                                 "permissions": UNKNOWN}
        later: list[Step] = []
        if rs is not None:
            live = {p["project_id"]: p for p in _grants(walk, rs, rs.id)}
            _record_drift(walk, address, doc.type, rs, live)
            walk.live[address] = {"fine_tuned_model_checkpoint": rs.id, "permissions": list(live.values())}
            if checkpoint is UNKNOWN or checkpoint is None:
                # Once the checkpoint is known and differs (a replaced job's new model), applying
                # this revokes our grants on the old one: shown in the plan, the only revokes apply may do.
                if doc.lifecycle.prevent_destroy and live.keys() & set((rs.inputs or {}).get("project_ids") or []):
                    raise PlanError(f"{address}: lifecycle.prevent_destroy is set, but once its checkpoint is "
                                    f"known the grants on {rs.id} would be revoked")
                later = move_steps(str(rs.id), set((rs.inputs or {}).get("project_ids") or []), live, later=True)
        return Change(action=Action.PENDING, before=before, after=after, pending=reason, steps=tuple(later),
                      reasons=(f"waiting: {reason}",), prior_id=rs.id if rs else None, **base)

    live_list = _grants(walk, rs, checkpoint)
    live = {p["project_id"]: p for p in live_list}
    walk.live[address] = {"fine_tuned_model_checkpoint": checkpoint, "permissions": live_list}
    walk.planned[address] = {"fine_tuned_model_checkpoint": checkpoint, "project_ids": after["project_ids"],
                             "permissions": live_list}
    steps: list[Step] = []
    attrs: list[AttrChange] = []

    if rs is not None and rs.id != checkpoint:
        # The checkpoint itself changed (e.g. a new training run): revoke ours on the old one.
        if doc.lifecycle.prevent_destroy:
            raise PlanError(f"{address}: lifecycle.prevent_destroy is set, but the plan would move the grants "
                            f"from {rs.id} to {checkpoint}")
        old_live = {p["project_id"]: p for p in _grants(walk, rs, rs.id)}
        steps += move_steps(str(rs.id), set((rs.inputs or {}).get("project_ids") or []), old_live)
        attrs.append(AttrChange("fine_tuned_model_checkpoint", rs.id, checkpoint, forces_replacement=True))
        action = Action.REPLACE
        reasons = [f"the checkpoint changed from {rs.id} to {checkpoint}"]
        why = selection_reason(walk.planned, doc.depends_on, str(rs.id), checkpoint)  # a sweep's new winner
        if why:
            reasons.append(why)
        managed_before: set[str] = set()
    else:
        _record_drift(walk, address, doc.type, rs, live)
        action = Action.CREATE if rs is None else Action.UPDATE
        reasons = []
        managed_before = set((rs.inputs or {}).get("project_ids") or []) if rs else set()

    more_steps, more_attrs, more_reasons = grant_steps(checkpoint, wanted, exclusive, live, managed_before)
    steps += more_steps
    attrs += more_attrs
    reasons += more_reasons
    if not steps:
        if rs is None:
            # Everything wanted is granted already (by hand or an interrupted run): take it into state.
            return Change(action=Action.ADOPT, after=after, reasons=("all listed projects are already granted",),
                          steps=(Step(Op.ADOPT, checkpoint, {"id": checkpoint}),), **base)
        if not same_settings(rs.inputs or {}, wanted, exclusive):
            return Change(action=Action.UPDATE, before=before, after=after, reasons=("settings changed",),
                          steps=(), prior_id=rs.id, **base)
        return Change(action=Action.NOOP, before=before, after=after, prior_id=rs.id, **base)
    return Change(action=action, before=before, after=after, attrs=tuple(attrs), steps=tuple(steps),
                  reasons=tuple(reasons), prior_id=rs.id if rs else None,
                  replace=ReplaceMode.DESTROY_THEN_CREATE if action is Action.REPLACE else None, **base)


def same_settings(recorded: dict[str, Any], wanted: list[Any], exclusive: bool) -> bool:
    """Whether the recorded inputs say what the spec says. The projects are a set (the API keeps
    no order); an `exclusive` the state never recorded (a set taken over by `import`, which reads
    only the grants) is the spec's: there is nothing it could differ from."""
    if set(recorded.get("project_ids") or []) != set(wanted):
        return False
    return "exclusive" not in recorded or bool(recorded.get("exclusive")) == exclusive


def plan_permission_destroy(address: str, rs: Any, walk: Walk, *, prevent_destroy: bool = False) -> Change:
    if prevent_destroy:
        raise PlanError(f"{address}: lifecycle.prevent_destroy is set, but the plan would revoke its grants")
    live = {p["project_id"]: p for p in _grants(walk, rs, rs.id)}
    walk.live[address] = {"fine_tuned_model_checkpoint": rs.id, "permissions": list(live.values())}
    ours = set((rs.inputs or {}).get("project_ids") or [])
    steps = [Step(Op.REVOKE, f"revoke {p} on {rs.id}",
                  {"checkpoint": rs.id, "permission_id": live[p]["id"], "project_id": p})
             for p in sorted(ours & set(live))]
    steps.append(Step(Op.FORGET, "remove from state", {"id": rs.id}))
    return Change(address=address, kind=rs.kind, action=Action.DELETE, before={**(rs.inputs or {}), "id": rs.id},
                  reasons=("not in the specs",), steps=tuple(steps), prior_id=rs.id,
                  attrs=tuple(AttrChange(f"grant[{p}]", p, None) for p in sorted(ours & set(live))))
