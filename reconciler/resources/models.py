"""Base-model names: the API answers a model alias with its dated snapshot."""

from __future__ import annotations

__all__ = ["SNAPSHOTS", "same_model"]

# Aliases of the fine-tunable models and the snapshot the API resolves them to.
# The sandbox answers with the same table (reconciler_sandbox/models.py imports it).
SNAPSHOTS: dict[str, str] = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "o4-mini": "o4-mini-2025-04-16",
}


def same_model(wanted: str | None, live: str | None) -> bool:
    """True when the live model is what the spec asked for: equal, the alias's known snapshot, or
    a dated snapshot of the alias (`gpt-4o-mini` vs `gpt-4o-mini-2024-07-18`)."""
    if wanted is None or live is None:
        return wanted == live
    if wanted == live or SNAPSHOTS.get(wanted) == live:
        return True
    suffix = live[len(wanted):] if live.startswith(wanted + "-") else ""
    return bool(suffix) and (suffix[1:].replace("-", "").isdigit())
