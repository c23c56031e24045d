"""Adopt the objects recorded in a Terraform state file (format version 4) into reconciler's state.

Each managed `openai_*` resource becomes a `ResourceState` under its converted address
(`openai_fine_tuning_job.x` → `FineTuningJob.x`) with the object's id, Terraform's attributes as
the last-read attributes, and `meta.needs_refresh`: the next plan reads the object from the API and
compares it with the spec, so an unchanged resource shows neither create nor replace.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.convert.expressions import RESOURCE_KINDS
from reconciler.convert.notes import WARNING, Note
from reconciler.convert.providers import canonical_type, reference_renames
from reconciler.errors import StateError
from reconciler.kinds.registry import GRANT_KINDS
from reconciler.state import ResourceState

__all__ = ["AdoptReport", "AdoptedResource", "TerraformStateError", "adopt", "read_tfstate", "scan_tfstate"]

SUPPORTED_VERSION = 4


class TerraformStateError(StateError):
    """The Terraform state file cannot be read (missing, not JSON, not format version 4)."""


@dataclass
class AdoptedResource:
    address: str  # reconciler address, e.g. FineTuningJob.x
    kind: str
    id: str
    attributes: dict[str, Any]
    tf_address: str  # Terraform address, e.g. openai_fine_tuning_job.x
    inputs: dict[str, Any] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    tainted: bool = False


@dataclass
class AdoptReport:
    tfstate: str
    adopted: list[AdoptedResource] = field(default_factory=list)
    skipped: list[Note] = field(default_factory=list)  # left out of the state, with the reason
    warnings: list[Note] = field(default_factory=list)  # adopted, but look at it
    state_written: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "tfstate": self.tfstate,
            "adopted": [{"address": a.address, "kind": a.kind, "id": a.id, "terraform_address": a.tf_address}
                        for a in self.adopted],
            "skipped": [{"what": n.what, "reason": n.reason} for n in self.skipped],
            "warnings": [{"what": n.what, "reason": n.reason} for n in self.warnings],
            "state_written": self.state_written,
        }


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TerraformStateError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TerraformStateError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TerraformStateError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict) or "version" not in data:
        raise TerraformStateError(f"{path}: not a Terraform state file (no \"version\")")
    version = data.get("version")
    if version != SUPPORTED_VERSION:
        raise TerraformStateError(
            f"{path}: Terraform state format version {version!r} is not supported (expected 4, written by "
            "Terraform 0.12 and later; run `terraform state pull > terraform.tfstate` with a current Terraform)")
    if not isinstance(data.get("resources", []), list):
        raise TerraformStateError(f"{path}: \"resources\" must be a list")
    return data


def _tf_to_address(dep: str) -> str | None:
    parts = dep.split(".")
    if len(parts) == 2 and parts[0] in RESOURCE_KINDS:
        return f"{RESOURCE_KINDS[parts[0]]}.{parts[1]}"
    return None


def _permission(attrs: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    checkpoint = attrs.get("fine_tuned_model_checkpoint")
    grants: list[dict[str, Any]] = []
    for item in attrs.get("data") or []:
        if isinstance(item, dict) and item.get("id") and item.get("project_id"):
            grants.append({k: item[k] for k in ("id", "project_id", "created_at", "object") if item.get(k) is not None})
    if not grants and str(attrs.get("id") or "").startswith("cp_") and attrs.get("project_id"):
        grants.append({"id": attrs["id"], "project_id": attrs["project_id"]})
    project_ids = [p for p in attrs.get("project_ids") or [] if isinstance(p, str)]
    if not project_ids:
        project_ids = [g["project_id"] for g in grants]
    attributes = {"fine_tuned_model_checkpoint": checkpoint, "permissions": grants}
    # Terraform's resource manages only the grants it made: those are what reconciler now manages
    # (exclusive: false revokes only grants listed in inputs that the spec drops).
    inputs = {"fine_tuned_model_checkpoint": checkpoint, "project_ids": project_ids, "exclusive": False}
    return (checkpoint if isinstance(checkpoint, str) and checkpoint else None), attributes, inputs


_SINGLE_BLOCKS = ("method", "supervised", "dpo", "reinforcement", "hyperparameters", "wandb", "grader", "error")


def _unwrap_blocks(value: Any) -> Any:
    """Providers built on the SDKv2 store `method { ... }` (a block list of at most one) as
    `[{...}]`; the API object has `{...}`. Unwrap those, recursively, so the attributes look like
    what the API returns."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _SINGLE_BLOCKS and isinstance(item, list) and len(item) <= 1:
                item = item[0] if item else None
            elif key == "integrations" and isinstance(item, list):
                item = [_unwrap_blocks(i) for i in item]
            out[key] = _unwrap_blocks(item)
        return out
    return value


def _unmanaged(canonical: str, attrs: dict[str, Any]) -> str | None:
    """Why the specs could not manage this object (convert left it out too), or None."""
    if canonical != "openai_file":
        return None
    purpose = attrs.get("purpose")
    if purpose not in (None, "", "fine-tune"):
        return f"purpose {purpose!r}: reconciler manages training files (purpose fine-tune) only"
    if attrs.get("content") and not any(attrs.get(k) for k in ("file", "file_path", "filepath")):
        return "uploaded from inline content, which a spec cannot hold (convert leaves it out too)"
    return None


