"""Converted documents → spec YAML text, and writing the files (never overwriting unless told)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

import reconciler
from reconciler.convert.mapping import Doc
from reconciler.convert.notes import Note
from reconciler.errors import ReconcilerError

__all__ = ["ConvertError", "dump_yaml", "render_file", "schema_reference", "write_files"]

HEADER = "# converted from {source} by reconciler convert terraform"


class ConvertError(ReconcilerError):
    """Nothing to convert, an output file already exists, two inputs collide, ..."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)  # indent lists under their key


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_representer)


def dump_yaml(data: Any) -> str:
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                          allow_unicode=True, width=110)
    return text


def schema_reference(out_dir: Path) -> str:
    """The `$schema` for editors: the JSON Schema published in the package, relative to out_dir."""
    schema = Path(reconciler.__file__).resolve().parent / "config" / "schema" / "spec.schema.json"
    try:
        return Path(os.path.relpath(schema, os.path.abspath(out_dir))).as_posix()
    except ValueError:  # another drive on Windows
        return schema.as_uri()


def render_file(source: str, docs: Sequence[Doc], notes: Iterable[Note], schema_ref: str) -> str:
    lines = [HEADER.format(source=source), f"# yaml-language-server: $schema={schema_ref}"]
    left_out = [n for n in notes if n.severity == "not_converted"]
    if left_out:
        lines.append("#")
        lines.append("# Not converted (left out of this file):")
        lines.extend(f"#   {n}" for n in left_out)
    parts = ["\n".join(lines) + "\n"]
    for i, doc in enumerate(docs):
        chunk = "---\n" if i else ""
        chunk += f"# {doc.file}:{doc.line}: {doc.source}\n"
        chunk += dump_yaml(doc.document())
        parts.append(chunk)
    return "".join(parts)


def write_files(rendered: Mapping[Path, str], *, force: bool) -> list[Path]:
    """Write every file, or none: existing files are refused (all listed) unless force."""
    if not force:
        existing = [p for p in rendered if p.exists()]
        if existing:
            names = ", ".join(str(p) for p in existing)
            raise ConvertError(f"{names} already exist{'s' if len(existing) == 1 else ''}; "
                               "use --force to overwrite or --out to write elsewhere")
    written: list[Path] = []
    for path, text in rendered.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written
