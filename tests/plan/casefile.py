"""Loading and running the planner cases kept as data in tests/plan/cases/*.yaml.

Each file holds `cases:` (a list) and may hold other top-level keys starting with `x-` to define
YAML anchors shared by its cases. A case:

    name: unique-id                    # the pytest id
    specs: |                           # the spec folder's main.yaml (or a mapping file -> text)
    files: {data/train.jsonl: ...}     # optional: written beside the specs
    state: {ADDRESS: resource, ...}    # optional: the state file's `resources` (or the whole file)
    snapshot: {jobs, files, permissions, checkpoints, deployments, server_time}   # optional: what the API reports
    options: {targets, replace, refresh, refresh_only, destroy, vars}  # optional
    expect:                            # the projection (harness.project), or:
      error: {type: PlanError, match: REGEX}

Nothing here touches the planner: harness.py does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.plan import harness

CASES_DIR = Path(__file__).resolve().parent / "cases"
CASE_KEYS = frozenset({"name", "specs", "files", "state", "snapshot", "options", "expect"})
EXPECT_KEYS = frozenset({"changes", "drift", "health", "warnings", "moves", "imports", "error"})
CHANGE_KEYS = frozenset({"address", "action", "reasons", "steps", "attrs", "unknown", "pending",
                         "create_before_destroy", "mode"})


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    data: dict[str, Any]

    @property
    def expect(self) -> dict[str, Any]:
        expect: dict[str, Any] = self.data["expect"]
        return expect


def _check(case: Case) -> None:
    where = f"{case.source}: case {case.name!r}"
    unknown = set(case.data) - CASE_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("specs", "expect"):
        if key not in case.data:
            raise ValueError(f"{where}: missing {key}")
    extra = set(case.expect) - EXPECT_KEYS
    if extra:
        raise ValueError(f"{where}: unknown expect keys {sorted(extra)}")
    if "error" in case.expect and len(case.expect) != 1:
        raise ValueError(f"{where}: expect.error stands alone")
    for change in case.expect.get("changes") or []:
        extra = set(change) - CHANGE_KEYS
        if extra:
            raise ValueError(f"{where}: unknown change keys {sorted(extra)}")


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        extra = [k for k in data if k != "cases" and not str(k).startswith("x-")]
        if extra:
            raise ValueError(f"{path.name}: unknown top-level keys {extra} (anchors go under x-...)")
        for raw in data.get("cases") or []:
            case = Case(name=str(raw.get("name")), source=path.name, data=raw)
            _check(case)
            if case.name in seen:
                raise ValueError(f"{path.name}: case name {case.name!r} already used in {seen[case.name]}")
            seen[case.name] = path.name
            cases.append(case)
    return cases


def run(case: Case, workdir: Path) -> dict[str, Any]:
    """The projection of the plan the case produces (exceptions propagate)."""
    spec_dir = workdir / "specs"
    files = case.data.get("files") or {}
    harness.write_case_files(spec_dir, case.data["specs"], files)
    plan = harness.make_plan(spec_dir, case.data.get("state"), case.data.get("snapshot"),
                             case.data.get("options"), data_files=files)
    return harness.project(plan, spec_dir)


def expected_projection(case: Case) -> dict[str, Any]:
    """The case's expectation with the omitted (empty) sections filled in."""
    expect = case.expect
    return {
        "changes": list(expect.get("changes") or []),
        "drift": list(expect.get("drift") or []),
        "health": list(expect.get("health") or []),
        "warnings": list(expect.get("warnings") or []),
        "moves": list(expect.get("moves") or []),
        "imports": dict(expect.get("imports") or {}),
    }


def error_matches(case: Case, exc: BaseException) -> str | None:
    """None when `exc` is the error the case expects, else what differs."""
    want = case.expect["error"]
    if type(exc).__name__ != want.get("type", "PlanError"):
        return f"expected {want.get('type', 'PlanError')}, got {type(exc).__name__}: {exc}"
    if not re.search(want["match"], str(exc)):
        return f"message {str(exc)!r} does not match {want['match']!r}"
    return None


def expected_actions(cases: list[Case]) -> Iterator[str]:
    for case in cases:
        for change in case.expect.get("changes") or []:
            yield str(change["action"])


def dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=200)
