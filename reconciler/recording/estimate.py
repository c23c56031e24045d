"""What a recording (or comparison) will cost before it is sent: the prompt tokens exactly (counted
as the API counts chat prompts, reconciler/cost/tokens.py), the answers at most
`max_completion_tokens` each, at the fine-tuned model's inference price (cost/prices.json); and
what it did cost, from the usage the API reported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.cost.pricing import inference_price
from reconciler.cost.tokens import count_record, encoding_for
from reconciler.recording.prompts import Prompt

__all__ = ["budget_refusal", "cost_bound", "estimate", "spent"]

FALLBACK_ENCODING = "o200k_base"   # every model the platforms still serve fine-tunes of


def _price(model: str) -> tuple[Any, str | None]:
    """(the price, or None and why not)."""
    if not (model.startswith("ft:") or ".ft-" in model):
        return None, f"{model} is a base model; only fine-tuned models' inference prices are shipped"
    if ".ft-" in model:
        return None, f"Azure's per-token price of {model} on its deployment is not in reconciler's data"
    price = inference_price(model)
    return (price, None) if price is not None else (None, f"no inference price for {model}")


def estimate(address: str, model: str, prompts: Sequence[Prompt], max_tokens: int) -> dict[str, Any]:
    """Tokens of the prompts still to send; `completion_tokens_max` bounds the answers, and so
    `cost.usd_max` the cost (None, with `reason`, when the model's price is not known)."""
    encoding = encoding_for(model) or FALLBACK_ENCODING
    prompt_tokens = sum(count_record({"messages": list(p.messages)}, "chat", encoding) for p in prompts)
    completion_max = len(prompts) * max_tokens
    price, reason = _price(model)
    cost: dict[str, Any] = {"usd_max": None, "reason": reason, "price": None}
    if price is not None:
        cost = {"usd_max": round((prompt_tokens * price.input + completion_max * price.output) / 1e6, 6),
                "usd_prompts": round(prompt_tokens * price.input / 1e6, 6), "reason": None,
                "price": price.to_dict()}
    return {"address": address, "model": model, "prompts": len(prompts), "prompt_tokens": prompt_tokens,
            "completion_tokens_max": completion_max, "cost": cost}


def spent(model: str, usage: Mapping[str, int]) -> dict[str, Any]:
    """What the answers cost at the model's price: the usage the API reported × the price."""
    price, reason = _price(model)
    if price is None:
        return {"usd": None, "reason": reason}
    usd = (int(usage.get("prompt_tokens", 0)) * price.input + int(usage.get("completion_tokens", 0)) * price.output)
    return {"usd": round(usd / 1e6, 6), "price": price.to_dict()}


def budget_refusal(estimates: Sequence[Mapping[str, Any]], limit: float | None, unknown: str) -> str | None:
    """Why the budget (`Settings.spec.budgets.max_cost_per_apply`) refuses this run, if it does:
    the estimate's upper bound over the limit, or a cost that is not known (unless `unknown_cost: allow`)."""
    if limit is None:
        return None
    pending = [e for e in estimates if e["prompts"]]
    unknown_ones = [e for e in pending if e["cost"]["usd_max"] is None]
    if unknown_ones and unknown != "allow":
        e = unknown_ones[0]
        return (f"budgets.max_cost_per_apply: the cost of {e['address']} is unknown ({e['cost']['reason']}); "
                "set budgets.unknown_cost: allow to send it anyway")
    total = sum(e["cost"]["usd_max"] or 0.0 for e in pending)
    if total > limit:
        return (f"budgets.max_cost_per_apply: at most ${total:,.4f} to send, over the ${limit:,.2f} budget "
                "(lower --max-prompts or --max-completion-tokens)")
    return None


def cost_bound(model: str, prompt_tokens: int, completion_max: int) -> dict[str, Any]:
    """At most what asking `model` costs: the prompt tokens at its input price and `completion_max`
    at its output price (`usd_max` None, with `reason`, when its price is not known)."""
    price, reason = _price(model)
    if price is None:
        return {"usd_max": None, "reason": reason}
    return {"usd_max": round((prompt_tokens * price.input + completion_max * price.output) / 1e6, 6),
            "reason": None}
