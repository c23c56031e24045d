"""Gather a Report: the refresh and drift report the caller already made, plus, per managed job,
its checkpoints and its training curves (the result file's step metrics when the job has one,
else its metrics events). Reads only, bounded and parallel; a read that fails is noted on the job,
never fatal to the report."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import itertools
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.concurrency import map_bounded
from reconciler.config.refs import RefSyntaxError, is_reference, parse_ref
from reconciler.cost.estimate import JobCost
from reconciler.cost.pricing import PriceTable
from reconciler.errors import ReconcilerError
from reconciler.kinds import registry
from reconciler.kinds.registry import CHECKPOINT_PICKERS, GRANT_KINDS, JOB_KINDS
from reconciler.plan.model import Action, Plan
from reconciler.report.costs import job_cost, total
from reconciler.report.model import (
    KNOWN_SERIES,
    Checkpoint,
    FindingRow,
    Grant,
    JobReport,
    LifecycleRow,
    Report,
    Series,
)
from reconciler.report.sweeps import Pick, hyperparameters, instance, sweeps

__all__ = ["gather", "parse_events", "parse_result_csv"]

MAX_EVENTS = 20_000            # per job: a long run has one metrics event per step
RESULT_FILE_CAP = 32 << 20     # bytes read of one result file at most
# The result file's column names -> the metrics events' names
_CSV_NAMES = {"train_accuracy": "train_mean_token_accuracy", "valid_accuracy": "valid_mean_token_accuracy"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _series(rows: Iterable[Mapping[str, Any]]) -> tuple[Series, ...]:
    by_name: dict[str, dict[float, float]] = {}
    for row in rows:
        step = _number(row.get("step"))
        if step is None:
            continue
        for name in KNOWN_SERIES:
            value = _number(row.get(name))
            if value is not None:
                by_name.setdefault(name, {})[step] = value
    return tuple(Series(name, tuple(sorted(by_name[name].items()))) for name in KNOWN_SERIES if name in by_name)


def parse_events(events: Iterable[Mapping[str, Any]]) -> tuple[Series, ...]:
    """Series from FineTuningJobEvents: `type: metrics` events whose `data` holds `step` and metrics."""
    rows = []
    for event in events:
        data = event.get("data")
        if event.get("type") == "metrics" and isinstance(data, Mapping):
            rows.append(data)
    return _series(rows)


def _result_text(content: bytes) -> str:
    stripped = content.strip()
    if stripped and not stripped.startswith(b"step"):
        try:
            return base64.b64decode(stripped, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            pass
    return content.decode("utf-8", errors="replace")


def parse_result_csv(content: bytes) -> tuple[Series, ...]:
    """Series from a job's result file (`step,train_loss,train_accuracy,valid_loss,...`). The real
    API serves it base64-encoded (raw CSV is read too)."""
    text = _result_text(content)
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for row in reader:
        rows.append({_CSV_NAMES.get((k or "").strip(), (k or "").strip()): v for k, v in row.items()})
    return _series(rows)


def _method(job: Mapping[str, Any]) -> str:
    method = job.get("method")
    if isinstance(method, Mapping) and isinstance(method.get("type"), str):
        return str(method["type"])
    return "supervised" if job.get("hyperparameters") else ""


def _error(job: Mapping[str, Any]) -> str | None:
    error = job.get("error")
    if isinstance(error, Mapping) and error.get("message"):
        return str(error["message"])
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and not isinstance(value, str) else None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _read_job(client: Any, job: Mapping[str, Any]) -> tuple[list[dict[str, Any]], tuple[Series, ...], str,
                                                             list[str]]:
    """(checkpoints, series, where the series came from, notes) for one job."""
    job_id = str(job["id"])
    notes: list[str] = []
    checkpoints: list[dict[str, Any]] = []
    try:
        checkpoints = list(itertools.islice(client.list_checkpoints(job_id), 1000))
    except (ReconcilerError, OSError) as exc:
        notes.append(f"checkpoints could not be read: {_reason(exc)}")
    series: tuple[Series, ...] = ()
    source = ""
    results = [f for f in job.get("result_files") or [] if isinstance(f, str)]
    if results:
        try:
            series = parse_result_csv(client.download_file(results[0], size=RESULT_FILE_CAP))
            source = "result file"
        except (ReconcilerError, OSError, csv.Error) as exc:
            notes.append(f"result file {results[0]} could not be read: {_reason(exc)}")
    if not series:
        try:
            series = parse_events(itertools.islice(client.list_events(job_id), MAX_EVENTS))
            source = "events" if series else ""
        except (ReconcilerError, OSError) as exc:
            notes.append(f"events could not be read: {_reason(exc)}")
    return checkpoints, series, source, notes


def _grants(state: Any, snapshot: Any) -> dict[str, tuple[Grant, ...]]:
    """checkpoint -> its grants: the live ones refresh read, else those the state recorded."""
    out: dict[str, tuple[Grant, ...]] = {}
    live = getattr(snapshot, "permissions", None) or {}
    for address, resource in state.resources.items():
        if resource.kind not in GRANT_KINDS:
            continue
        checkpoint = resource.attributes.get("fine_tuned_model_checkpoint") or resource.id
        if not isinstance(checkpoint, str):
            continue
        listed = set((resource.inputs or {}).get("project_ids") or [])
        seen = live.get(checkpoint)
        perms = seen if isinstance(seen, list) else resource.attributes.get("permissions") or []
        grants = []
        for p in perms:
            if isinstance(p, Mapping) and isinstance(p.get("project_id"), str):
                project = p["project_id"]
                grants.append(Grant(project, str(p.get("id") or ""),
                                    address if project in listed or not listed else ""))
        out[checkpoint] = tuple(sorted(grants, key=lambda g: g.project_id))
    return out


def _job_ids(value: Any, state: Any) -> list[str]:
    """The job ids a data source names: literal ids, `${FineTuningJob.X.id}` references to jobs the
    state manages (one instance, or every instance for `[*]`), in a list or alone."""
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, str) or not item:
            continue
        if not is_reference(item):
            out.append(item)
            continue
        try:
            ref = parse_ref(item)
        except RefSyntaxError:
            continue
        if ref.path != ("id",):
            continue
        if ref.address.endswith("[*]"):
            prefix = ref.address[:-3] + "["
            out.extend(str(r.id) for a, r in sorted(state.resources.items()) if a.startswith(prefix) and r.id)
        else:
            resource = state.resources.get(ref.address)
            if resource is not None and resource.id:
                out.append(str(resource.id))
    return out


class _Reads:
    """The data source's reads answered from what gather already read (no request is sent)."""

    def __init__(self, jobs: Mapping[str, Mapping[str, Any]], checkpoints: Mapping[str, list[dict[str, Any]]]):
        self._jobs, self._checkpoints = jobs, checkpoints

    def job(self, job_id: str) -> dict[str, Any] | None:
        found = self._jobs.get(job_id)
        return dict(found) if found is not None else None

    def checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        return list(self._checkpoints.get(job_id) or [])