def scan_tfstate(path: Path) -> tuple[list[AdoptedResource], list[Note]]:
    """Every adoptable resource instance, and every one left out with the reason."""
    data = _load(path)
    where = str(path)
    found: list[AdoptedResource] = []
    skipped: list[Note] = []

    def skip(what: str, reason: str, severity: str = "not_converted") -> None:
        skipped.append(Note(where, None, what, reason, severity))

    for res in data.get("resources") or []:
        if not isinstance(res, dict):
            raise TerraformStateError(f"{path}: a resource entry is not an object")
        mode, type_, name = res.get("mode"), str(res.get("type", "")), str(res.get("name", ""))
        tf_address = f"{'data.' if mode == 'data' else ''}{type_}.{name}"
        if res.get("module"):
            skip(f"{res['module']}.{tf_address}", "resources inside modules are not adopted")
            continue
        if mode == "data":
            skip(tf_address, "data sources are read at plan time, not kept in state", WARNING)
            continue
        if type_ == "openai_finetune":
            skip(tf_address, "legacy fine-tunes (retired API) cannot be adopted; the plan creates a modern job")
            continue
        if type_ not in RESOURCE_KINDS:
            skip(tf_address, f"type {type_!r} is not managed by reconciler")
            continue
        kind = RESOURCE_KINDS[type_]
        address = f"{kind}.{name}"
        renames = reference_renames("resource", type_)  # checkpoint_id, training_file_id, ...
        for inst in res.get("instances") or []:
            if not isinstance(inst, dict):
                raise TerraformStateError(f"{path}: an instance of {tf_address} is not an object")
            if "index_key" in inst:
                key = json.dumps(inst["index_key"])
                skip(f"{tf_address}[{key}]", "instances of count/for_each are not adopted (not converted either)")
                continue
            if inst.get("deposed"):
                skip(f"{tf_address} (deposed {inst['deposed']})", "deposed objects are not adopted")
                continue
            attrs = inst.get("attributes")
            if not isinstance(attrs, dict):
                skip(tf_address, "the instance has no attributes (written with attributes_flat?)")
                continue
            attrs = {renames.get(k, k): v for k, v in attrs.items() if not (k in renames and renames[k] in attrs)}
            unmanaged = _unmanaged(canonical_type("resource", type_), attrs)
            if unmanaged:
                skip(tf_address, unmanaged)
                continue
            inputs: dict[str, Any] = {}
            if kind in GRANT_KINDS:  # one object per checkpoint, its grants as attributes
                object_id, attrs, inputs = _permission(attrs)
            else:
                object_id = attrs.get("id") if isinstance(attrs.get("id"), str) and attrs.get("id") else None
                attrs = _unwrap_blocks(attrs)
            if object_id is None:
                skip(tf_address, "no id recorded")
                continue
            deps = [a for a in (_tf_to_address(d) for d in inst.get("dependencies") or []) if a]
            found.append(AdoptedResource(address, kind, object_id, attrs, tf_address, inputs,
                                         list(dict.fromkeys(deps)), inst.get("status") == "tainted"))
    return found, skipped


def read_tfstate(path: Path) -> list[AdoptedResource]:
    """The adoptable resources of a Terraform state file (raises TerraformStateError)."""
    return scan_tfstate(path)[0]


def adopt(tfstate: Path, store: Any, spec_set: Any | None = None, *, lock_wait: float = 0.0,
          on_wait: Callable[[Any], Any] | None = None) -> AdoptReport:
    """Add the resources of `tfstate` to the state of `store` (a StateStore), under its lock, in
    one write. Addresses already in state are left alone and listed; when `spec_set` is given,
    adopted addresses it does not declare are listed as warnings."""
    found, skipped = scan_tfstate(tfstate)
    report = AdoptReport(str(tfstate), skipped=list(skipped))
    declared: Iterable[str] | None = None
    if spec_set is not None:
        declared = set(spec_set.documents)
    with store.lock("import-terraform", wait=lock_wait, on_wait=on_wait):
        state = store.load()
        for item in found:
            existing = state.resources.get(item.address)
            if existing is not None:
                same = " (the same object)" if existing.id == item.id else f" ({existing.id})"
                report.skipped.append(Note(str(tfstate), None, item.address,
                                           f"already in reconciler's state{same}; use `reconciler state rm` first"))
                continue
            if any(a.address == item.address for a in report.adopted):
                report.skipped.append(Note(str(tfstate), None, item.address, "listed twice in the Terraform state"))
                continue
            state.set(ResourceState(
                address=item.address, kind=item.kind, id=item.id, inputs=dict(item.inputs), digest="",
                attributes=item.attributes, depends_on=list(item.depends_on),
                meta={"imported_from": "terraform", "needs_refresh": True, "terraform_address": item.tf_address}))
            report.adopted.append(item)
            if item.tainted:
                report.warnings.append(Note(str(tfstate), None, item.address,
                                            "tainted in Terraform (it would have been replaced); adopted as it is"))
            if declared is not None and item.address not in declared:
                report.warnings.append(Note(str(tfstate), None, item.address,
                                            "not declared in the specs: the next plan would destroy it; "
                                            "convert its .tf file or `reconciler state rm` it"))
        if report.adopted:
            store.write(state)
            report.state_written = True
    return report
