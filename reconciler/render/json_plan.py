"""The machine-readable plan (`plan --json`, `show --json`, and the file `plan --out` writes).

Versioned by `format_version` (documented in docs/PLAN_JSON.md, schema in
render/schema/plan.schema.json). Values known only after apply are null in `after` and listed
in `after_unknown`, as Terraform does; `plan_from_dict` restores them."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from reconciler import __version__
from reconciler.cost.estimate import PlanCost
from reconciler.display import plain
from reconciler.plan.model import (
    Action,
    AttrChange,
    Change,
    Drift,
    Elsewhere,
    Health,
    Op,
    Plan,
    ReplaceMode,
    ServingEnd,
    Step,
)
from reconciler.resources.canonical import MISSING
from reconciler.values import UNKNOWN

# 1.1: summary counts the destructive steps (revoke, cancel_job, delete_file)
# 1.2: a `cost` object per job created or replaced, and `summary.cost` (the plan's total)
# 1.3: `other_workspaces` on a create whose address another workspace's live object holds
# 1.4: the `delete_model` step (lifecycle.delete_model_on_destroy) and its count in the summary
# 1.5: `serving_end` on a create whose model has a known end (when the fine-tuned model stops answering)
# 1.6: Azure deployments: `deploy` / `delete_deployment` steps (the latter counted in the summary), a
#      `hosting` cost per deployment created, `hosting_usd_per_month` in `summary.cost`
FORMAT_VERSION = "1.6"
__all__ = ["FORMAT_VERSION", "iter_plan_json", "plan_from_dict", "plan_to_dict"]


def _encode(value: Any, path: str, unknown: list[str]) -> Any:
    if value is UNKNOWN:
        unknown.append(path)
        return None
    if value is MISSING:
        return None
    if isinstance(value, dict):
        return {k: _encode(v, f"{path}.{k}" if path else str(k), unknown) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, f"{path}[{i}]", unknown) for i, v in enumerate(value)]
    return value


def _set_unknown(value: Any, path: str) -> Any:
    if not path:
        return UNKNOWN
    head, _, rest = path.partition(".")
    index = None
    if "[" in head:
        head, _, idx = head.partition("[")
        index = int(idx.rstrip("]"))
    if isinstance(value, dict):
        if index is not None and isinstance(value.get(head), list):
            value[head][index] = _set_unknown(value[head][index], rest)
        else:
            value[head] = _set_unknown(value.get(head), rest)
    return value


def change_to_dict(c: Change, cost: PlanCost | None = None) -> dict[str, Any]:
    data = _change_dict(c)
    if c.elsewhere:
        data["other_workspaces"] = [{"workspace": e.workspace, "id": e.id, "status": e.status,
                                     "files": dict(e.files), "message": e.note(c.address),
                                     **({"name": e.name, "folder": e.folder} if e.name is not None else {})}
                                    for e in c.elsewhere]
    if c.serving_end is not None:
        end = c.serving_end
        data["serving_end"] = {"base": end.base, "date": end.date, "days_left": end.days_left,
                               "source": end.source, "message": end.message()}
    if cost is not None and c.address in cost.by_address:
        data["cost"] = cost.by_address[c.address].to_dict()
    return data


def _change_dict(c: Change) -> dict[str, Any]:
    unknown: list[str] = []
    after = _encode(c.after, "", unknown) if c.after is not None else None
    return {
        "address": c.address, "kind": c.kind, "name": c.name, "action": c.action.value,
        "actions": _actions(c), "create_before_destroy": c.create_before_destroy,
        "reasons": list(c.reasons), "prior_id": c.prior_id, "before": plain(c.before), "after": after,
        "after_unknown": unknown,
        "changed": [{"path": a.path, "before": plain(a.before), "after": plain(a.after),
                     "after_unknown": a.after is UNKNOWN, "forces_replacement": a.forces_replacement}
                    for a in c.attrs],
        "steps": [{"op": s.op.value, "detail": s.detail, "args": plain(s.args)} for s in c.steps],
        "pending": c.pending, "depends_on": list(c.depends_on), "config": c.config,
    }


def _actions(c: Change) -> list[str]:
    if c.action is Action.REPLACE:
        return ["create", "delete"] if c.create_before_destroy else ["delete", "create"]
    return [c.action.value]


def plan_to_dict(plan: Plan, cost: PlanCost | None = None) -> dict[str, Any]:
    data = _head(plan, cost)
    data["resource_changes"] = [change_to_dict(c, cost) for c in plan.changes]
    data.update(_tail(plan))
    data["observed"] = plain(plan.observed)
    return data


def iter_plan_json(plan: Plan, *, indent: int = 2, extra: dict[str, Any] | None = None,
                   cost: PlanCost | None = None) -> Iterator[str]:
    """`json.dumps(plan_to_dict(plan) | extra, indent=indent)`, produced piece by piece: one change
    and one observed object at a time, so a large plan is never a dict of all of them plus the whole
    text (BENCHMARKS.md has the peak it avoids). Parsing the result gives exactly plan_to_dict."""
    dump = functools.partial(json.dumps, indent=indent, default=str)
    pad = "\n" + " " * indent
    deeper = pad + " " * indent

    def member(key: str, value: Any, first: bool) -> str:
        return ("{" if first else ",") + pad + dump(key) + ": " + dump(value).replace("\n", pad)

    def lazy(key: str, items: Iterator[str], first: bool) -> Iterator[str]:
        yield ("{" if first else ",") + pad + dump(key) + ": "
        opened = False
        for text in items:
            yield ("[" if not opened else ",") + deeper + text.replace("\n", deeper)
            opened = True
        yield (pad + "]") if opened else "[]"

    head = _head(plan, cost)
    first = True
    for key, value in head.items():
        yield member(key, value, first)
        first = False
    yield from lazy("resource_changes", (dump(change_to_dict(c, cost)) for c in plan.changes), first)
    for key, value in _tail(plan).items():
        yield member(key, value, False)
    yield "," + pad + dump("observed") + ": "
    observed = plan.observed
    if not observed:
        yield "{}"
    else:
        for i, (address, value) in enumerate(observed.items()):
            yield ("{" if i == 0 else ",") + deeper + dump(address) + ": " + \
                dump(plain(value)).replace("\n", deeper)
        yield pad + "}"
    for key, value in (extra or {}).items():
        yield member(key, value, False)
    yield "\n}"


def _head(plan: Plan, cost: PlanCost | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = plan.counts()
    if cost is not None:
        summary["cost"] = cost.summary()
    return {
        "format_version": FORMAT_VERSION,
        "reconciler_version": __version__,
        "lineage": plan.lineage,
        "serial": plan.serial,
        "created_at": plan.created_at,
        "refresh_only": plan.refresh_only,
        "destroy": plan.destroy,
        "refreshed": plan.refreshed,
        "targets": list(plan.targets),
        "has_changes": plan.has_changes,
        "has_drift": bool(plan.drift),
        "summary": summary,
    }


def _tail(plan: Plan) -> dict[str, Any]:
    return {
        "resource_drift": [{"address": d.address, "kind": d.kind, "what": d.what, "message": d.message,
                            "before": plain(d.before), "after": plain(d.after)} for d in plan.drift],
        "health": [{"address": h.address, "kind": h.kind, "status": h.status, "message": h.message,
                    "error": h.error} for h in plan.health],
        "warnings": list(plan.warnings),
        "moves": [{"from": a, "to": b} for a, b in plan.moves],
        "imports": [{"to": a, "id": i} for a, i in plan.imports.items()],
    }


def _serving_end(raw: Any) -> ServingEnd | None:
    if not isinstance(raw, dict):
        return None
    return ServingEnd(str(raw.get("base")), str(raw.get("date")), int(raw.get("days_left") or 0),
                      str(raw.get("source")))


def plan_from_dict(data: dict[str, Any]) -> Plan:
    """The Plan a saved plan describes. Consumes `data["resource_changes"]` as it goes (each raw
    change is dropped once its Change exists: 10,000 are not all held twice)."""
    changes = []
    raw = data["resource_changes"]
    raw.reverse()
    while raw:
        c = raw.pop()
        after = c.get("after")
        for path in c.get("after_unknown") or []:
            after = _set_unknown(after, path)
        action = Action(c["action"])
        steps = tuple(Step(Op(s["op"]), s.get("detail", ""), s.get("args") or {}) for s in c.get("steps") or ())
        # The replace variant is not a field of the JSON form: it follows from these two.
        mode = ReplaceMode.of(create_first=bool(c.get("create_before_destroy")),
                              forget=any(s.op is Op.FORGET for s in steps)) if action is Action.REPLACE else None
        changes.append(Change(
            address=c["address"], kind=c["kind"], action=action, reasons=tuple(c.get("reasons") or ()),
            before=c.get("before"), after=after,
            attrs=tuple(AttrChange(a["path"], a["before"], UNKNOWN if a.get("after_unknown") else a["after"],
                                   a.get("forces_replacement", False)) for a in c.get("changed") or ()),
            steps=steps, config=c.get("config"), depends_on=tuple(c.get("depends_on") or ()),
            create_before_destroy=bool(c.get("create_before_destroy")), pending=c.get("pending"),
            prior_id=c.get("prior_id"), replace=mode,
            elsewhere=tuple(Elsewhere(e["workspace"], e["id"], e.get("status"), tuple((e.get("files") or {}).items()),
                                      name=e.get("name"), folder=e.get("folder"))
                            for e in c.get("other_workspaces") or ()),
            serving_end=_serving_end(c.get("serving_end"))))
    return Plan(
        lineage=data["lineage"], serial=data["serial"], changes=tuple(changes),
        drift=tuple(Drift(d["address"], d["kind"], d["what"], d["message"], d.get("before"), d.get("after"))
                    for d in data.get("resource_drift") or ()),
        health=tuple(Health(h["address"], h["kind"], h["status"], h["message"], h.get("error"))
                     for h in data.get("health") or ()),
        warnings=tuple(data.get("warnings") or ()), refresh_only=bool(data.get("refresh_only")),
        destroy=bool(data.get("destroy")), targets=tuple(data.get("targets") or ()),
        created_at=float(data.get("created_at") or 0), refreshed=bool(data.get("refreshed", True)),
        observed=data.get("observed") or {},
        moves=tuple((m["from"], m["to"]) for m in data.get("moves") or ()),
        imports={i["to"]: i["id"] for i in data.get("imports") or ()})
