"""What the data sources' specs must satisfy beyond their JSON Schemas, and their defaults."""

from __future__ import annotations

from typing import Any

from reconciler.config.checks import Finding

__all__ = ["check_data_checkpoints", "check_data_job", "check_data_list"]


def check_data_job(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    spec = dict(spec)
    out = []
    given = [k for k in ("id", "fine_tuning_job_id", "metadata") if k in spec]
    if not given:
        out.append(Finding(("spec",), "give the job's id, or a metadata filter that matches exactly one job"))
    elif len(given) > 1:
        out.append(
            Finding(
                ("spec", given[1]),
                f"give only one of id, fine_tuning_job_id (an alias of id) or "
                f"metadata; found {', '.join(given)}",
            )
        )
    if "fine_tuning_job_id" in spec and "id" not in spec:
        spec["id"] = spec.pop("fine_tuning_job_id")
    if "metadata" in spec and not spec["metadata"]:
        out.append(
            Finding(("spec", "metadata"), "an empty filter would match every job; give at least one pair")
        )
    return spec, out


def check_data_list(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    spec = dict(spec)
    spec.setdefault("max_items", 1000)
    return spec, []


def check_data_checkpoints(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    spec, out = check_data_list(spec)
    spec.setdefault("select", {"latest": True})
    return spec, out
