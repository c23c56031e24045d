"""Checks JSON Schema cannot express, per kind, on a schema-valid spec; and the normalisation of a
spec (defaults, cancel_after_timeout as seconds, data.FineTuningJob id alias)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from reconciler.config.refs import is_reference
from reconciler.lifecycle.models import check_base_model

__all__ = ["RESERVED_METADATA_PREFIX", "Finding", "parse_duration", "retired_model_problem"]

RESERVED_METADATA_PREFIX = "reconciler_"
_RETIRED_BASE_MODELS = {
    "ada": "babbage-002",
    "babbage": "babbage-002",
    "curie": "babbage-002",
    "davinci": "davinci-002",
}
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


@dataclass(frozen=True)
class Finding:
    path: tuple[Any, ...]  # under the document: ("spec", "method", "type"); () for the document
    message: str
    severity: str = "error"


def parse_duration(value: int | str) -> int:
    """3600 -> 3600; "2h" -> 7200; "1h30m" -> 5400; "90m" -> 5400; "3600s" -> 3600."""
    if isinstance(value, int):
        return value
    m = _DURATION.match(value)
    if not m or not value:
        raise ValueError(f"not a duration: {value!r}")
    hours, minutes, seconds = (int(g or 0) for g in m.groups())
    return hours * 3600 + minutes * 60 + seconds


def retired_model_problem(model: Any) -> str | None:
    if isinstance(model, str) and model in _RETIRED_BASE_MODELS:
        return (
            f"base model {model!r} was retired with the legacy fine-tunes API; use "
            f"{_RETIRED_BASE_MODELS[model]} (babbage-002 or davinci-002) or a current model such as "
            "gpt-4o-mini-2024-07-18"
        )
    return None


def _model_findings(spec: dict[str, Any]) -> list[Finding]:
    """The base model against the models each method trains (reconciler/lifecycle/models.py): a
    near miss or a method the base lacks is an error, an unknown model a warning. Whether the base
    can still be trained today is asked where the day is known (validate, plan)."""
    model = spec.get("model")
    method = spec.get("method")
    kind = method.get("type") if isinstance(method, dict) else "supervised"
    if not isinstance(model, str) or not isinstance(kind, str) or is_reference(model) or "${" in model:
        return []
    problem = check_base_model(model, kind)
    return [Finding(("spec", "model"), problem.message, problem.severity)] if problem else []


def _grader_checks(grader: Any, path: tuple[Any, ...], out: list[Finding]) -> None:
    if not isinstance(grader, dict):
        return
    if grader.get("type") == "label_model":
        labels = grader.get("labels", [])
        extra = [x for x in grader.get("passing_labels", []) if x not in labels]
        if extra:
            out.append(
                Finding(
                    path + ("passing_labels",),
                    f"{', '.join(repr(x) for x in extra)} not in labels; passing_labels must be a "
                    f"subset of labels ({', '.join(labels)})",
                )
            )
    if grader.get("type") == "multi":
        subs = grader.get("graders")
        if isinstance(subs, dict) and "type" not in subs:  # a map of named graders
            for key, sub in subs.items():
                if isinstance(sub, dict):
                    _grader_checks(sub, path + ("graders", key), out)
        elif isinstance(subs, dict):
            _grader_checks(subs, path + ("graders",), out)
    if grader.get("type") == "score_model":
        rng = grader.get("range")
        if isinstance(rng, list) and len(rng) == 2 and rng[0] >= rng[1]:
            out.append(Finding(path + ("range",), f"the lower bound must be below the upper one, got {rng}"))


def _tree_copy(value: Any) -> Any:
    """A deep copy of loaded YAML (mappings, lists, scalars): copy.deepcopy's memo and dispatch cost
    five times as much on 1,000 job specs."""
    if isinstance(value, dict):
        return {k: _tree_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tree_copy(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return copy.deepcopy(value)


def _job(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    out: list[Finding] = []
    spec = _tree_copy(spec)
    problem = retired_model_problem(spec.get("model"))
    if problem:
        out.append(Finding(("spec", "model"), problem))
    else:
        out.extend(_model_findings(spec))
    for key in spec.get("metadata") or {}:
        if key.startswith(RESERVED_METADATA_PREFIX):
            out.append(
                Finding(
                    ("spec", "metadata", key),
                    f"key {key!r} is reserved: reconciler uses {RESERVED_METADATA_PREFIX}* keys "
                    "(reconciler_address, reconciler_digest, reconciler_lineage) to track the jobs it creates",
                )
            )
    method = spec.get("method")
    if isinstance(method, dict):
        kind = method.get("type")
        for other in ("supervised", "dpo", "reinforcement"):
            if other in method and other != kind:
                out.append(
                    Finding(
                        ("spec", "method", other),
                        f"method.type is {kind} but a {other!r} block is given; put the settings "
                        f"under method.{kind} (or set type: {other})",
                    )
                )
        if kind == "reinforcement" and "reinforcement" not in method:
            out.append(
                Finding(
                    ("spec", "method"), "method.type reinforcement needs method.reinforcement with a grader"
                )
            )
        reinforcement = method.get("reinforcement")
        if isinstance(reinforcement, dict):
            _grader_checks(reinforcement.get("grader"), ("spec", "method", "reinforcement", "grader"), out)
    if "hyperparameters" in spec:
        out.append(
            Finding(
                ("spec", "hyperparameters"),
                "hyperparameters is deprecated; move it to method.supervised.hyperparameters "
                "(with method.type: supervised)",
                "warning",
            )
        )
        if isinstance(method, dict):
            kind = method.get("type")
            block = method.get(kind) if isinstance(kind, str) else None
            inner = block.get("hyperparameters") if isinstance(block, dict) else None
            if inner is not None and inner != spec["hyperparameters"]:
                out.append(
                    Finding(
                        ("spec", "hyperparameters"),
                        f"conflicts with method.{kind}.hyperparameters; set hyperparameters in one "
                        "place only (method is the current one)",
                    )
                )
            elif kind in ("dpo", "reinforcement") and inner is None:
                out.append(
                    Finding(
                        ("spec", "hyperparameters"),
                        f"top-level hyperparameters apply to supervised jobs only; move them to "
                        f"method.{kind}.hyperparameters",
                    )
                )
    if "cancel_after_timeout" in spec and not is_reference(spec["cancel_after_timeout"]):
        seconds = parse_duration(spec["cancel_after_timeout"])
        if seconds < 1:
            out.append(Finding(("spec", "cancel_after_timeout"), "must be at least 1 second"))
        spec["cancel_after_timeout"] = seconds
    spec.setdefault("status", "running")
    return spec, out


def _file(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
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


def _permission(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    spec = dict(spec)
    spec.setdefault("exclusive", False)
    return spec, []


def _data_job(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
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


def _data_list(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    spec = dict(spec)
    spec.setdefault("max_items", 1000)
    return spec, []


def _data_checkpoints(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    spec, out = _data_list(spec)
    spec.setdefault("select", {"latest": True})
    return spec, out


check_job = _job
check_file = _file
check_permission = _permission
check_data_job = _data_job
check_data_list = _data_list
check_data_checkpoints = _data_checkpoints
