"""Writes the compiled validators (one module per kind schema under config/schema/) with
fastjsonschema's code generator. Run when the package is built or installed (the in-tree build
backend, _build/backend.py, loads this file by its path before setuptools builds) and by
`python -m reconciler.config.compiled` in a checkout; the modules are never committed.

Standard library and fastjsonschema only: the build environment has nothing else.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

__all__ = ["module_name", "render", "sha256", "write_all"]


def module_name(kind: str) -> str:
    return "k_" + kind.replace(".", "_")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render(kind: str, text: str) -> str:
    """The source of the compiled module for `kind`, whose schema file holds `text`."""
    import fastjsonschema  # the code generator: only where modules are written

    # no defaults written into the document, no format assertions: jsonschema checks neither
    code = fastjsonschema.compile_to_code(json.loads(text), use_default=False, use_formats=False)
    entry = re.search(r"^def (validate\w*)\(", code, re.M)
    if entry is None:
        raise RuntimeError("fastjsonschema generated no validator function")
    return ("# ruff: noqa\n# mypy: ignore-errors\n"
            f"# Generated from {kind}.schema.json when reconciler was installed: do not edit.\n"
            f'SCHEMA_SHA256 = "{sha256(text)}"\n' + code + f"\n\nvalidate = {entry.group(1)}\n")


def write_all(schema_dir: Path, out_dir: Path) -> list[Path]:
    """One module per `<Kind>.schema.json` in schema_dir (spec.schema.json, the union, has none)."""
    written = []
    for schema in sorted(schema_dir.glob("*.schema.json")):
        kind = schema.name.removesuffix(".schema.json")
        if kind == "spec":
            continue
        path = out_dir / f"{module_name(kind)}.py"
        text = render(kind, schema.read_text(encoding="utf-8"))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
