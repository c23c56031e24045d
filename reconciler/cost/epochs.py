"""How many epochs a job trains: a number as written, or `"auto"` resolved as OpenAI resolves it.

The rule is the one OpenAI publishes in its cookbook notebook "Data preparation and analysis for chat
model fine-tuning" (https://cookbook.openai.com/examples/chat_finetuning_data_prep): aim at 3 epochs,
but at least 100 and at most 25,000 examples seen in all, within 1 to 25 epochs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_DEFAULT_EPOCHS", "MAX_TARGET_EXAMPLES", "MIN_DEFAULT_EPOCHS", "MIN_TARGET_EXAMPLES",
           "TARGET_EPOCHS", "auto_epochs", "resolve_epochs"]

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def auto_epochs(examples: int) -> int:
    """The epochs `"auto"` means for a training file of this many examples."""
    n = max(1, examples)
    epochs = TARGET_EPOCHS
    if n * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n)
    elif n * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n)
    return epochs


def resolve_epochs(n_epochs: Any, examples: int) -> tuple[int, bool]:
    """(epochs, resolved from auto). A missing value is `"auto"`, as the API defaults it."""
    if isinstance(n_epochs, int) and not isinstance(n_epochs, bool) and n_epochs > 0:
        return n_epochs, False
    return auto_epochs(examples), True
