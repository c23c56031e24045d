"""Print the actual projection of planner cases, for writing or reviewing `expect:` blocks.

    .venv/bin/python -m tests.plan.show_case NAME [NAME...]     # one or more cases
    .venv/bin/python -m tests.plan.show_case --all               # every case, marking mismatches

Never copy the output into a case without reading it: a case states what the planner *should* do.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.plan.casefile import Case, dump, error_matches, expected_projection, load_cases, run


def _show(case: Case, mark_only: bool) -> bool:
    error: Exception | None = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            projection: dict[str, Any] = run(case, Path(tmp))
        except Exception as exc:
            error = exc
            projection = {"error": {"type": type(exc).__name__, "message": str(exc)}}
    if "error" in case.expect:
        ok = error is not None and error_matches(case, error) is None
    else:
        ok = error is None and projection == expected_projection(case)
    if mark_only:
        print(f"{'ok  ' if ok else 'DIFF'} {case.source}: {case.name}")
    else:
        print(f"# {case.source}: {case.name}{'' if ok else '  (differs from expect)'}")
        print(dump(projection))
    return ok


def main(argv: list[str]) -> int:
    cases = {c.name: c for c in load_cases()}
    if argv == ["--all"]:
        return 0 if all([_show(c, True) for c in cases.values()]) else 1
    for name in argv:
        _show(cases[name], False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
