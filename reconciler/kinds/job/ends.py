"""The platforms' end dates, as they bear on a FineTuningJob (reconciler/lifecycle/ holds the data
and the date logic): a create the platform no longer accepts is refused before any request; a
create says when its model will stop answering; a managed model close to its end, or past it, is a
health finding. Pure: "now" is the walk's (the API's clock), or the caller's for `validate`."""

from __future__ import annotations

from typing import Any

from reconciler.config.documents import Document, SpecSet
from reconciler.config.providers import document_platforms
from reconciler.errors import SpecError
from reconciler.kinds.job.inputs import KIND
from reconciler.lifecycle.data import EndDates
from reconciler.lifecycle.dates import (
    base_model,
    creation_end,
    days_left,
    model_end,
    serving_end,
    today,
    training_refusal,
)
from reconciler.lifecycle.models import refusal
from reconciler.plan.model import Health, ServingEnd
from reconciler.plan.walk import Walk

__all__ = ["PLATFORM", "create_refusal", "end_date_problems", "model_health", "serving_note"]

PLATFORM = "openai"   # the platform of a job whose Provider names no other (spec.type: azure)


def _api(walk: Walk, platform: str) -> Any:
    """The shutdown dates GET /v1/models answered: OpenAI's, so for OpenAI's models only (Azure's
    models list carries none; its end dates are the shipped data's)."""
    return walk.snapshot.models if platform == PLATFORM else None


def _where(doc: Document) -> str:
    return f"{doc.file}:{doc.line_of('spec.model')}: {doc.address}: spec.model"


def create_refusal(doc: Document, model: Any, walk: Walk) -> str | None:
    """Why a job on `model` cannot be created at the walk's "now" (one line naming the date and
    its source), or None."""
    if not isinstance(model, str) or not model:
        return None
    platform = walk.platform(doc.address)
    end = training_refusal(walk.end_dates, model, walk.now, platform)
    if end is None:
        return None
    return f"{_where(doc)}: {refusal(model, end, creation_end(walk.end_dates, platform), platform)}; nothing was sent"


def serving_note(model: Any, walk: Walk, address: str = "") -> ServingEnd | None:
    """When the model a new job trains on `model` will stop answering, if that is known."""
    if not isinstance(model, str) or not model:
        return None
    platform = walk.platform(address)
    end = serving_end(walk.end_dates, model, platform, _api(walk, platform))
    if end is None:
        return None
    return ServingEnd(base_model(model), end.day, days_left(end.date, walk.now), end.cite())


def model_health(address: str, kind: str, live: dict[str, Any], walk: Walk) -> Health | None:
    """A managed fine-tuned model that stops answering within warn_days (`serving_ends`, with the
    days left), or has stopped already (`model_gone`: gone with its base, not drift)."""
    model = live.get("fine_tuned_model")
    if not isinstance(model, str) or not model:
        return None
    platform = walk.platform(address)
    end = model_end(walk.end_dates, model, walk.now, platform, _api(walk, platform))
    if end.serving_end is None or end.days_left is None:
        return None
    day, source = end.serving_end.day, end.serving_end.cite()
    if end.gone:
        return Health(address, kind, "model_gone", f"fine-tuned model {model} stopped answering on {day} with its "
                      f"base {end.base} (source: {source}); retrain it elsewhere (docs/LIFECYCLE.md)")
    if end.ending(walk.warn_days):
        days = f"{end.days_left} day{'' if end.days_left == 1 else 's'} left"
        return Health(address, kind, "serving_ends", f"fine-tuned model {model} stops answering on {day}, "
                      f"{days} (base {end.base}; source: {source}); retrain or archive it before then "
                      "(docs/LIFECYCLE.md)")
    return None


def end_date_problems(specs: SpecSet, now: float) -> tuple[list[SpecError], list[SpecError]]:
    """(errors, warnings) of the jobs in `specs` at `now` (`validate`, which has no API clock): a
    base retired for training is an error naming the day and the source; the platform's job
    creation end having passed is a warning (jobs already made are kept; new ones are refused by
    `plan`)."""
    dates: EndDates = specs.settings.lifecycle.dates()
    errors: list[SpecError] = []
    warnings: list[SpecError] = []
    platforms = document_platforms(specs)
    for doc in specs.documents.values():
        model = doc.spec.get("model") if doc.type == KIND else None
        if not isinstance(model, str) or "${" in model:
            continue
        platform = platforms.get(doc.address, PLATFORM)
        creation = creation_end(dates, platform)
        end = training_refusal(dates, model, now, platform)
        if end is None:
            continue
        line = doc.line_of("spec.model")
        if end == creation:
            warnings.append(SpecError(doc.file, line, f"{refusal(model, end, creation, platform)} (today is "
                                      f"{today(now)}); a job not made yet is refused by plan", doc.address,
                                      "spec.model", "warning"))
        else:
            errors.append(SpecError(doc.file, line, refusal(model, end, creation, platform), doc.address,
                                    "spec.model"))
    return errors, warnings
