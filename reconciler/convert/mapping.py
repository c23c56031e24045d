"""One Terraform resource or data block → one spec document (or nothing, with the reason).

Meta-arguments (count, for_each, provider, depends_on, lifecycle, provisioner, ...) are handled
here for every type; each known type then maps its own arguments onto the spec language.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.config import schema
from reconciler.config.schema_parts import MAX_METADATA
from reconciler.convert.expressions import (
    DATA_KINDS,
    RESOURCE_KINDS,
    NotConvertible,
    Scope,
    reference_address,
    to_value,
)
from reconciler.convert.hcl import Attribute, Block, Body, Expr, ObjectExpr, Traversal, TupleExpr
from reconciler.convert.normalize import normalize_body
from reconciler.convert.notes import WARNING, Note
from reconciler.convert.providers import NUMERIC_FIELDS, canonical_type
from reconciler.loading.schema_source import spec_def_name

__all__ = ["NAME_RE", "Doc", "MapContext", "map_block"]

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
METADATA_MAX = MAX_METADATA  # 16 allowed by the API, less reconciler's own tags (address, digest, lineage, workspace)
METHOD_TYPES = ("supervised", "dpo", "reinforcement")


@dataclass
class Doc:
    """One converted document, in the order and shape the writer emits it."""

    kind: str
    name: str
    spec: dict[str, Any]
    file: str
    line: int
    source: str  # 'resource "openai_file" "x"'
    lifecycle: dict[str, Any] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    raw: dict[str, Any] | None = None  # import / moved documents: written as they are
    todo: list[str] = field(default_factory=list)  # written above the document as `# TODO:` lines

    @property
    def address(self) -> str:
        return f"{self.kind}.{self.name}"

    def document(self) -> dict[str, Any]:
        if self.raw is not None:
            return dict(self.raw)
        doc: dict[str, Any] = {"kind": self.kind, "name": self.name, "spec": self.spec}
        if self.lifecycle:
            doc["lifecycle"] = self.lifecycle
        if self.depends_on:
            doc["depends_on"] = list(self.depends_on)
        return doc


@dataclass
class MapContext:
    scope: Scope
    tf_dir: Path  # folder of the .tf file (File paths are relative to it)
    out_dir: Path  # folder the YAML goes to
    positions: dict[str, int] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.scope.file

    def note(self, line: int | None, what: str, reason: str, severity: str = "not_converted") -> None:
        self.scope.notes.append(Note(self.file, line, what, reason, severity))


def map_block(block: Block, ctx: MapContext) -> Doc | None:
    """Map a `resource` or `data` block of a known type. Unknown types are the caller's business."""
    mode = block.type
    type_, name = block.labels
    prefix = "data." if mode == "data" else ""
    tf_address = f"{prefix}{type_}.{name}"
    label = f"{'data source' if mode == 'data' else 'resource'} {tf_address}"
    ctx.scope.context = label
    ctx.positions = {}
    kind = (DATA_KINDS if mode == "data" else RESOURCE_KINDS)[type_]
    canonical = canonical_type(mode, type_)
    normalized = normalize_body(mode, canonical, block.body, label, ctx.note)
    if normalized is None:
        return None
    body = normalized

    if not NAME_RE.match(name):
        ctx.note(block.line, f"{label} left out", f"name {name!r} does not fit the spec language "
                 "(letters, digits, _ and -, at most 64 characters)")
        return None
    for meta in ("count", "for_each"):
        if meta in body.attributes:
            ctx.note(body.attributes[meta].line, f"{label} left out", f"{meta} is not supported")
            return None

    doc = Doc(kind, name, {}, ctx.file, block.line, f'{mode} "{type_}" "{name}"')
    skip = {"count", "for_each", "depends_on", "provider"}
    if "provider" in body.attributes:
        ctx.note(body.attributes["provider"].line, f"provider argument of {label} left out",
                 "provider aliases are not supported (reconciler uses one API configuration)")
    if "depends_on" in body.attributes:
        doc.depends_on = _depends_on(body.attributes["depends_on"], ctx, label)
    for blk in body.blocks:
        if blk.type == "lifecycle" and mode == "resource":
            doc.lifecycle = _lifecycle(blk, ctx, label)
        elif blk.type in ("lifecycle", "provisioner", "connection", "timeouts", "precondition", "postcondition"):
            ctx.note(blk.line, f"{blk.type} block of {label} left out", f"{blk.type} blocks are not supported")
    meta_blocks = {"lifecycle", "provisioner", "connection", "timeouts", "precondition", "postcondition"}
    core = Body({k: v for k, v in body.attributes.items() if k not in skip},
                tuple(b for b in body.blocks if b.type not in meta_blocks))

    mapper = _MAPPERS[(mode, canonical)]
    allowed, list_blocks, post = mapper
    ctx.scope.path_module = "." if canonical == "openai_file" else None  # relative to the .tf folder
    try:
        spec = _body_to_dict(core, ctx, "", list_blocks, label, allowed=allowed)
    finally:
        ctx.scope.path_module = None
    doc.spec = spec
    post(doc, ctx, label)
    _numbers(doc.spec)
    bound = doc.spec.get("max_items")
    if isinstance(bound, (int, float)) and not isinstance(bound, bool) and bound < 1:
        del doc.spec["max_items"]
        written = "limit" if "limit" in block.body.attributes else "max_items"
        ctx.note(ctx.positions.get("max_items", doc.line), f"argument {written} of {label} left out",
                 f"{written} = {bound} bounds nothing (max_items must be at least 1)")
    if doc.lifecycle.get("ignore_changes") == ["all"]:
        doc.lifecycle["ignore_changes"] = [f for f in _ignorable(kind) if f in allowed]
    return doc


