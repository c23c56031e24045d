"""End dates of what a Deployment serves: Azure's deployment retirement of fine-tunes of its base
(lifecycle data, platform azure). A deployment planned for a model Azure no longer serves is
refused; a managed one within warn_days of its end, or past it, is a health finding. Pure: "now"
is the walk's."""

from __future__ import annotations

from typing import Any

from reconciler.lifecycle.dates import base_model, model_end
from reconciler.plan.model import Health, ServingEnd
from reconciler.plan.walk import Walk

__all__ = ["PLATFORM", "deployment_health", "fine_tuned", "gone_refusal", "serving_note"]

PLATFORM = "azure"


def fine_tuned(model: Any) -> bool:
    """The retirement data covers deployments of fine-tunes (`ft:…` or Azure's `BASE.ft-<hex>`)."""
    return isinstance(model, str) and (model.startswith("ft:") or ".ft-" in model)


def serving_note(model: Any, walk: Walk) -> ServingEnd | None:
    """When the model a new deployment serves stops being served, if that is known."""
    if not fine_tuned(model):
        return None
    end = model_end(walk.end_dates, model, walk.now, PLATFORM)
    if end.serving_end is None or end.days_left is None:
        return None
    return ServingEnd(base_model(model), end.serving_end.day, end.days_left, end.serving_end.cite())


def gone_refusal(address: str, model: Any, walk: Walk) -> str | None:
    """Why a new deployment of `model` cannot serve: Azure retired deployments of its base."""
    if not fine_tuned(model):
        return None
    end = model_end(walk.end_dates, model, walk.now, PLATFORM)
    if not end.gone or end.serving_end is None:
        return None
    return (f"{address}: Azure retired deployments of fine-tunes of {end.base} on {end.serving_end.day} "
            f"(source: {end.serving_end.cite()}); nothing was sent")


def deployment_health(address: str, kind: str, model: Any, walk: Walk) -> Health | None:
    """A managed deployment whose model Azure stops serving within warn_days, or has stopped."""
    if not fine_tuned(model):
        return None
    end = model_end(walk.end_dates, model, walk.now, PLATFORM)
    if end.serving_end is None or end.days_left is None:
        return None
    day, source = end.serving_end.day, end.serving_end.cite()
    if end.gone:
        return Health(address, kind, "model_gone", f"deployment of {model} stopped serving on {day} (Azure "
                      f"retired deployments of fine-tunes of {end.base}; source: {source})")
    if end.ending(walk.warn_days):
        days = f"{end.days_left} day{'' if end.days_left == 1 else 's'} left"
        return Health(address, kind, "serving_ends", f"deployment of {model} stops serving on {day}, {days} "
                      f"(base {end.base}; source: {source}); move it to a newer base before then")
    return None
