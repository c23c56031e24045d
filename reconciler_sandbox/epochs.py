"""The epochs the platform trains for `n_epochs: "auto"`: its own statement of the rule, written
from the source (not imported from reconciler/cost/epochs.py), so a test comparing reconciler's
estimate with what the sandbox trains checks one against the other.

Source: OpenAI's cookbook notebook "Data preparation and analysis for chat model fine-tuning"
(https://cookbook.openai.com/examples/chat_finetuning_data_prep): aim at 3 epochs, but at least 100
and at most 25,000 examples seen in all, within 1 to 25 epochs (docs/SANDBOX.md, F54).
"""

from __future__ import annotations

__all__ = ["auto_epochs"]


def auto_epochs(examples: int) -> int:
    """The epochs `"auto"` means for a training file of this many examples."""
    n = max(1, examples)
    if 3 * n < 100:
        return min(25, 100 // n)
    if 3 * n > 25_000:
        return max(1, 25_000 // n)
    return 3