_NUMBER_RE = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def _numbers(value: Any) -> None:
    """Quoted numbers in number fields become numbers, as Terraform converts "3" for a number
    attribute (mkdev-me 2.x types every hyperparameter as a string); "auto" stays."""
    if isinstance(value, list):
        for item in value:
            _numbers(item)
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key in NUMERIC_FIELDS and isinstance(item, str) and _NUMBER_RE.match(item.strip()):
            text = item.strip()
            value[key] = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
        elif key != "metadata":
            _numbers(item)


def _ignorable(kind: str) -> list[str]:
    """The fields of a kind's spec, in the schema's order: what `ignore_changes = all` covers."""

    return list(schema.kind_schema(kind)["$defs"][spec_def_name(kind)]["properties"])


# --- generic body conversion -------------------------------------------------------------------


def _record(expr: Expr, path: str, line: int, ctx: MapContext) -> None:
    ctx.positions.setdefault(path, line)
    if isinstance(expr, ObjectExpr):
        for key, value, key_line in expr.items:
            _record(value, f"{path}.{key}", key_line, ctx)


def _body_to_dict(body: Body, ctx: MapContext, path: str, list_blocks: set[str], label: str,
                  allowed: set[str] | None = None) -> dict[str, Any]:
    items: list[tuple[int, str, Attribute | Block]] = [(a.line, a.name, a) for a in body.attributes.values()]
    items += [(b.line, b.type, b) for b in body.blocks]
    items.sort(key=lambda item: item[0])
    out: dict[str, Any] = {}
    for line, name, item in items:
        field_path = f"{path}.{name}" if path else name
        if allowed is not None and name not in allowed and not (isinstance(item, Block) and item.type == "dynamic"):
            ctx.note(line, f"argument {field_path} of {label} left out",
                     f"{name!r} is not an argument reconciler knows for this type")
            continue
        if isinstance(item, Attribute):
            _record(item.expr, field_path, line, ctx)
            try:
                value = to_value(item.expr, ctx.scope)
            except NotConvertible as exc:
                ctx.note(exc.line or line, f"argument {field_path} of {label} left out", exc.reason)
                continue
            if value is None:
                continue  # null means unset, in Terraform as here
            if name in out:
                ctx.note(line, f"argument {field_path} of {label} left out", "set both as an argument and a block")
                continue
            out[name] = value
            continue
        block = item
        if block.type == "dynamic":
            dynamic = " ".join(["dynamic block", *block.labels[:1]])
            ctx.note(line, f"{dynamic} of {label} left out", "dynamic blocks are not supported; write the blocks out")
            continue
        ctx.positions.setdefault(field_path, line)
        value = _body_to_dict(block.body, ctx, field_path, set(), label)
        if block.type in list_blocks:
            existing = out.setdefault(name, [])
            if not isinstance(existing, list):
                ctx.note(line, f"block {field_path} of {label} left out", "set both as an argument and a block")
                continue
            existing.append(value)
        elif name in out:
            ctx.note(line, f"block {field_path} of {label} left out",
                     "set both as an argument and a block" if name in body.attributes
                     else "this block may appear only once; the first one is kept")
        else:
            out[name] = value
    return out


