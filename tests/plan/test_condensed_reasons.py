"""A sweep's pending reason names the sweep once, not each instance (found trying examples/sweep:
six clauses for six jobs, fifty for fifty)."""

from __future__ import annotations

import pytest

from reconciler.resolver import condensed

W = 'FineTuningJob.sweep["{k}"]'


def wait(key: str, path: str = ".id") -> str:
    address = W.format(k=key)
    return f"${{{address}{path}}}: {address} is not created yet"


@pytest.mark.parametrize(("reasons", "expected"), [
    ([], []),
    ([wait("a")], [wait("a")]),  # one instance: said as it is
    ([wait("a"), wait("b"), wait("c")],
     ["${FineTuningJob.sweep[*].id}: 3 instances of FineTuningJob.sweep are not created yet"]),
    # other reasons keep their place; different attributes are separate groups
    (["${File.x.id}: File.x is not created yet", wait("a"), wait("a", ".fine_tuned_model"), wait("b"),
      wait("b", ".fine_tuned_model")],
     ["${File.x.id}: File.x is not created yet",
      "${FineTuningJob.sweep[*].id}: 2 instances of FineTuningJob.sweep are not created yet",
      "${FineTuningJob.sweep[*].fine_tuned_model}: 2 instances of FineTuningJob.sweep are not created yet"]),
    # a reason of another shape (a job still training) is never folded in
    ([wait("a"), '${FineTuningJob.sweep["b"].id}: FineTuningJob.sweep["b"] is running'],
     [wait("a"), '${FineTuningJob.sweep["b"].id}: FineTuningJob.sweep["b"] is running']),
])
def test_condensed(reasons, expected):
    assert condensed(reasons) == expected
