"""The cost line counts epochs in English: `× 1 epoch`, `× 3 epochs`, `× auto (→ 1) epoch`."""

from __future__ import annotations

import pytest

from reconciler.cost.estimate import JobCost
from reconciler.render.cost import describe


@pytest.mark.parametrize(("epochs", "auto", "expected"), [
    (1, False, "× 1 epoch = "), (3, False, "× 3 epochs = "), (1, True, "× auto (→ 1) epoch = "),
    (9, True, "× auto (→ 9) epochs = "),
])
def test_epochs_singular_and_plural(epochs, auto, expected):
    job = JobCost("FineTuningJob.bot", "gpt-4o-mini-2024-07-18", "supervised", examples=12, tokens_per_epoch=100,
                  epochs=epochs, epochs_auto=auto, billed_tokens=100 * epochs, reason="no price")
    assert expected in describe(job)
