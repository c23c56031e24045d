"""Table-driven planner tests: (specs, state, API snapshot, options) -> expected plan, no server.

The cases are data in tests/plan/cases/*.yaml (format in casefile.py); harness.py is the only
code that calls the planner. On a mismatch the actual projection is printed as YAML.
`python -m tests.plan.show_case NAME` prints one case's projection.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reconciler.plan.model import Action, Op, ReplaceMode
from tests.plan.casefile import (
    Case,
    dump,
    error_matches,
    expected_actions,
    expected_projection,
    load_cases,
    run,
)

CASES = load_cases()
MIN_CASES = 60


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan_case(case: Case, tmp_path: Path) -> None:
    if "error" in case.expect:
        try:
            projection = run(case, tmp_path)
        except Exception as exc:  # the case names the type it expects
            problem = error_matches(case, exc)
            assert problem is None, f"{case.source}: {case.name}: {problem}"
            return
        pytest.fail(f"{case.source}: {case.name}: expected {case.expect['error']}, got a plan:\n{dump(projection)}")
    projection = run(case, tmp_path)
    expected = expected_projection(case)
    assert projection == expected, (f"{case.source}: {case.name}: the plan differs; actual projection:\n"
                                    f"{dump(projection)}")


def test_enough_cases() -> None:
    assert len(CASES) >= MIN_CASES, f"only {len(CASES)} planner cases; at least {MIN_CASES} are expected"


def test_every_action_is_expected_somewhere() -> None:
    seen = Counter(expected_actions(CASES))
    missing = [a.value for a in Action if seen[a.value] == 0]
    assert not missing, f"no case expects these actions: {missing}"
    unknown = set(seen) - {a.value for a in Action}
    assert not unknown, f"cases expect actions that do not exist: {sorted(unknown)}"


def test_every_step_op_is_expected_somewhere() -> None:
    ops: Counter[str] = Counter()
    for case in CASES:
        for change in case.expect.get("changes") or []:
            for step in change.get("steps") or []:
                ops[str(step).split(":", 1)[0]] += 1
    missing = [o.value for o in Op if ops[o.value] == 0]
    assert not missing, f"no case expects these step ops: {missing}"


def test_every_replace_mode_is_expected_somewhere() -> None:
    modes = {str(change.get("mode")) for case in CASES for change in case.expect.get("changes") or []}
    missing = [m.value for m in ReplaceMode if m.value not in modes]
    assert not missing, f"no case expects these replace modes: {missing}"


def test_error_cases_exist() -> None:
    assert sum(1 for c in CASES if "error" in c.expect) >= 5
