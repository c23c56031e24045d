"""The one canonical form of a job's create arguments, used wherever two of them are compared: the
inputs a spec gives (and their digest), the inputs a state recorded, and a live job read back from
the API (an import, an adoption, a Terraform state). Every value the API can return as null, leave
out, or fill with its default has one spelling here — absent — so that none of them reads as a
change and retrains a job:

    field             null == absent == ...
    model             an alias == the dated snapshot the API answers with
    validation_file   ""
    seed              (the API generates one: absent in the spec matches any)
    suffix            ""
    metadata          {}; the tracking tags are not the user's metadata
    integrations      []; in each item, null / [] / {} values (`wandb.name`, `wandb.entity`,
                      `wandb.tags`) as if not written
    method            {type: supervised}; a hyperparameter "auto" / "default" / null; empty blocks;
                      the sub-blocks of the other methods; the deprecated top-level
                      `hyperparameters` as method.supervised.hyperparameters
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.resources.canonical import MISSING
from reconciler.resources.models import SNAPSHOTS
from reconciler.resources.ownership import TAG_ADDRESS, TAG_DIGEST, TAG_LINEAGE, TAG_WORKSPACE

__all__ = ["CREATE_FIELDS", "TAG_ADDRESS", "TAG_DIGEST", "TRACKING_TAGS", "canonical_field", "canonical_inputs",
           "normalise_method"]

CREATE_FIELDS = ("model", "training_file", "validation_file", "seed", "suffix", "metadata",
                 "integrations", "method")
TRACKING_TAGS = (TAG_ADDRESS, TAG_DIGEST, TAG_LINEAGE, TAG_WORKSPACE)
_DEFAULT_MARKERS = ("auto", "default")
_HYPERPARAMETER_KEYS = frozenset({
    "batch_size", "learning_rate_multiplier", "n_epochs", "beta", "compute_multiplier",
    "eval_interval", "eval_samples", "reasoning_effort",
})


def _empty(value: Any) -> bool:
    return value is None or (type(value) in _CONTAINERS and not value)


_CONTAINERS = (dict, list, tuple)  # what specs, states and JSON answers hold (exact types: fast)


def _pruned(value: Any) -> Any:
    """Mappings without their null, empty and "auto" (hyperparameter) entries, all the way down;
    list items keep their place (each pruned)."""
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():
            item = _pruned(item)
            if _empty(item) or (item in _DEFAULT_MARKERS and key in _HYPERPARAMETER_KEYS
                                and isinstance(item, str)):
                continue
            out[key] = item
        return out
    if kind is list or kind is tuple:
        return [_pruned(v) for v in value]
    return value


def normalise_method(spec: Mapping[str, Any]) -> dict[str, Any]:
    """One method block: the deprecated top-level `hyperparameters` move into
    method.supervised.hyperparameters; the sub-blocks that do not match `type` are dropped."""
    method = spec.get("method") or {}  # not mutated: the result is built afresh below
    kind = method.get("type") or "supervised"
    legacy = spec.get("hyperparameters")
    block = method.get(kind) or {}
    if legacy and kind == "supervised" and not (isinstance(block, Mapping) and block.get("hyperparameters")):
        block = {**block, "hyperparameters": legacy}
    result: dict[str, Any] = {"type": kind}
    block = _pruned(block)
    if block:
        result[kind] = block
    return result


def canonical_field(field: str, value: Any, spec: Mapping[str, Any] | None = None) -> Any:
    """The canonical value of one create argument, or MISSING when it is null, absent or the
    API's default. `spec`: the whole mapping, which `method` needs (the deprecated top-level
    `hyperparameters`)."""
    if field == "method":
        return normalise_method(spec if spec is not None else {"method": value})
    if value is None:
        return MISSING
    if type(value) is str:
        if not value and field in ("validation_file", "suffix"):
            return MISSING
        return SNAPSHOTS.get(value, value) if field == "model" else value
    if field == "metadata" and isinstance(value, dict):
        value = {k: v for k, v in value.items() if k not in TRACKING_TAGS}
    elif field == "integrations" and type(value) in _CONTAINERS:
        value = [_pruned(item) for item in value]
    return MISSING if _empty(value) else value


def canonical_inputs(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical create arguments of a (reference-resolved) spec, recorded inputs or live job.
    May hold UNKNOWN (a value known only after apply), kept as it is."""
    inputs: dict[str, Any] = {}
    for field in CREATE_FIELDS:
        value = canonical_field(field, spec.get(field), spec)
        if value is not MISSING:
            inputs[field] = value
    return inputs
