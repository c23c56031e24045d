"""What the kinds' checks share (each kind's own checks, on a schema-valid spec, are in its folder:
reconciler/kinds/<kind>/checks.py): a finding, durations, the reserved metadata prefix, the base
models retired with the legacy fine-tunes API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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


def retired_model_successor(model: Any) -> str | None:
    """The model a retired legacy base (ada, babbage, curie, davinci) was replaced by; None otherwise."""
    return _RETIRED_BASE_MODELS.get(model) if isinstance(model, str) else None


def retired_model_problem(model: Any) -> str | None:
    if isinstance(model, str) and model in _RETIRED_BASE_MODELS:
        return (
            f"base model {model!r} was retired with the legacy fine-tunes API; use "
            f"{_RETIRED_BASE_MODELS[model]} (babbage-002 or davinci-002) or a current model such as "
            "gpt-4o-mini-2024-07-18"
        )
    return None
