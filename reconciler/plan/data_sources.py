"""Data sources (seed 000): read during planning; their results feed references."""

from __future__ import annotations

from typing import Any

from reconciler.errors import PlanError
from reconciler.plan.model import Action, Change
from reconciler.plan.observed import Observed
from reconciler.plan.walk import Walk
from reconciler.values import UNKNOWN, contains_unknown

METRICS = ("train_loss", "valid_loss", "full_valid_loss", "train_mean_token_accuracy",
           "valid_mean_token_accuracy", "full_valid_mean_token_accuracy")


def _source(walk: Walk) -> Observed:
    if walk.observed is not None:
        return walk.observed
    observed = Observed(reader=walk.reader)
    walk.observed_for_data = observed  # type: ignore[attr-defined]
    return observed


def _all_jobs(walk: Walk) -> list[dict[str, Any]]:
    source = _source(walk)
    if source.jobs is None:
        if walk.reader is None:
            return []
        source.jobs = {j["id"]: j for j in walk.reader.list_jobs(page_size=100)}
        source.index_jobs()
    return sorted(source.jobs.values(), key=lambda j: (-(j.get("created_at") or 0), j["id"]))


def _matches(job: dict[str, Any], metadata: dict[str, str] | None) -> bool:
    if not metadata:
        return True
    have = job.get("metadata") or {}
    return all(have.get(k) == v for k, v in metadata.items())


def _select(items: list[dict[str, Any]], select: dict[str, Any] | None) -> dict[str, Any] | None:
    if not items:
        return None
    select = select or {"latest": True}
    if "step" in select:
        found = [c for c in items if c.get("step_number") == select["step"]]
        return found[0] if found else None
    for key, pick in (("lowest", min), ("highest", max)):
        if key in select:
            metric = select[key]
            scored = [c for c in items if isinstance((c.get("metrics") or {}).get(metric), (int, float))]
            return pick(scored, key=lambda c: (c["metrics"][metric], -c.get("step_number", 0))) if scored else None
    return max(items, key=lambda c: c.get("step_number") or 0)


def plan_data(doc: Any, spec: dict[str, Any], walk: Walk, unresolved: list[str]) -> Change:
    address, kind = doc.address, doc.kind
    change = Change(address=address, kind=kind, action=Action.READ, config=doc.spec,
                    depends_on=tuple(doc.depends_on))
    if contains_unknown(spec):
        walk.planned[address] = _unknown_result(kind)
        walk.waiting[address] = "; ".join(unresolved) or f"{address} depends on values not known yet"
        return change
    result = _read(kind, spec, walk, address)
    walk.planned[address] = result
    if any(v is UNKNOWN for v in result.values()):
        walk.waiting.setdefault(address, f"{address} found nothing to select yet")
    return change


def _unknown_result(kind: str) -> dict[str, Any]:
    return {k: UNKNOWN for k in ("id", "items", "ids", "project_ids", "fine_tuned_model", "status",
                                 "fine_tuned_model_checkpoint", "step_number", "metrics")}


def _read(kind: str, spec: dict[str, Any], walk: Walk, address: str) -> dict[str, Any]:
    if kind == "data.FineTuningJob":
        job_id = spec.get("id") or spec.get("fine_tuning_job_id")
        if job_id:
            job = _source(walk).job(job_id)
            if job is None and walk.reader is not None:
                job = walk.reader.get_job(job_id)
            return dict(job or {})
        found = [j for j in _all_jobs(walk) if _matches(j, spec.get("metadata"))]
        if len(found) != 1:
            raise PlanError(f"{address}: expected exactly one job with metadata {spec.get('metadata')}, "
                            f"found {len(found)}" + (f" ({', '.join(j['id'] for j in found[:5])})" if found else ""))
        return dict(found[0])
    if kind == "data.FineTuningJobs":
        limit = int(spec.get("max_items") or 1000)
        items = [j for j in _all_jobs(walk) if _matches(j, spec.get("metadata"))][:limit]
        return {"items": items, "ids": [j["id"] for j in items]}
    if kind == "data.FineTuningJobCheckpoints":
        job_id = str(spec.get("fine_tuning_job_id") or spec.get("id") or "")
        limit = int(spec.get("max_items") or 1000)
        items = _source(walk).checkpoints_for(job_id)[:limit] if walk.reader or walk.observed else []
        chosen = _select(items, spec.get("select"))
        result: dict[str, Any] = {"items": items}
        fields = ("id", "fine_tuned_model_checkpoint", "step_number", "metrics", "created_at", "fine_tuning_job_id")
        if chosen is None:
            result.update({f: UNKNOWN for f in fields})
            walk.waiting[address] = f"{address}: job {job_id} has no checkpoint matching {spec.get('select')} yet"
        else:
            result.update({f: chosen.get(f) for f in fields})
        return result
    if kind == "data.CheckpointPermissions":
        checkpoint = spec.get("fine_tuned_model_checkpoint")
        reader = walk.reader
        items = list(reader.list_permissions(checkpoint, project_id=spec.get("project_id"),
                                             order=spec.get("order"))) if reader else []
        items = items[: int(spec.get("max_items") or 1000)]
        return {"items": items, "project_ids": [p["project_id"] for p in items], "ids": [p["id"] for p in items]}
    raise PlanError(f"{address}: unknown data source kind {kind}")
