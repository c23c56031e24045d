"""What a File spec must satisfy beyond its JSON Schema, and its defaults."""

from __future__ import annotations

from typing import Any

from reconciler.config.checks import Finding

__all__ = ["check_file"]


def check_file(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    spec = dict(spec)
    out = []
    if "${" in spec["path"]:
        out.append(
            Finding(
                ("spec", "path"),
                "a local path cannot hold a reference; write the path itself (variables ${var.X} are fine)",
            )
        )
    spec.setdefault("purpose", "fine-tune")
    spec.setdefault("allow_outside_spec_dir", False)
    return spec, out
