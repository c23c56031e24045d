"""The only bridge between the table-driven planner tests and the planner itself.

A case is data: spec YAML, the state file's resources, a snapshot of what the API reports and the
plan options. `make_plan` turns that into a `Plan` through the planner's public entry point and
`project` turns the Plan into a small, stable dict that the case's `expect:` is compared with.
When the planner's API changes (it is being refactored into a pure `plan(specs, state, snapshot,
options)`), this module is the only one that has to follow.

No server: the snapshot is served by `SnapshotReader`, an in-memory stand-in for the read-only
part of `reconciler.api.ApiClient` (the planner's `Reader` protocol, plus `get_file` for imports
and `download_file` for the content hash used to adopt an earlier upload).

Snapshot shape (every key optional):

    jobs: [API job objects]                 # as GET /fine_tuning/jobs lists them
    files: [API file objects]               # as GET /files lists them; an item may carry
                                            #   content_of: NAME (a key of the case's `files:`) or
                                            #   content: TEXT -- what its download returns
                                            #   (`bytes` is computed from it when absent)
    permissions: {checkpoint: [grants]}     # GET /fine_tuning/checkpoints/{c}/permissions
    checkpoints: {job_id: [checkpoints]}    # GET /fine_tuning/jobs/{id}/checkpoints
    server_time: 1767225600                 # the API's clock (the Date header); plan "now"

Projection shape (see `project`): one entry per change in plan order with address, action and,
when not empty, reasons, steps ("op: detail | arg=value, ..."), attrs ("path: before -> after",
"[forces replacement]" when it does), unknown (paths of `after` known only after apply),
pending, create_before_destroy (shown for replace, the only action where it orders steps) and
the replace mode (destroy_then_create, create_then_destroy, forget_then_create, create_then_forget);
then drift ("address: what"), health ("address: status"), warnings, moves, imports.
"""

from __future__ import annotations

import copy
import email.utils
import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from reconciler.errors import NotFoundError
from reconciler.kinds import registry
from reconciler.loading import load_specs
from reconciler.plan.model import AttrChange, Plan, Step
from reconciler.planner.build import PlanOptions
from reconciler.planner.refresh import build_plan
from reconciler.resources.canonical import MISSING
from reconciler.state.model import State
from reconciler.values import UNKNOWN

__all__ = ["DEFAULT_SERVER_TIME", "SnapshotReader", "make_plan", "project", "write_case_files"]

# 2026-01-01T00:00:00Z: every case runs at a fixed time unless its snapshot says otherwise.
DEFAULT_SERVER_TIME = 1767225600
DEFAULT_LINEAGE = "5f0c4c8e-2d7a-4f7e-9a51-0c1d2e3f4a5b"
OPTION_KEYS = frozenset({"targets", "replace", "refresh", "refresh_only", "destroy", "vars"})


# -- writing a case to disk -------------------------------------------------------------------------

def write_case_files(spec_dir: Path, specs: str | Mapping[str, str], files: Mapping[str, str] | None) -> None:
    """The spec YAML (one text -> main.yaml, or file name -> text) and the data files beside it."""
    spec_dir.mkdir(parents=True, exist_ok=True)
    texts = {"main.yaml": specs} if isinstance(specs, str) else dict(specs)
    for name, text in {**texts, **dict(files or {})}.items():
        path = spec_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))


# -- the API as the snapshot describes it -----------------------------------------------------------

class SnapshotReader:
    """Read-only API over a snapshot. Lists come newest first, as the API lists them."""

    def __init__(self, snapshot: Mapping[str, Any], data_files: Mapping[str, str] | None = None):
        self.jobs: list[dict[str, Any]] = [copy.deepcopy(j) for j in snapshot.get("jobs") or []]
        self.files: list[dict[str, Any]] = []
        self.contents: dict[str, bytes] = {}
        for raw in snapshot.get("files") or []:
            item = dict(raw)
            content: str | None = item.pop("content", None)
            source = item.pop("content_of", None)
            if source is not None:
                content = (data_files or {})[source]
            if content is not None:
                data = content.encode("utf-8")
                self.contents[item["id"]] = data
                item.setdefault("bytes", len(data))
            self.files.append(item)
        self.permissions: dict[str, list[dict[str, Any]]] = {
            k: [dict(g) for g in v] for k, v in (snapshot.get("permissions") or {}).items()}
        self.checkpoints: dict[str, list[dict[str, Any]]] = {
            k: [dict(c) for c in v] for k, v in (snapshot.get("checkpoints") or {}).items()}
        # provider profile -> the ARM deployments of its account (kind: Deployment)
        self.deployments: dict[str, list[dict[str, Any]]] = {
            k: [dict(d) for d in v] for k, v in (snapshot.get("deployments") or {}).items()}
        self.server_time = float(snapshot.get("server_time") or DEFAULT_SERVER_TIME)
        self.last_server_date = email.utils.formatdate(self.server_time, usegmt=True)

    @staticmethod
    def _newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(items, key=lambda o: -(o.get("created_at") or 0))

    def list_jobs(self, *, metadata: dict[str, str] | None = None, page_size: int = 100) -> Iterator[dict]:
        for job in self._newest_first(self.jobs):
            have = job.get("metadata") or {}
            if all(have.get(k) == v for k, v in (metadata or {}).items()):
                yield copy.deepcopy(job)

    def get_job(self, job_id: str) -> dict:
        for job in self.jobs:
            if job["id"] == job_id:
                return copy.deepcopy(job)
        raise NotFoundError(f"No fine-tuning job found with id {job_id!r}", status=404, code="not_found")

    def list_files(self, purpose: str | None = None) -> Iterator[dict]:
        for item in self._newest_first(self.files):
            if purpose is None or item.get("purpose") == purpose:
                yield dict(item)

    def get_file(self, file_id: str) -> dict:
        for item in self.files:
            if item["id"] == file_id:
                return dict(item)
        raise NotFoundError(f"No such File object: {file_id}", status=404, code="not_found")

    def download_file(self, file_id: str) -> bytes:
        if file_id not in self.contents:
            raise NotFoundError(f"No content for {file_id}", status=404)
        return self.contents[file_id]

    def list_permissions(self, checkpoint: str, *, project_id: str | None = None, order: str | None = None,
                         page_size: int = 100) -> Iterator[dict]:
        grants = [g for g in self.permissions.get(checkpoint, [])
                  if project_id is None or g.get("project_id") == project_id]
        if order is not None:
            grants.sort(key=lambda g: (g.get("created_at") or 0, g["id"]), reverse=order == "descending")
        for grant in grants:
            yield dict(grant)

    def list_deployments_of(self, profile: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.deployments.get(profile, [])]

    def list_checkpoints(self, job_id: str, page_size: int = 100) -> Iterator[dict]:
        for checkpoint in self.checkpoints.get(job_id, []):
            yield dict(checkpoint)


