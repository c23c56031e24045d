"""`"auto"` epochs resolve exactly as the cookbook's rule does.

Reference: OpenAI cookbook, "Data preparation and analysis for chat model fine-tuning"
(https://github.com/openai/openai-cookbook/blob/main/examples/Chat_finetuning_data_prep.ipynb,
section "Cost Estimation"); its code is copied below, wrapped in a function.
"""

from __future__ import annotations

import pytest

from reconciler.cost.epochs import auto_epochs, resolve_epochs

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def cookbook_n_epochs(n_train_examples: int) -> int:
    n_epochs = TARGET_EPOCHS
    if n_train_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        n_epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_train_examples)
    elif n_train_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        n_epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_train_examples)
    return n_epochs


@pytest.mark.parametrize(("examples", "epochs"), [
    (1, 25), (9, 11), (10, 10), (50, 3), (100, 3), (1000, 3), (30000, 1),
])
def test_auto_matches_the_cookbook(examples: int, epochs: int) -> None:
    assert cookbook_n_epochs(examples) == epochs
    assert auto_epochs(examples) == epochs


def test_auto_matches_the_cookbook_everywhere_in_between() -> None:
    for n in list(range(1, 20000, 7)) + [33, 34, 8333, 8334, 12500, 12501, 25000, 25001, 10**6]:
        assert auto_epochs(n) == cookbook_n_epochs(n), n


@pytest.mark.parametrize(("written", "examples", "expected"), [
    (4, 10, (4, False)), ("auto", 10, (10, True)), (None, 1000, (3, True)), ("auto", 0, (25, True)),
])
def test_resolve(written: object, examples: int, expected: tuple[int, bool]) -> None:
    assert resolve_epochs(written, examples) == expected
