"""The end-date logic, table-driven: days and their boundaries (UTC), base models of fine-tuned
names, when a base stops training and serving per platform, the API's shutdown_date winning over
the data, overrides, and the shipped data's own sourcing."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import pytest

from reconciler.lifecycle import (
    base_model,
    check_base_model,
    creation_end,
    days_left,
    model_end,
    model_ends,
    serving_end,
    shipped,
    today,
    training_end,
    training_refusal,
    with_overrides,
)


def t(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize(("now", "end", "left"), [
    ("2026-12-07T12:00:00Z", "2027-01-14", 38),
    ("2027-01-13T23:59:59Z", "2027-01-14", 1),
    ("2027-01-14T00:00:00Z", "2027-01-14", 0),
    ("2027-01-15T08:00:00Z", "2027-01-14", -1),
    ("2027-01-13T23:30:00-01:00", "2027-01-14", 0),   # already the 14th in UTC
])
def test_days_left_counts_utc_days(now: str, end: str, left: int) -> None:
    assert days_left(dt.date.fromisoformat(end), t(now)) == left


@pytest.mark.parametrize(("model", "base"), [
    ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"),
    ("ft:gpt-4o-mini-2024-07-18:acme:support:AbC123", "gpt-4o-mini-2024-07-18"),
    ("ft:gpt-4.1-2025-04-14:acme::AbC123:ckpt-step-10", "gpt-4.1-2025-04-14"),
    ("gpt-4.1-mini-2025-04-14.ft-0123456789abcdef0123456789abcdef", "gpt-4.1-mini-2025-04-14"),
    ("my-own-model", "my-own-model"),
])
def test_base_model(model: str, base: str) -> None:
    assert base_model(model) == base


@pytest.mark.parametrize(("platform", "model", "day"), [
    ("openai", "gpt-4o-mini", "2027-01-06"),                 # the platform's job-creation end comes first
    ("openai", "gpt-4.1-2025-04-14", "2027-01-06"),
    ("openai", "o4-mini", "2027-01-06"),
    ("openai", "gpt-4.1-nano-2025-04-14", "2026-10-23"),     # retired before it
    ("openai", "ft:gpt-4.1-nano-2025-04-14:acme::x", "2026-10-23"),
    ("azure", "gpt-4o-mini-2024-07-18", "2027-04-01"),
    ("azure", "gpt-4.1-nano", "2027-04-14"),
    ("azure", "o4-mini-2025-04-16", "2027-04-16"),
    ("azure", "davinci-002", None),
    ("gcp", "gpt-4o-mini", None),
])
def test_training_end(platform: str, model: str, day: str | None) -> None:
    end = training_end(shipped(), model, platform)
    assert (end.day if end else None) == day


@pytest.mark.parametrize(("now", "model", "refused"), [
    ("2027-01-05T23:59:59Z", "gpt-4o-mini", None),
    ("2027-01-06T00:00:00Z", "gpt-4o-mini", "2027-01-06"),
    ("2026-12-07T00:00:00Z", "gpt-4.1-nano", "2026-10-23"),
    ("2026-10-22T23:59:59Z", "gpt-4.1-nano", None),
    ("2027-06-01T00:00:00Z", "babbage-002", "2027-01-06"),   # no date of its own: the platform's
])
def test_training_refusal_on_openai(now: str, model: str, refused: str | None) -> None:
    end = training_refusal(shipped(), model, t(now))
    assert (end.day if end else None) == refused


@pytest.mark.parametrize(("platform", "model", "api", "day", "origin"), [
    ("openai", "ft:gpt-4o-mini-2024-07-18:acme::x", None, "2027-01-14", "data"),
    ("openai", "ft:gpt-4o-mini-2024-07-18:acme::x", {"ft:gpt-4o-mini-2024-07-18:acme::x": "2027-02-01"},
     "2027-02-01", "api"),
    ("openai", "ft:gpt-4o-mini-2024-07-18:acme::x", {"gpt-4o-mini-2024-07-18": "2027-01-20"}, "2027-01-20", "api"),
    ("openai", "ft:gpt-4o-mini-2024-07-18:acme::x", {"ft:gpt-4o-mini-2024-07-18:acme::x": None},
     "2027-01-14", "data"),                                  # null: nothing announced; the data decides
    ("openai", "gpt-4o-mini", {"gpt-4o-mini-2024-07-18": "not a day"}, "2027-01-14", "data"),
    ("openai", "o4-mini", None, None, None),
    ("openai", "o4-mini", {"o4-mini-2025-04-16": "2026-10-23"}, "2026-10-23", "api"),
    ("azure", "gpt-4o-mini-2024-07-18.ft-0123456789abcdef0123456789abcdef", None, "2027-10-01", "data"),
    ("azure", "gpt-4.1", None, "2027-10-14", "data"),
    ("azure", "o4-mini", None, "2027-10-16", "data"),
])
def test_serving_end_prefers_the_api(platform: str, model: str, api: dict | None, day: str | None,
                                     origin: str | None) -> None:
    end = serving_end(shipped(), model, platform, api)
    assert (end.day if end else None, end.origin if end else None) == (day, origin)


def test_overrides_replace_dates_and_cite_where() -> None:
    dates = with_overrides(shipped(), {"openai": {"job_creation_ends": "2027-02-01",
                                                  "models": {"gpt-4o-mini-2024-07-18": {"serving_ends": "2027-03-01"}}}},
                           "specs/settings.yaml:4")
    assert creation_end(dates, "openai").day == "2027-02-01"
    assert creation_end(dates, "openai").cite() == "override in specs/settings.yaml:4"
    assert serving_end(dates, "gpt-4o-mini").day == "2027-03-01"
    assert serving_end(dates, "gpt-4.1").day == "2027-01-14"                 # untouched
    assert training_end(dates, "gpt-4.1-nano").day == "2026-10-23"
    assert creation_end(shipped(), "openai").day == "2027-01-06"              # the shipped data is unchanged


@pytest.mark.parametrize(("now", "left", "gone", "ending"), [
    ("2026-12-07T12:00:00Z", 38, False, False),
    ("2026-12-15T12:00:00Z", 30, False, True),
    ("2027-01-13T12:00:00Z", 1, False, True),
    ("2027-01-14T00:00:00Z", 0, True, False),
])
def test_model_end(now: str, left: int, gone: bool, ending: bool) -> None:
    end = model_end(shipped(), "ft:gpt-4o-mini-2024-07-18:acme::x", t(now))
    assert (end.days_left, end.gone, end.ending(30)) == (left, gone, ending)
    assert end.to_dict()["serving_ends"] == "2027-01-14"
    assert end.to_dict()["source"].startswith("https://developers.openai.com/api/docs/deprecations")


def test_model_ends_soonest_first_unknown_last() -> None:
    found = model_ends([("ft:o4-mini-2025-04-16:a::x", "openai"), ("gpt-4.1-mini-2025-04-14.ft-ab", "azure"),
                        ("ft:gpt-4o-2024-08-06:a::y", "openai")], shipped(), t("2026-12-07T00:00:00Z"))
    assert [(m.base, m.platform, m.days_left) for m in found] == [
        ("gpt-4o-2024-08-06", "openai", 38), ("gpt-4.1-mini-2025-04-14", "azure", 311),
        ("o4-mini-2025-04-16", "openai", None)]


def test_today_is_the_utc_day() -> None:
    assert today(t("2027-01-06T00:30:00+01:00")) == dt.date(2027, 1, 5)


def test_every_shipped_date_names_its_source() -> None:
    raw = json.loads(resources.files("reconciler.lifecycle").joinpath("end_dates.json").read_text())
    assert set(raw["platforms"]) == {"openai", "azure"}
    entries = [raw["platforms"]["openai"]["job_creation_ends"]]
    for platform in raw["platforms"].values():
        for dates in platform["models"].values():
            entries += list(dates.values())
    assert len(entries) == 19
    for entry in entries:
        assert entry["source"].startswith("https://") and entry["section"]
        dt.date.fromisoformat(entry["date"])
        assert entry["published"] is None or dt.date.fromisoformat(entry["published"])


@pytest.mark.parametrize(("model", "method", "severity"), [
    ("gpt-4o-mini", "supervised", None),
    ("gpt-4o-2024-08-06", "dpo", None),
    ("o4-mini-2025-04-16", "reinforcement", None),
    ("ft:gpt-4o-mini-2024-07-18:acme::x", "supervised", None),
    ("ft:whatever:acme::x", "dpo", None),
    ("gpt-4o-mini-2024-07-19", "supervised", "error"),
    ("gpt-4.1-mini-2025-4-14", "dpo", "error"),
    ("o4-mini", "dpo", "error"),
    ("gpt-4.1", "reinforcement", "error"),
    ("gpt-5-mini", "supervised", "warning"),
    ("gpt-3.5-turbo-0125", "supervised", "warning"),
    ("o3", "reinforcement", "warning"),
])
def test_check_base_model(model: str, method: str, severity: str | None) -> None:
    problem = check_base_model(model, method)
    assert (problem.severity if problem else None) == severity


def test_managed_model_ends_reads_the_observed_attributes() -> None:
    from reconciler.lifecycle import managed_model_ends

    observed = {"FineTuningJob.b": {"fine_tuned_model": "ft:gpt-4o-2024-08-06:a::y", "status": "succeeded"},
                "FineTuningJob.a": {"fine_tuned_model": "ft:o4-mini-2025-04-16:a::x"},
                "FineTuningJob.running": {"fine_tuned_model": None, "status": "running"},
                "File.train": {"id": "file-1"},
                "FineTuningJob.azure": {"fine_tuned_model": "gpt-4.1-2025-04-14.ft-0123"}}
    found = managed_model_ends(observed, shipped(), t("2027-01-10T00:00:00Z"),
                               api={"ft:gpt-4o-2024-08-06:a::y": "2027-01-12"},
                               platform_of={"FineTuningJob.azure": "azure"})
    assert [(a, m.serving_end.day if m.serving_end else None, m.days_left) for a, m in found] == [
        ("FineTuningJob.b", "2027-01-12", 2), ("FineTuningJob.azure", "2027-10-14", 277),
        ("FineTuningJob.a", None, None)]
