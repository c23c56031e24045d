"""Prices per platform (cost/pricing.py): a job of an azure Provider is priced only by azure prices
(shipped or in Settings spec.pricing with platform: azure), never by OpenAI's; table-driven."""

from __future__ import annotations

import re

import pytest

from reconciler.cost.pricing import builtin_prices, parse_overrides


@pytest.mark.parametrize(("model", "method", "platform", "usd"), [
    ("gpt-4.1-mini-2025-04-14", "supervised", "openai", 5.00),
    ("gpt-4.1-mini", "supervised", "openai", 5.00),                     # an alias: its snapshot's
    ("gpt-4.1-mini-2025-04-14", "supervised", "azure", None),           # not shipped: unknown, never OpenAI's
    ("gpt-4.1-mini-2025-04-14.ft-0123456789abcdef0123456789abcdef", "supervised", "azure", None),
    ("o4-mini-2025-04-16", "reinforcement", "azure", 100.00),           # Microsoft's cost guide
    ("o4-mini-2025-04-16", "reinforcement", "openai", 100.00),
])
def test_lookup_by_platform(model: str, method: str, platform: str, usd: float | None) -> None:
    price = builtin_prices().lookup(model, method, platform)
    assert (price.usd if price is not None else None) == usd
    if price is not None:
        assert price.platform == platform and price.source


def test_settings_override_for_azure_prices_only_azure_jobs() -> None:
    table = builtin_prices().with_overrides(parse_overrides([
        {"platform": "azure", "model": "gpt-4.1-mini-2025-04-14", "method": "supervised", "per_1m_tokens": 7.5}]))
    azure = table.lookup("gpt-4.1-mini-2025-04-14.ft-0123456789abcdef0123456789abcdef", "supervised", "azure")
    assert azure is not None and azure.usd == 7.5 and azure.origin == "settings"
    assert table.lookup("gpt-4.1-mini-2025-04-14", "supervised", "openai").usd == 5.00  # type: ignore[union-attr]


@pytest.mark.parametrize(("entry", "message"), [
    ({"platform": "aws", "model": "m", "method": "supervised", "per_1m_tokens": 1}, "spec.pricing[0].platform: must be one of openai, azure"),
    ({"platform": "azure", "model": "m", "method": "reinforcement", "per_1m_tokens": 1}, "billed per hour"),
])
def test_bad_platform_prices_are_one_line(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_overrides([entry])
