"""Which base models can be fine-tuned, per method, and what is wrong with a model a spec names.

Supervised and DPO jobs train on the gpt-4o and gpt-4.1 families, reinforcement jobs on o4-mini
(the sandbox answers the same: reconciler_sandbox/models.py). Whether a base can still be trained
on a given day is a question of end dates (dates.py), asked where the day is known.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from reconciler.lifecycle.data import EndDate
from reconciler.lifecycle.dates import base_model
from reconciler.resources.models import SNAPSHOTS

__all__ = ["METHODS", "TRAINABLE", "ModelProblem", "check_base_model", "refusal"]

_CHAT = ("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14",
         "gpt-4.1-nano-2025-04-14")
TRAINABLE: dict[str, tuple[str, ...]] = {
    "supervised": _CHAT,
    "dpo": _CHAT,
    "reinforcement": ("o4-mini-2025-04-16",),
}
METHODS = tuple(TRAINABLE)
NEAR_MISS = 0.9   # difflib ratio from which a name is taken for a typo of a known one


@dataclass(frozen=True)
class ModelProblem:
    message: str
    severity: str   # error | warning


def _names(snapshots: tuple[str, ...]) -> list[str]:
    return [*snapshots, *(alias for alias, snapshot in SNAPSHOTS.items() if snapshot in snapshots)]


def check_base_model(model: str, method: str) -> ModelProblem | None:
    """What is wrong with training `model` with `method`, on any day: a method the base does not
    support (error), a near miss of a trainable name (error, with did-you-mean), a model that is
    not known to be trainable (warning: the API decides). A fine-tuned model (`ft:...`), the base
    of continued training, is left to the API: its end dates still apply through its base."""
    base = base_model(model)
    wanted = TRAINABLE.get(method)
    if wanted is None or base in wanted or model.startswith("ft:"):
        return None
    others = [m for m, snapshots in TRAINABLE.items() if base in snapshots]
    if others:
        return ModelProblem(f"{model} cannot be trained with method {method} (it supports {', '.join(others)}); "
                            f"{method} trains on {', '.join(wanted)}", "error")
    every = sorted({name for snapshots in TRAINABLE.values() for name in _names(snapshots)})
    close = difflib.get_close_matches(base, every, n=1, cutoff=NEAR_MISS)
    if close:
        return ModelProblem(f"model {model} does not exist (did you mean {close[0]}?)", "error")
    hint = difflib.get_close_matches(base, _names(wanted), n=1, cutoff=0.6)
    maybe = f" (did you mean {hint[0]}?)" if hint else ""
    return ModelProblem(f"{model} is not a model reconciler knows can be fine-tuned with {method} "
                        f"(known: {', '.join(wanted)}){maybe}; the API decides when the job is created",
                        "warning")


def refusal(model: str, end: EndDate, creation: EndDate | None, platform: str = "openai") -> str:
    """Why no job can be created on `model` any more, naming the date and its source."""
    name = {"openai": "OpenAI", "azure": "Azure OpenAI"}.get(platform, platform)
    if creation is not None and end == creation:
        return (f"{name} accepts no new fine-tuning jobs from {end.day} (source: {end.cite()}); "
                f"a job on {model} can no longer be created")
    return (f"{base_model(model)} was retired for fine-tuning on {name} on {end.day} (source: {end.cite()}); "
            f"a job on {model} can no longer be created")
