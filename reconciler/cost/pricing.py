"""Training prices as data: the table shipped in the package (prices.json, each price with its source
and date) and the overrides of the `Settings` document (`spec.pricing`).

A price is per million training tokens (supervised, dpo) or per hour of training (reinforcement). A
model or method with no price is answered with the reason, never with a guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from reconciler.cost.tokens import base_model
from reconciler.resources.models import SNAPSHOTS

__all__ = ["METHODS", "InferencePrice", "Price", "PriceTable", "builtin_base_inference_prices",
           "builtin_inference_prices", "builtin_prices", "inference_price", "model_inference_price", "parse_overrides", "pricing_schema"]

METHODS = ("supervised", "dpo", "reinforcement")
_UNITS = {"per_1m_tokens": "1M tokens", "per_hour": "hour"}
_FIELDS = {"model", "method", "per_1m_tokens", "per_hour", "source", "as_of", "checked", "also", "quality",
           "note", "platform"}
PLATFORMS = ("openai", "azure")   # a price is the platform's (Provider spec.type); openai when not said


@dataclass(frozen=True)
class Price:
    model: str
    method: str
    usd: float
    per: str               # "1M tokens" or "hour"
    source: str = ""
    as_of: str = ""
    origin: str = "builtin"   # "builtin" (prices.json) or "settings" (an override)
    platform: str = "openai"  # whose price: openai or azure

    @property
    def hourly(self) -> bool:
        return self.per == "hour"

    def to_dict(self) -> dict[str, Any]:
        found = {"usd": self.usd, "per": self.per, "model": self.model, "method": self.method,
                 "source": self.source, "as_of": self.as_of, "origin": self.origin}
        if self.platform != "openai":
            found["platform"] = self.platform
        return found


def _price(entry: Mapping[str, Any], origin: str, where: str) -> Price:
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise ValueError(f"{where}: unknown field '{unknown[0]}' (a price has model, method, per_1m_tokens "
                         f"or per_hour, source, as_of)")
    model, method = entry.get("model"), entry.get("method")
    if not isinstance(model, str) or not model:
        raise ValueError(f"{where}.model: must be a model name")
    if method not in METHODS:
        raise ValueError(f"{where}.method: must be one of {', '.join(METHODS)}")
    platform = entry.get("platform", "openai")
    if platform not in PLATFORMS:
        raise ValueError(f"{where}.platform: must be one of {', '.join(PLATFORMS)} (the Provider type it is the price of)")
    units = [k for k in _UNITS if k in entry]
    if len(units) != 1:
        raise ValueError(f"{where}: give exactly one of per_1m_tokens (supervised, dpo) or per_hour (reinforcement)")
    usd = entry[units[0]]
    if isinstance(usd, bool) or not isinstance(usd, (int, float)) or usd < 0 or usd != usd or usd == float("inf"):
        raise ValueError(f"{where}.{units[0]}: must be a number of US dollars, 0 or more")
    if (units[0] == "per_hour") != (method == "reinforcement"):
        raise ValueError(f"{where}: {method} is billed {'per hour' if method == 'reinforcement' else 'per token'}: "
                         f"use {'per_hour' if method == 'reinforcement' else 'per_1m_tokens'}")
    return Price(model, str(method), float(usd), _UNITS[units[0]], str(entry.get("source") or ""),
                 str(entry.get("as_of") or entry.get("checked") or ""), origin, str(platform))


class PriceTable:
    def __init__(self, prices: Iterable[Price]) -> None:
        self._prices: dict[tuple[str, str, str], Price] = {}
        for price in prices:
            self._prices[(price.platform, price.model, price.method)] = price

    def with_overrides(self, overrides: Iterable[Price]) -> PriceTable:
        return PriceTable([*self._prices.values(), *overrides])

    def lookup(self, model: str, method: str, platform: str = "openai") -> Price | None:
        """The price of training `model` with `method` on `platform`: a fine-tuned model is trained
        at its base model's price; an alias at its snapshot's. One platform's price is never used
        for another's."""
        name = base_model(model)
        for candidate in (name, SNAPSHOTS.get(name, name)):
            price = self._prices.get((platform, candidate, method))
            if price is not None:
                return price
        return None

    def __iter__(self) -> Any:
        return iter(self._prices.values())


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    text = resources.files("reconciler.cost").joinpath("prices.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@lru_cache(maxsize=1)
def builtin_prices() -> PriceTable:
    data = _shipped()
    return PriceTable(_price(entry, "builtin", f"prices.json prices[{i}]") for i, entry in enumerate(data["prices"]))


@dataclass(frozen=True)
class InferencePrice:
    """What a fine-tuned model of `model` costs to use, in USD per million tokens; `cached_input` is
    None where the pricing page lists none."""
    model: str
    input: float
    cached_input: float | None
    output: float
    source: str
    as_of: str

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "input": self.input, "cached_input": self.cached_input,
                "output": self.output, "per": "1M tokens", "source": self.source, "as_of": self.as_of}


