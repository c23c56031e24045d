"""Which models can be fine-tuned here, their aliases, and which methods each supports."""

from __future__ import annotations

from collections.abc import Container

from reconciler.resources.models import SNAPSHOTS as _SNAPSHOTS
from reconciler_sandbox.errors import ApiError, bad_request

# alias -> dated snapshot the real API answers with (one table with the planner's normalisation)
ALIASES: dict[str, str] = {**_SNAPSHOTS, "babbage-002": "babbage-002", "davinci-002": "davinci-002"}
SNAPSHOTS: frozenset[str] = frozenset(ALIASES.values()) | {"gpt-3.5-turbo-1106", "gpt-3.5-turbo-0613"}
REASONING = ("o4-mini",)
DPO_FAMILIES = ("gpt-4o", "gpt-4.1")


def base_of(snapshot: str) -> str:
    """The snapshot a model name trains from: for `ft:BASE:org:suffix:id` that is BASE."""
    if snapshot.startswith("ft:"):
        parts = snapshot.split(":")
        return parts[1] if len(parts) > 1 else snapshot
    return snapshot


def resolve_model(name: object, fine_tuned: Container[str] | None = None) -> str:
    """The dated snapshot for an alias or snapshot; a known `ft:` model as given. 400 otherwise."""
    if not isinstance(name, str) or not name:
        raise bad_request("Missing required parameter: 'model'.", param="model",
                          code="missing_required_parameter")
    if name in ALIASES:
        return ALIASES[name]
    if name in SNAPSHOTS:
        return name
    if name.startswith("ft:") and fine_tuned is not None and name in fine_tuned:
        return name
    raise ApiError(400, f"Model {name} is not available for fine-tuning or does not exist.",
                   param="model", code="model_not_found")


def check_method(method: str, snapshot: str) -> None:
    base = base_of(snapshot)
    if method == "reinforcement" and not base.startswith(REASONING):
        raise bad_request(f"Fine-tuning method 'reinforcement' is not supported for model {snapshot}; "
                          "it needs a reasoning model (o4-mini).", param="method.type",
                          code="invalid_method")
    if method == "dpo" and not base.startswith(DPO_FAMILIES):
        raise bad_request(f"Fine-tuning method 'dpo' is not supported for model {snapshot}; "
                          "it needs a gpt-4o or gpt-4.1 model.", param="method.type", code="invalid_method")
    if method in ("supervised",) and base.startswith(REASONING):
        raise bad_request(f"Fine-tuning method 'supervised' is not supported for model {snapshot}; "
                          "reasoning models support 'reinforcement' only.", param="method.type",
                          code="invalid_method")
