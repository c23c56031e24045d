"""The platforms' end dates: sourced data (end_dates.json), its typed loader and overrides
(data.py), the pure date logic (dates.py) and which models each method trains (models.py).

A leaf of the package: it reads no clock and no environment; "now" is always an argument.

    from reconciler.lifecycle import shipped, model_ends
    ends = model_ends([("ft:gpt-4o-mini-2024-07-18:org::abc", "openai")], shipped(), now)
"""

from reconciler.lifecycle.data import (
    DEFAULT_WARN_DAYS,
    EndDate,
    EndDates,
    LifecycleSettings,
    ModelDates,
    PlatformDates,
    shipped,
    with_overrides,
)
from reconciler.lifecycle.dates import (
    ApiShutdowns,
    ModelEnd,
    base_model,
    creation_end,
    days_left,
    managed_model_ends,
    model_end,
    model_ends,
    serving_end,
    today,
    training_end,
    training_refusal,
)
from reconciler.lifecycle.models import TRAINABLE, ModelProblem, check_base_model, refusal

__all__ = ["DEFAULT_WARN_DAYS", "TRAINABLE", "ApiShutdowns", "EndDate", "EndDates", "LifecycleSettings",
           "ModelDates", "ModelEnd", "ModelProblem", "PlatformDates", "base_model", "check_base_model",
           "creation_end", "days_left", "managed_model_ends", "model_end", "model_ends", "refusal", "serving_end", "shipped", "today",
           "training_end", "training_refusal", "with_overrides"]