def _usd(entry: Mapping[str, Any], key: str, where: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{where}.{key}: must be a number of US dollars, 0 or more")
    return float(value)


@lru_cache(maxsize=2)
def _inference_table(section: str) -> Mapping[str, InferencePrice]:
    """One price list of prices.json (`inference` or `base_inference`), by base model snapshot."""
    table: dict[str, InferencePrice] = {}
    for i, entry in enumerate(_shipped().get(section, [])):
        where = f"prices.json {section}[{i}]"
        cached = None if entry.get("cached_input") is None else _usd(entry, "cached_input", where)
        table[str(entry["model"])] = InferencePrice(
            str(entry["model"]), _usd(entry, "input", where), cached, _usd(entry, "output", where),
            str(entry.get("source") or ""), str(entry.get("as_of") or ""))
    return table


def builtin_inference_prices() -> Mapping[str, InferencePrice]:
    """The inference prices of fine-tuned models shipped in prices.json, by base model snapshot."""
    return _inference_table("inference")


def builtin_base_inference_prices() -> Mapping[str, InferencePrice]:
    """The standard inference prices of base models shipped in prices.json ("base_inference")."""
    return _inference_table("base_inference")


def model_inference_price(model: str) -> InferencePrice | None:
    """What calling `model` costs: a fine-tuned model's inference price, else the base model's
    standard price (a snapshot or its alias); None when neither is shipped."""
    if model.startswith("ft:") or ".ft-" in model:
        return inference_price(model)
    table = builtin_base_inference_prices()
    return table.get(model) or table.get(SNAPSHOTS.get(model, model))


def inference_price(model: str) -> InferencePrice | None:
    """The inference price of a fine-tuned model (`ft:BASE:…`) or of fine-tunes of a base model or
    alias; None when the pricing page gives none."""
    name = base_model(model)
    table = builtin_inference_prices()
    return table.get(name) or table.get(SNAPSHOTS.get(name, name))


def parse_overrides(raw: Any, where: str = "spec.pricing") -> list[Price]:
    """The `spec.pricing` list of a Settings document; ValueError (one line naming the field) when
    it is malformed."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError(f"{where}: must be a list of prices ({{model, method, per_1m_tokens or per_hour}})")
    prices = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}[{i}]: must be a mapping")
        prices.append(_price(entry, "settings", f"{where}[{i}]"))
    return prices


def pricing_schema() -> dict[str, Any]:
    """The JSON Schema of the Settings document's `spec.pricing` (config/settings.py uses it); what a
    schema cannot say (one unit, the right unit for the method) `parse_overrides` checks."""
    return {
        "type": "array",
        "description": "Training prices that override (or add to) the table shipped with reconciler "
                       "(reconciler/cost/prices.json): per million training tokens for supervised and dpo, "
                       "per hour of training for reinforcement.",
        "items": {
            "type": "object",
            "required": ["model", "method"],
            "properties": {
                "model": {"type": "string", "minLength": 1,
                          "description": "The base model, as a dated snapshot (gpt-4o-mini-2024-07-18) or alias."},
                "method": {"enum": list(METHODS)},
                "platform": {"enum": list(PLATFORMS), "description": "Whose price: openai (default) or azure "
                             "(the jobs of an azure Provider are priced only by azure prices)."},
                "per_1m_tokens": {"type": "number", "minimum": 0, "description": "USD per million training tokens."},
                "per_hour": {"type": "number", "minimum": 0,
                             "description": "USD per hour of training (reinforcement)."},
                "source": {"type": "string", "description": "Where the price comes from (a URL)."},
                "as_of": {"type": "string", "description": "When the price was read, e.g. 2026-11-29."},
                "note": {"type": "string"},
            },
            "additionalProperties": False,
        },
    }