def _picks(plan: Plan, state: Any, jobs: Mapping[str, Mapping[str, Any]],
           checkpoints: Mapping[str, list[dict[str, Any]]]) -> list[Pick]:
    """Every checkpoint data source whose jobs are known (`fine_tuning_job_id`, or a sweep's
    `fine_tuning_job_ids`) and the checkpoint its `select` picks over the checkpoints read here,
    by the data source's own rule (across several jobs: none until all have ended)."""
    out = []
    reads = _Reads(jobs, checkpoints)
    for change in plan.changes:
        spec = change.config or {}
        if change.kind not in CHECKPOINT_PICKERS or not isinstance(spec, Mapping):
            continue
        several = "fine_tuning_job_ids" in spec
        ids = _job_ids(spec.get("fine_tuning_job_ids") if several else spec.get("fine_tuning_job_id") or spec.get("id"),
                       state)
        if not ids:
            continue
        spec = {**spec, "fine_tuning_job_ids": ids} if several else {**spec, "fine_tuning_job_id": ids[0]}
        result, _ = registry.get(change.kind).read(change.address, spec, reads)  # type: ignore[arg-type]
        chosen = result.get("id")
        select = spec.get("select")
        out.append(Pick(change.address, tuple(ids), select if isinstance(select, Mapping) else {"latest": True},
                        chosen if isinstance(chosen, str) else None))
    return out


def _selected(picks: list[Pick]) -> dict[str, list[str]]:
    """checkpoint id -> the data sources that picked it."""
    out: dict[str, list[str]] = {}
    for pick in picks:
        if pick.checkpoint_id:
            out.setdefault(pick.checkpoint_id, []).append(pick.address)
    return out


