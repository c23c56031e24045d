"""The estimate and its rendering, table-driven and without a server: Plans built by hand, counts
given, prices from a table."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reconciler.cost.estimate import HOURLY_REASON, estimate_plan
from reconciler.cost.jobs import CountKey, job_inputs
from reconciler.cost.pricing import PriceTable, builtin_prices, inference_price, parse_overrides
from reconciler.cost.tokens import FileCount
from reconciler.plan.model import Action, Change, Plan, ReplaceMode
from reconciler.render.cost import describe, money, tokens_short, total_line

BASE = Path("/specs")


def _doc(address: str, spec: dict[str, Any]) -> Any:
    return SimpleNamespace(address=address, spec=spec, base_dir=BASE)


def _job(name: str, *, model: str = "gpt-4o-mini-2024-07-18", method: str = "supervised", n_epochs: Any = None,
         action: Action = Action.CREATE, training_file: str = "${File.train.id}") -> tuple[Change, Any]:
    block = {"hyperparameters": {"n_epochs": n_epochs}} if n_epochs is not None else {}
    after = {"model": model, "training_file": None, "method": {"type": method, **({method: block} if block else {})}}
    change = Change(address=f"FineTuningJob.{name}", kind="FineTuningJob", action=action, after=after,
                    replace=ReplaceMode.FORGET_THEN_CREATE if action is Action.REPLACE else None)
    return change, _doc(change.address, {"model": model, "training_file": training_file})


def _estimate(jobs: list[tuple[Change, Any]], counts: dict[str, FileCount | str],
              prices: PriceTable | None = None) -> Any:
    documents = {"File.train": _doc("File.train", {"path": "data/train.jsonl"})}
    documents.update({c.address: d for c, d in jobs})
    keyed: dict[CountKey, FileCount | str] = {}
    for change, _ in jobs:
        key = job_inputs(change, documents).key
        if key is not None and key.format in counts:
            keyed[key] = counts[key.format]
    plan = Plan(lineage="l", serial=1, changes=tuple(c for c, _ in jobs))
    return estimate_plan(plan, documents, keyed, prices or builtin_prices())


def _count(examples: int, tokens: int, fmt: str = "chat") -> FileCount:
    return FileCount(examples, tokens, "0" * 64, 1, "o200k_base", fmt)


CASES = [
    # (name, job kwargs, count, usd, billed, epochs, auto, reason-substring)
    ("explicit epochs", dict(n_epochs=4), _count(12, 1000), 4000 * 3 / 1e6, 4000, 4, False, None),
    ("auto: 12 examples -> 8", dict(n_epochs="auto"), _count(12, 1000), 8000 * 3 / 1e6, 8000, 8, True, None),
    ("missing n_epochs is auto", {}, _count(1000, 10), 30 * 3 / 1e6, 30, 3, True, None),
    ("gpt-4o price", dict(model="gpt-4o-2024-08-06", n_epochs=2), _count(50, 500_000), 25.0, 1_000_000, 2, False,
     None),
    ("no price: dpo", dict(method="dpo", n_epochs=2), _count(10, 100, "preference"), None, 200, 2, False,
     "no price for gpt-4o-mini-2024-07-18 (dpo)"),
    ("no encoding", dict(model="llama-3-8b", n_epochs=2), _count(10, 100), None, None, None, False,
     "no token encoding known for llama-3-8b"),
    ("not a local file", dict(training_file="file-abc123", n_epochs=2), _count(10, 100), None, None, None, False,
     "file-abc123 is not a File in these specs"),
    ("unreadable", dict(n_epochs=2), "cannot read /specs/data/train.jsonl: No such file", None, None, None, False,
     "cannot read"),
    ("reinforcement is hourly", dict(model="o4-mini-2025-04-16", method="reinforcement"),
     _count(10, 100, "reinforcement"), None, None, None, False, HOURLY_REASON),
]


@pytest.mark.parametrize(("name", "kwargs", "count", "usd", "billed", "epochs", "auto", "reason"), CASES,
                         ids=[c[0] for c in CASES])
def test_job_cost(name: str, kwargs: dict[str, Any], count: Any, usd: float | None, billed: int | None,
                  epochs: int | None, auto: bool, reason: str | None) -> None:
    change, doc = _job("bot", **kwargs)
    fmt = count.format if isinstance(count, FileCount) else "chat"
    cost = _estimate([(change, doc)], {fmt: count})
    job = cost.by_address["FineTuningJob.bot"]
    assert job.usd == (pytest.approx(usd) if usd is not None else None)
    assert (job.billed_tokens, job.epochs, job.epochs_auto) == (billed, epochs, auto)
    if reason is None:
        assert job.reason is None
    else:
        assert reason in (job.reason or "")
    data = job.to_dict()
    assert data["version"] == 1 and set(data) >= {"examples", "tokens_per_epoch", "epochs", "billed_tokens", "usd"}


def test_only_created_or_replaced_jobs_are_costed() -> None:
    jobs = [_job("new", n_epochs=1), _job("again", n_epochs=1, action=Action.REPLACE),
            _job("paused", n_epochs=1, action=Action.UPDATE), _job("gone", n_epochs=1, action=Action.DELETE)]
    cost = _estimate(jobs, {"chat": _count(10, 1_000_000)})
    assert sorted(cost.by_address) == ["FineTuningJob.again", "FineTuningJob.new"]
    summary = cost.summary()
    assert summary == {"version": 1, "usd": 6.0, "jobs": 2, "estimated": 2, "unknown": 0, "complete": True,
                       "replacements": 1, "replacement_billed_tokens": 1_000_000, "billed_tokens": 2_000_000}
    assert total_line(cost) == "Estimated training cost: $6.00 (2 jobs; 1 replacement retrains 1M tokens)"


@pytest.mark.parametrize(("jobs", "line"), [
    ([dict(n_epochs=2)], "Estimated training cost: $0.01 (1 job)"),
    ([dict(n_epochs=2), dict(method="dpo", n_epochs=2)],
     "Estimated training cost: at least $0.01 (2 jobs; 1 unknown: FineTuningJob.j1: no price for "
     "gpt-4o-mini-2024-07-18 (dpo))"),
    ([dict(method="dpo", n_epochs=2)],
     "Estimated training cost: unknown (1 job; 1 unknown: FineTuningJob.j0: no price for "
     "gpt-4o-mini-2024-07-18 (dpo))"),
])
def test_total_line(jobs: list[dict[str, Any]], line: str) -> None:
    built = [_job(f"j{i}", **kw) for i, kw in enumerate(jobs)]
    cost = _estimate(built, {"chat": _count(10, 2000), "preference": _count(10, 2000, "preference")})
    assert total_line(cost) == line


def test_describe_shows_auto_resolved_and_the_price() -> None:
    change, doc = _job("bot", n_epochs="auto")
    job = _estimate([(change, doc)], {"chat": _count(12, 1016)}).by_address["FineTuningJob.bot"]
    assert describe(job) == ("$0.02 (12 examples, 1,016 tokens/epoch × auto (→ 8) epochs = 8,128 billed tokens "
                             "at $3.00 / 1M tokens)")


def test_reinforcement_shows_the_hourly_price() -> None:
    change, doc = _job("rft", model="o4-mini-2025-04-16", method="reinforcement")
    job = _estimate([(change, doc)], {"reinforcement": _count(10, 100, "reinforcement")}).by_address[
        "FineTuningJob.rft"]
    assert describe(job) == f"unknown: $100.00 / hour, {HOURLY_REASON}"


def test_a_settings_override_wins_and_adds_a_model() -> None:
    overrides = parse_overrides([{"model": "gpt-4.1-nano-2025-04-14", "method": "supervised", "per_1m_tokens": 1.5},
                                 {"model": "gpt-4o-mini-2024-07-18", "method": "supervised", "per_1m_tokens": 5}])
    prices = builtin_prices().with_overrides(overrides)
    jobs = [_job("a", model="gpt-4.1-nano-2025-04-14", n_epochs=1), _job("b", n_epochs=1)]
    cost = _estimate(jobs, {"chat": _count(10, 1_000_000)}, prices)
    assert cost.by_address["FineTuningJob.a"].usd == pytest.approx(1.5)
    assert cost.by_address["FineTuningJob.b"].usd == pytest.approx(5.0)
    assert cost.by_address["FineTuningJob.b"].to_dict()["price"]["origin"] == "settings"


@pytest.mark.parametrize(("raw", "message"), [
    ("x", "spec.pricing: must be a list"),
    ([{"model": "m", "method": "supervised", "per_1m_tokens": 1, "cost": 2}], "spec.pricing[0]: unknown field 'cost'"),
    ([{"model": "m", "method": "sft", "per_1m_tokens": 1}], "spec.pricing[0].method: must be one of"),
    ([{"model": "m", "method": "supervised"}], "spec.pricing[0]: give exactly one of per_1m_tokens"),
    ([{"model": "m", "method": "supervised", "per_1m_tokens": -1}], "spec.pricing[0].per_1m_tokens: must be a number"),
    ([{"model": "m", "method": "reinforcement", "per_1m_tokens": 1}], "reinforcement is billed per hour"),
    ([{"model": "", "method": "supervised", "per_1m_tokens": 1}], "spec.pricing[0].model: must be a model name"),
])
def test_bad_overrides_are_one_line(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        parse_overrides(raw)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_every_shipped_price_has_a_source_and_a_date() -> None:
    prices = list(builtin_prices())
    assert prices
    for price in prices:
        assert price.source.startswith("https://") and price.as_of


@pytest.mark.parametrize(("value", "text"), [(0, "$0.00"), (0.001, "<$0.01"), (12.4, "$12.40"), (1234.5, "$1,234.50")])
def test_money(value: float, text: str) -> None:
    assert money(value) == text


@pytest.mark.parametrize(("value", "text"), [(999, "999"), (12_345, "12.3K"), (1_200_000, "1.2M"), (3_000_000, "3M")])
def test_tokens_short(value: int, text: str) -> None:
    assert tokens_short(value) == text


@pytest.mark.parametrize(("model", "method", "usd", "per"), [
    ("gpt-4.1-2025-04-14", "supervised", 25.00, "1M tokens"), ("gpt-4.1-mini", "supervised", 5.00, "1M tokens"),
    ("gpt-4.1-nano-2025-04-14", "supervised", 1.50, "1M tokens"), ("gpt-4o", "supervised", 25.00, "1M tokens"),
    ("gpt-4o-mini-2024-07-18", "supervised", 3.00, "1M tokens"), ("gpt-4.1-2025-04-14", "dpo", 25.00, "1M tokens"),
    ("gpt-4.1-mini-2025-04-14", "dpo", 5.00, "1M tokens"), ("gpt-4.1-nano", "dpo", 1.50, "1M tokens"),
    ("o4-mini", "reinforcement", 100.00, "hour"),
    ("ft:gpt-4.1-mini-2025-04-14:acme:bot:abc123", "supervised", 5.00, "1M tokens"),
])
def test_the_shipped_table_prices_every_model_the_platform_trains(model: str, method: str, usd: float,
                                                                  per: str) -> None:
    price = builtin_prices().lookup(model, method)
    assert price is not None and (price.usd, price.per) == (usd, per)
    assert price.source == "https://developers.openai.com/api/docs/pricing" and price.as_of == "2026-12-07"


@pytest.mark.parametrize(("model", "method"), [("gpt-4o-mini-2024-07-18", "dpo"), ("gpt-3.5-turbo-1106", "supervised"),
                                               ("davinci-002", "supervised"), ("o4-mini-2025-04-16", "supervised")])
def test_what_the_pricing_page_does_not_say_stays_unknown(model: str, method: str) -> None:
    assert builtin_prices().lookup(model, method) is None


@pytest.mark.parametrize(("model", "prices"), [
    ("ft:gpt-4.1-mini-2025-04-14:acme:bot:abc123", (0.80, 0.20, 3.20)),
    ("gpt-4.1", (3.00, 0.75, 12.00)), ("gpt-4.1-nano-2025-04-14", (0.20, 0.05, 0.80)),
    ("gpt-4o-2024-08-06", (3.75, 1.875, 15.00)), ("gpt-4o-mini", (0.30, 0.15, 1.20)),
    ("ft:o4-mini-2025-04-16:acme::x1", (4.00, 1.00, 16.00)), ("gpt-3.5-turbo", (3.00, None, 6.00)),
])
def test_inference_prices_of_fine_tuned_models(model: str, prices: tuple[float, float | None, float]) -> None:
    price = inference_price(model)
    assert price is not None and (price.input, price.cached_input, price.output) == prices
    assert price.source.startswith("https://") and price.as_of
    assert price.to_dict()["per"] == "1M tokens"


def test_a_model_without_an_inference_price_is_none_never_zero() -> None:
    assert inference_price("ft:davinci-002:acme::x") is None and inference_price("gpt-5-mini") is None
