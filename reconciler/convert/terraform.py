"""Convert a Terraform configuration (one or more folders of `.tf` files) into spec documents.

Each folder is one Terraform module: its variables, locals and resources are visible from every
file in it. Each `.tf` file becomes one YAML file of the same name in the output folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.convert.check import drop_invalid
from reconciler.convert.expressions import (
    DATA_KINDS,
    RESOURCE_KINDS,
    NotConvertible,
    Scope,
    Variable,
    reference_address,
    to_value,
)
from reconciler.convert.hcl import Block, Body, Traversal, parse_file
from reconciler.convert.mapping import NAME_RE, Doc, MapContext, map_block
from reconciler.convert.notes import NOT_CONVERTED, TODO, WARNING, Note
from reconciler.convert.providers import LEGACY_DATA
from reconciler.convert.writer import ConvertError, render_file, schema_reference, write_files

__all__ = ["Conversion", "SourceFile", "convert_terraform", "discover", "write_conversion"]

_NOT_CONVERTED_BLOCKS = {
    "provider": "provider configuration is not converted: reconciler reads OPENAI_API_KEY, OPENAI_ADMIN_KEY "
                "and OPENAI_BASE_URL from the environment",
    "terraform": "terraform settings (required_providers, backend, cloud) have no equivalent; "
                 "reconciler keeps its state under state/",
    "output": "outputs are not converted; use `reconciler output` to read attributes of managed objects",
    "module": "modules are not converted; convert the module's folder on its own",
    "check": "check blocks are not supported",
    "removed": "removed blocks are not supported; use `reconciler state rm`",
}


@dataclass
class SourceFile:
    path: Path
    display: str  # as shown in messages: the path as given, or folder/name
    body: Body | None = None


@dataclass
class Conversion:
    files: list[SourceFile]
    docs: dict[str, list[Doc]]  # display name -> documents in source order
    notes: list[Note]
    out_dir: Path
    targets: dict[str, Path] = field(default_factory=dict)  # display name -> output file
    unset_variables: list[str] = field(default_factory=list)  # used, no default: kept as ${var.NAME}

    @property
    def converted(self) -> list[Doc]:
        return [d for docs in self.docs.values() for d in docs]

    def counts(self) -> dict[str, int]:
        docs = [d for d in self.converted if d.raw is None]
        return {
            "resources": sum(1 for d in docs if not d.kind.startswith("data.")),
            "data_sources": sum(1 for d in docs if d.kind.startswith("data.")),
            "other": sum(1 for d in self.converted if d.raw is not None),
            "not_converted": sum(1 for n in self.notes if n.severity == NOT_CONVERTED),
            "todo": sum(1 for n in self.notes if n.severity == TODO),
            "warnings": sum(1 for n in self.notes if n.severity == WARNING),
        }

    def rendered(self) -> dict[Path, str]:
        schema_ref = schema_reference(self.out_dir)
        out: dict[Path, str] = {}
        for src in self.files:
            docs = self.docs.get(src.display, [])
            if not docs:
                continue
            notes = [n for n in self.notes if n.file == src.display]
            out[self.targets[src.display]] = render_file(src.path.name, docs, notes, schema_ref)
        return out


def discover(paths: Sequence[Path]) -> list[SourceFile]:
    """`.tf` files named, and the `.tf` files directly inside folders named (like Terraform)."""
    found: list[SourceFile] = []
    seen: set[str] = set()
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(".tf"))
            if not files:
                raise ConvertError(f"{path}: no .tf files in this folder")
        elif path.is_file():
            if path.name.endswith(".tf.json"):
                raise ConvertError(f"{path}: Terraform JSON syntax (.tf.json) is not supported")
            files = [path]
        else:
            raise ConvertError(f"{path}: no such file or folder")
        for file in files:
            key = os.path.abspath(file)
            if key not in seen:
                seen.add(key)
                found.append(SourceFile(file, str(file)))
    if not found:
        raise ConvertError("no .tf files given")
    return found


def convert_terraform(paths: Sequence[Path], out_dir: Path) -> Conversion:
    """Parse and convert. Raises HclParseError (file:line) on invalid HCL, ConvertError when there
    is nothing to read. Never writes."""
    files = discover(paths)
    for src in files:
        src.body = parse_file(src.path, src.display)
    conv = Conversion(files, {}, [], out_dir)
    modules: dict[str, list[SourceFile]] = {}
    for src in files:
        modules.setdefault(os.path.abspath(src.path.parent), []).append(src)
    for module_files in modules.values():
        _convert_module(module_files, conv)
    conv.notes.extend(drop_invalid(conv.docs, out_dir))
    order = {src.display: i for i, src in enumerate(files)}
    conv.notes.sort(key=lambda n: (order.get(n.file, len(order)), n.line or 0))
    _assign_targets(conv)
    return conv


def write_conversion(conv: Conversion, *, force: bool) -> list[Path]:
    return write_files(conv.rendered(), force=force)


def _assign_targets(conv: Conversion) -> None:
    by_target: dict[Path, str] = {}
    for src in conv.files:
        if not conv.docs.get(src.display):
            continue
        stem = src.path.name[: -len(".tf")]
        target = conv.out_dir / f"{stem}.yaml"
        if target in by_target:
            raise ConvertError(f"{by_target[target]} and {src.display} would both be written to {target}; "
                               "convert them separately with different --out folders")
        by_target[target] = src.display
        conv.targets[src.display] = target


def _convert_module(files: list[SourceFile], conv: Conversion) -> None:
    scope = Scope()
    spec_addresses: dict[str, str] = {}  # spec address -> where first declared
    # pass 1: variables, locals, and which resources will be converted
    for src in files:
        assert src.body is not None
        for block in src.body.blocks:
            if block.type == "variable" and len(block.labels) == 1:
                default = block.body.attributes.get("default")
                scope.variables[block.labels[0]] = Variable(block.labels[0], default.expr if default else None,
                                                            src.display, block.line)
            elif block.type == "locals":
                for attr in block.body.attributes.values():
                    scope.locals[attr.name] = (attr.expr, src.display)
            elif block.type in ("resource", "data") and len(block.labels) == 2:
                kinds = RESOURCE_KINDS if block.type == "resource" else DATA_KINDS
                type_, name = block.labels
                if type_ in kinds:
                    tf_address = f"{'data.' if block.type == 'data' else ''}{type_}.{name}"
                    left_out = any(m in block.body.attributes for m in ("count", "for_each")) \
                        or not NAME_RE.match(name)
                    scope.declared[tf_address] = not left_out
    _apply_tfvars(Path(os.path.abspath(files[0].path.parent)), files[0], scope)
    # pass 2: documents, in source order
    for src in files:
        assert src.body is not None
        scope.file = src.display
        docs: list[Doc] = []
        for attr in src.body.attributes.values():
            scope.notes.append(Note(src.display, attr.line, f"top-level argument {attr.name} left out",
                                    "arguments outside a block mean nothing in a Terraform configuration"))
        for block in src.body.blocks:
            doc = _convert_block(block, src, scope, conv.out_dir, spec_addresses)
            if doc is not None:
                docs.append(doc)
        conv.docs[src.display] = docs
    for name in sorted(scope.used_vars):
        var = scope.variables[name]
        if var.default is None:
            if name not in conv.unset_variables:
                conv.unset_variables.append(name)
            scope.notes.append(Note(var.file, var.line, f"variable {name} kept as ${{var.{name}}}",
                                    f"variable {name!r} has no default: pass --var {name}=... (or --var-file) "
                                    "to validate, plan and apply", WARNING))
    conv.notes.extend(scope.notes)


def _apply_tfvars(folder: Path, first: SourceFile, scope: Scope) -> None:
    """Values in terraform.tfvars and *.auto.tfvars (loaded by Terraform automatically, in that
    order) take the place of the defaults, as they would in `terraform plan`."""
    candidates = [folder / "terraform.tfvars", *sorted(folder.glob("*.auto.tfvars"))]
    base = first.path.parent
    for path in candidates:
        if not path.is_file():
            continue
        display = str(base / path.name)
        body = parse_file(path, display)
        for attr in body.attributes.values():
            var = scope.variables.get(attr.name)
            if var is None:
                scope.notes.append(Note(display, attr.line, f"value of {attr.name} in {path.name} ignored",
                                        f"no variable {attr.name!r} is declared", WARNING))
                continue
            var.default = attr.expr
            var.file = display


def _convert_block(block: Block, src: SourceFile, scope: Scope, out_dir: Path,
                   spec_addresses: dict[str, str]) -> Doc | None:
    def note(what: str, reason: str) -> None:
        scope.notes.append(Note(src.display, block.line, what, reason))

    header = " ".join([block.type, *(f'"{label}"' for label in block.labels)])
    if block.type in ("variable", "locals"):
        return None
    if block.type in ("resource", "data"):
        if len(block.labels) != 2:
            note(f"{header} left out", "expected two labels (type and name)")
            return None
        type_, name = block.labels
        kinds = RESOURCE_KINDS if block.type == "resource" else DATA_KINDS
        label = f"{'data source data.' if block.type == 'data' else 'resource '}{type_}.{name}"
        if block.type == "data" and type_ in LEGACY_DATA:
            note(f"{label} left out", LEGACY_DATA[type_])
            return None
        if type_ not in kinds:
            note(f"{label} left out", f"{'data source' if block.type == 'data' else 'resource'} type {type_!r} "
                 "is not managed by reconciler")
            return None
        ctx = MapContext(scope, src.path.parent, out_dir)
        doc = map_block(block, ctx)
        if doc is None:
            return None
        where = f"{src.display}:{block.line}"
        if doc.address in spec_addresses:
            note(f"{label} left out", f"it converts to {doc.address}, already used by {spec_addresses[doc.address]}")
            return None
        spec_addresses[doc.address] = where
        return doc
    if block.type in ("import", "moved"):
        return _import_or_moved(block, src, scope)
    reason = _NOT_CONVERTED_BLOCKS.get(block.type, f"{block.type} blocks are not supported")
    note(f"{header} block left out", reason)
    return None


def _import_or_moved(block: Block, src: SourceFile, scope: Scope) -> Doc | None:
    """`import { to, id }` and `moved { from, to }` map onto the spec language's own blocks."""
    attrs = block.body.attributes
    what = f"{block.type} block left out"

    def address(key: str) -> str | None:
        attr = attrs.get(key)
        if attr is None or not isinstance(attr.expr, Traversal):
            return None
        ref = reference_address(attr.expr)
        return ref[0] if ref is not None and not ref[2] else None

    if "for_each" in attrs:
        scope.notes.append(Note(src.display, block.line, what, "for_each is not supported"))
        return None
    source = f"{block.type} block"
    if block.type == "import":
        to = address("to")
        try:
            id_value = to_value(attrs["id"].expr, scope) if "id" in attrs else None
        except NotConvertible as exc:
            scope.notes.append(Note(src.display, exc.line, what, exc.reason))
            return None
        if to is None or not isinstance(id_value, str):
            scope.notes.append(Note(src.display, block.line, what,
                                    "`to` must name a resource reconciler manages and `id` must be a string"))
            return None
        raw: dict[str, Any] = {"import": {"to": to, "id": id_value}}
    else:
        old, new = address("from"), address("to")
        if old is None or new is None:
            scope.notes.append(Note(src.display, block.line, what,
                                    "`from` and `to` must name resources reconciler manages"))
            return None
        raw = {"moved": {"from": old, "to": new}}
    return Doc("", "", {}, src.display, block.line, source, raw=raw)