# -- the planner's entry point ----------------------------------------------------------------------

def _state(state_dict: Mapping[str, Any] | None) -> State:
    data = dict(state_dict or {})
    if "resources" not in data:  # the case gave just the resources mapping
        data = {"resources": data}
    data.setdefault("format_version", 1)
    data.setdefault("lineage", DEFAULT_LINEAGE)
    data.setdefault("serial", 1)
    data.setdefault("reconciler_version", "0.1.0")
    # through JSON, exactly as the state file would be read
    return State.from_json(json.dumps(data), where="case state")


def make_plan(spec_dir: Path, state_dict: Mapping[str, Any] | None, snapshot_dict: Mapping[str, Any] | None,
              options_dict: Mapping[str, Any] | None, data_files: Mapping[str, str] | None = None) -> Plan:
    """Plan `spec_dir` (already written) against the state and the API snapshot."""
    options = dict(options_dict or {})
    unknown = set(options) - OPTION_KEYS
    if unknown:
        raise ValueError(f"unknown options in case: {sorted(unknown)}")
    specs = load_specs(spec_dir, dict(options.get("vars") or {}))
    state = _state(state_dict)
    reader = SnapshotReader(snapshot_dict or {}, data_files)

    def content_digest(file_id: str) -> str | None:  # as reconciler.cli.runtime.content_digest
        try:
            return hashlib.sha256(reader.download_file(file_id)).hexdigest()
        except Exception:
            return None

    plan_options = PlanOptions(targets=tuple(options.get("targets") or ()),
                               replace=tuple(options.get("replace") or ()),
                               refresh=bool(options.get("refresh", True)),
                               refresh_only=bool(options.get("refresh_only", False)),
                               destroy=bool(options.get("destroy", False)), kinds=registry)
    return build_plan(specs, state, reader, plan_options, content_digest=content_digest,
                      clock=lambda: reader.server_time)


# -- projection -------------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is UNKNOWN:
        return "(known after apply)"
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def _value(value: Any) -> str:
    """An attribute value: strings quoted, so "3" and 3 differ; absent and unknown spelled out."""
    if value is UNKNOWN:
        return "(known after apply)"
    if value is MISSING:
        return "(absent)"
    return json.dumps(value, sort_keys=True, default=repr)


def _step(step: Step, spec_dir: Path | None) -> str:
    args = []
    for key in sorted(step.args):
        value = step.args[key]
        if key == "path" and spec_dir is not None and isinstance(value, str):
            root = str(spec_dir.resolve())
            value = value[len(root) + 1:] if value.startswith(root + "/") else value
        args.append(f"{key}={_text(value)}")
    op = step.op.value
    text = f"{op}: {step.detail}" if step.detail else op
    return text + (" | " + ", ".join(args) if args else "")


def _attr(attr: AttrChange) -> str:
    text = f"{attr.path}: {_value(attr.before)} -> {_value(attr.after)}"
    return text + (" [forces replacement]" if attr.forces_replacement else "")


def _unknown_paths(value: Any, prefix: str = "") -> list[str]:
    if value is UNKNOWN:
        return [prefix or "."]
    out: list[str] = []
    if isinstance(value, Mapping):
        for key in sorted(value):
            out += _unknown_paths(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            out += _unknown_paths(item, f"{prefix}[{i}]")
    return out


def project(plan: Plan, spec_dir: Path | None = None) -> dict[str, Any]:
    """The compact, comparable form of a plan (see the module docstring)."""
    changes: list[dict[str, Any]] = []
    for change in plan.changes:
        item: dict[str, Any] = {"address": change.address, "action": change.action.value}
        if change.reasons:
            item["reasons"] = list(change.reasons)
        if change.steps:
            item["steps"] = [_step(s, spec_dir) for s in change.steps]
        if change.attrs:
            item["attrs"] = [_attr(a) for a in change.attrs]
        unknown = _unknown_paths(change.after)
        if unknown:
            item["unknown"] = unknown
        if change.pending:
            item["pending"] = change.pending
        if change.create_before_destroy and change.action.value == "replace":
            item["create_before_destroy"] = True
        if change.replace is not None:
            item["mode"] = change.replace.value
        changes.append(item)
    out: dict[str, Any] = {
        "changes": changes,
        "drift": [f"{d.address}: {d.what}" for d in plan.drift],
        "health": [f"{h.address}: {h.status}" for h in plan.health],
        "warnings": list(plan.warnings),
        "moves": [f"{old} -> {new}" for old, new in plan.moves],
        "imports": dict(plan.imports),
    }
    return out