def _checkpoints(job: Mapping[str, Any], raw: list[dict[str, Any]], grants: Mapping[str, tuple[Grant, ...]],
                 selected: Mapping[str, list[str]]) -> tuple[Checkpoint, ...]:
    rows = []
    for item in sorted(raw, key=lambda c: _number(c.get("step_number")) or 0.0):
        name = str(item.get("fine_tuned_model_checkpoint") or "")
        cid = str(item.get("id") or "")
        found = item.get("metrics")
        metrics: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        values = tuple((str(k), v) for k, v in ((k, _number(v)) for k, v in metrics.items())
                       if v is not None and k != "step")
        by = tuple(selected.get(cid, []))
        rows.append(Checkpoint(name, cid, _int(item.get("step_number")), values, by, grants.get(name, ())))
    model = job.get("fine_tuned_model")
    if isinstance(model, str) and model:
        rows.append(Checkpoint(model, final=True, grants=grants.get(model, ())))
    return tuple(rows)


def _job_objects(plan: Plan, snapshot: Any, state: Any) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(address, id, the live job or what the state recorded) for every managed or declared job."""
    jobs: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for address, resource in state.resources.items():
        if resource.kind not in JOB_KINDS:
            continue
        live = snapshot.job(resource.id) if resource.id else None
        job = dict(live) if live is not None else dict(plan.observed.get(address) or resource.attributes or {})
        if resource.id:
            job.setdefault("id", resource.id)
        jobs[address] = (resource.id, job)
    for change in plan.changes:
        if change.kind in JOB_KINDS and change.address not in jobs and change.action is not Action.READ:
            jobs[change.address] = (None, {"status": f"not created ({change.action.value})"})
    return [(address, jobs[address][0], jobs[address][1]) for address in sorted(jobs)]


def gather(plan: Plan, snapshot: Any, drift: Any, state: Any, client: Any, *, parallelism: int = 10,
           now: float | None = None, prices: PriceTable | None = None,
           estimates: Mapping[str, JobCost] | None = None, warn_days: int = 30,
           platforms: Mapping[str, str] | None = None) -> Report:
    """The report of one workspace. `drift` is the DriftReport of the same refresh. With `prices`
    (and `estimates` from report.costs.estimate_jobs) each job carries its cost. `warn_days`: how
    near a model's end is a warning (Settings.spec.lifecycle)."""
    generated = time.time()
    clock = now if now is not None else (getattr(snapshot, "server_time", None) or generated)
    entries = _job_objects(plan, snapshot, state)
    readable = [job for _, job_id, job in entries if job_id]
    reads = map_bounded(lambda job: _read_job(client, job), readable, parallelism)
    by_id = {str(job["id"]): read for job, read in zip(readable, reads, strict=True)}
    grants = _grants(state, snapshot)
    picks = _picks(plan, state, {str(job["id"]): job for job in readable},
                   {str(job["id"]): read[0] for job, read in zip(readable, reads, strict=True)})
    selected = _selected(picks)
    jobs = []
    for address, job_id, job in entries:
        raw, series, source, notes = by_id.get(job_id or "", ([], (), "", []))
        resource = state.resources.get(address)
        document, run = instance(address)
        jobs.append(JobReport(
            address=address, id=job_id, status=str(job.get("status") or "unknown"),
            model=str(job.get("model") or ""), method=_method(job),
            created_at=_time(job.get("created_at")), finished_at=_time(job.get("finished_at")),
            trained_tokens=_int(job.get("trained_tokens")),
            cost=job_cost(address, job, prices, (estimates or {}).get(address),
                          (platforms or {}).get(address, "openai")),
            fine_tuned_model=job.get("fine_tuned_model") if isinstance(job.get("fine_tuned_model"), str) else None,
            error=_error(job), curves_source=source, series=series,
            checkpoints=_checkpoints(job, raw, grants, selected), notes=tuple(notes),
            hyperparameters=hyperparameters(job, resource.inputs if resource is not None else None),
            seed=_int(job.get("seed")), sweep=document if run else "", run=run))
    findings = tuple(FindingRow(f.axis, f.category, f.address, f.message, f.ignored, f.ignore_reason)
                     for f in drift.findings)
    lifecycle = tuple(LifecycleRow(str(m.get("address") or ""), str(m.get("model") or ""), str(m.get("platform") or ""),
                                   m.get("serving_ends"), m.get("days_left"), m.get("source"))
                      for m in getattr(drift, "models", None) or ())
    return Report(generated_at=generated, now=float(clock), spec_dir=drift.spec_dir, state_file=drift.state_file,
                  summary=drift.summary_line(), in_sync=drift.in_sync, healthy=not drift.has_errors,
                  jobs=tuple(jobs), findings=findings, warnings=tuple(plan.warnings),
                  cost_total=total(j.cost for j in jobs) if any(j.cost for j in jobs) else None,
                  lifecycle=lifecycle, warn_days=warn_days, sweeps=sweeps(jobs, picks))
