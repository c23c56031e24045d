"""What a recording (or comparison) will cost before it is sent: the prompt tokens exactly (counted
as the API counts chat prompts, reconciler/cost/tokens.py), the answers at most
`max_completion_tokens` each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.cost.tokens import count_record, encoding_for
from reconciler.recording.prompts import Prompt

__all__ = ["estimate"]

FALLBACK_ENCODING = "o200k_base"   # every model the platforms still serve fine-tunes of


def estimate(address: str, model: str, prompts: Sequence[Prompt], max_tokens: int) -> dict[str, Any]:
    """Tokens of the prompts still to send; `completion_tokens_max` bounds the answers."""
    encoding = encoding_for(model) or FALLBACK_ENCODING
    prompt_tokens = sum(count_record({"messages": list(p.messages)}, "chat", encoding) for p in prompts)
    return {"address": address, "model": model, "prompts": len(prompts), "prompt_tokens": prompt_tokens,
            "completion_tokens_max": len(prompts) * max_tokens}