def _depends_on(attr: Attribute, ctx: MapContext, label: str) -> list[str]:
    result: list[str] = []
    items = attr.expr.items if isinstance(attr.expr, TupleExpr) else ()
    if not isinstance(attr.expr, TupleExpr):
        ctx.note(attr.line, f"depends_on of {label} left out", "depends_on must be a list of addresses")
    for item in items:
        ref = reference_address(item) if isinstance(item, Traversal) else None
        if ref is None or ref[2]:
            text = getattr(item, "source", "") or "expression"
            ctx.note(getattr(item, "line", attr.line), f"depends_on entry `{text}` of {label} left out",
                     "only resources and data sources that reconciler manages can be depended on")
            continue
        address, tf_address, _ = ref
        if ctx.scope.declared.get(tf_address) is False:
            ctx.note(item.line, f"depends_on entry {address} of {label} kept",
                     f"{tf_address} was left out of the conversion", WARNING)
        if address not in result:
            result.append(address)
    return result


_SINGLE_BLOCKS = {"hyperparameters", "method", "supervised", "dpo", "reinforcement", "wandb", "grader", "graders"}


def _lifecycle(block: Block, ctx: MapContext, label: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in block.body.attributes.values():
        if attr.name in ("prevent_destroy", "create_before_destroy"):
            try:
                value = to_value(attr.expr, ctx.scope)
            except NotConvertible as exc:
                ctx.note(attr.line, f"lifecycle.{attr.name} of {label} left out", exc.reason)
                continue
            if not isinstance(value, bool):
                ctx.note(attr.line, f"lifecycle.{attr.name} of {label} left out", "must be true or false")
                continue
            out[attr.name] = value
        elif attr.name == "ignore_changes":
            paths = _ignore_paths(attr, ctx, label)
            if paths:
                out["ignore_changes"] = paths
        else:
            ctx.note(attr.line, f"lifecycle.{attr.name} of {label} left out", f"{attr.name} is not supported")
    for blk in block.body.blocks:
        ctx.note(blk.line, f"lifecycle {blk.type} block of {label} left out", f"{blk.type} blocks are not supported")
    return out


def _ignore_paths(attr: Attribute, ctx: MapContext, label: str) -> list[str] | None:
    if isinstance(attr.expr, Traversal) and attr.expr.root == "all" and not attr.expr.steps:
        ctx.note(attr.line, f"lifecycle.ignore_changes of {label} written as the list of its fields",
                 "ignore_changes = all: every argument is ignored after creation", WARNING)
        return ["all"]  # map_block replaces it with the fields, once the spec is known
    if not isinstance(attr.expr, TupleExpr):
        ctx.note(attr.line, f"lifecycle.ignore_changes of {label} left out", "must be a list of attribute paths")
        return None
    paths: list[str] = []
    for item in attr.expr.items:
        if not isinstance(item, Traversal):
            ctx.note(attr.line, f"lifecycle.ignore_changes entry of {label} left out", "not an attribute path")
            continue
        steps: list[str] = [item.root]
        for step in item.steps:
            if step == 0 and steps[-1] in _SINGLE_BLOCKS:
                continue  # method[0].type: the block list of one is an object here
            steps.append(str(step))
        paths.append(".".join(steps))
    return paths


# --- per type ----------------------------------------------------------------------------------


def _post_job(doc: Doc, ctx: MapContext, label: str) -> None:
    spec = doc.spec
    method = spec.get("method")
    if isinstance(method, dict):
        mtype = method.get("type")
        if isinstance(mtype, str) and mtype in METHOD_TYPES:
            for other in METHOD_TYPES:
                if other != mtype and other in method:
                    del method[other]
                    ctx.note(ctx.positions.get(f"method.{other}", doc.line),
                             f"block method.{other} of {label} left out",
                             f"method.type is {mtype!r}, so the {other} settings do not apply")
    metadata = spec.get("metadata")
    if isinstance(metadata, dict):
        line = ctx.positions.get("metadata", doc.line)
        reserved = [k for k in metadata if str(k).startswith("reconciler_")]
        if reserved:
            ctx.note(line, f"metadata of {label} kept as is",
                     f"keys starting with reconciler_ are reserved ({', '.join(reserved)}); rename them", WARNING)
        if len(metadata) > METADATA_MAX:
            ctx.note(line, f"metadata of {label} kept as is",
                     f"{len(metadata)} pairs: reconciler keeps {16 - METADATA_MAX} of the API's 16 for its own tags, "
                     f"so at most {METADATA_MAX} are allowed; remove some", WARNING)
        for key, value in list(metadata.items()):
            if isinstance(value, (int, float, bool)):
                metadata[key] = str(value).lower() if isinstance(value, bool) else str(value)
    integrations = spec.get("integrations")
    if isinstance(integrations, dict):
        spec["integrations"] = [integrations]


def _post_file(doc: Doc, ctx: MapContext, label: str) -> None:
    spec = doc.spec
    line = ctx.positions.get("file", doc.line)
    path = spec.pop("file", None)
    purpose = spec.pop("purpose", None)
    if isinstance(path, str):
        if "${" in path:
            spec["path"] = path
            ctx.note(line, f"file path of {label} kept as written",
                     "the path depends on a variable, so it cannot be rewritten relative to the output folder",
                     WARNING)
        else:
            spec["path"], outside = _rewrite_path(path, ctx)
            if outside:
                spec["allow_outside_spec_dir"] = True
                ctx.note(line, f"allow_outside_spec_dir: true set on {label}",
                         f"{path} lies outside the output folder ({spec['path']}); move it next to the specs "
                         "or keep this setting", WARNING)
    if purpose is not None:
        spec["purpose"] = purpose
        if purpose != "fine-tune":
            ctx.note(ctx.positions.get("purpose", doc.line), f"purpose of {label} kept as is",
                     f"purpose {purpose!r}: reconciler manages training files (purpose fine-tune) only", WARNING)
    else:
        spec["purpose"] = "fine-tune"
    order = ["path", "purpose", "allow_outside_spec_dir"]
    doc.spec = {k: spec[k] for k in order if k in spec} | {k: v for k, v in spec.items() if k not in order}


def _rewrite_path(path: str, ctx: MapContext) -> tuple[str, bool]:
    source = Path(path)
    absolute = source if source.is_absolute() else Path(os.path.abspath(ctx.tf_dir / source))
    out_dir = Path(os.path.abspath(ctx.out_dir))
    rel = os.path.relpath(absolute, out_dir)
    outside = rel == ".." or rel.startswith(".." + os.sep)
    if source.is_absolute():
        return str(source), outside
    return Path(rel).as_posix(), outside


def _post_permission(doc: Doc, ctx: MapContext, label: str) -> None:
    doc.spec["exclusive"] = False


_LEGACY_GONE = ("prompt_loss_weight", "classification_n_classes", "classification_positive_class",
                "classification_betas", "compute_classification_metrics")


def _post_legacy(doc: Doc, ctx: MapContext, label: str) -> None:
    spec = doc.spec
    for key in _LEGACY_GONE:
        if key in spec:
            del spec[key]
            ctx.note(ctx.positions.get(key, doc.line), f"argument {key} of {label} left out",
                     f"{key} no longer exists in the fine-tuning API")
    if "fine_tune" in spec:
        del spec["fine_tune"]
        ctx.note(ctx.positions.get("fine_tune", doc.line), f"argument fine_tune of {label} left out",
                 "fine_tune is read-only (computed by the retired API)")
    suffix = spec.get("suffix")
    if isinstance(suffix, list):
        if len(suffix) == 1 and isinstance(suffix[0], str):
            spec["suffix"] = suffix[0]
        elif not suffix:
            del spec["suffix"]
        else:
            del spec["suffix"]
            ctx.note(ctx.positions.get("suffix", doc.line), f"argument suffix of {label} left out",
                     "a job takes one suffix; this list has several")


def _post_data_job(doc: Doc, ctx: MapContext, label: str) -> None:
    spec = doc.spec
    if "fine_tuning_job_id" in spec:
        spec["id"] = spec.pop("fine_tuning_job_id")
    _drop(doc, ctx, label, {"find_one_by": "find_one_by is not supported; use metadata or id"})
    doc.spec = {k: spec[k] for k in ("id", "metadata") if k in spec}


def _post_data_permissions(doc: Doc, ctx: MapContext, label: str) -> None:
    _drop(doc, ctx, label, {
        "find_one_by": "find_one_by is not supported",
        "after": "pagination is handled by reconciler (after is not needed)",
    })


def _drop(doc: Doc, ctx: MapContext, label: str, reasons: dict[str, str]) -> None:
    for key, reason in reasons.items():
        if key in doc.spec:
            del doc.spec[key]
            ctx.note(ctx.positions.get(key, doc.line), f"argument {key} of {label} left out", reason)


def _noop(doc: Doc, ctx: MapContext, label: str) -> None:
    return None


_Post = Callable[[Doc, MapContext, str], None]
_MAPPERS: dict[tuple[str, str], tuple[set[str], set[str], _Post]] = {
    ("resource", "openai_fine_tuning_job"): (
        {"model", "training_file", "validation_file", "seed", "suffix", "metadata", "integrations",
         "hyperparameters", "method", "cancel_after_timeout"}, {"integrations"}, _post_job),
    ("resource", "openai_file"): ({"file", "purpose"}, set(), _post_file),
    ("resource", "openai_fine_tuning_checkpoint_permission"): (
        {"fine_tuned_model_checkpoint", "project_ids"}, set(), _post_permission),
    ("resource", "openai_finetune"): (
        {"model", "training_file", "validation_file", "n_epochs", "batch_size", "learning_rate_multiplier",
         "suffix", *_LEGACY_GONE, "fine_tune"}, set(), _post_legacy),
    ("data", "openai_fine_tuning_job"): ({"fine_tuning_job_id", "metadata", "find_one_by"}, set(), _post_data_job),
    ("data", "openai_fine_tuning_jobs"): ({"metadata", "max_items"}, set(), _noop),
    ("data", "openai_fine_tuning_job_checkpoints"): ({"fine_tuning_job_id", "max_items"}, set(), _noop),
    ("data", "openai_fine_tuning_checkpoint_permission"): (
        {"fine_tuned_model_checkpoint", "project_id", "order", "max_items", "after", "limit", "find_one_by"},
        set(), _post_data_permissions),
    ("data", "openai_fine_tuning_checkpoint_permissions"): (
        {"fine_tuned_model_checkpoint", "project_id", "order", "max_items"}, set(), _post_data_permissions),
}
