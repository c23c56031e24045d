"""A CheckpointPermission spec's defaults (its JSON Schema says the rest)."""

from __future__ import annotations

from typing import Any

from reconciler.config.checks import Finding

__all__ = ["check_permission"]


def check_permission(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    spec = dict(spec)
    spec.setdefault("exclusive", False)
    return spec, []
