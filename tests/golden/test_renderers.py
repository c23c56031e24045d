"""Golden files for every renderer in reconciler/render/, fed hand-built Plans and DriftReports (no
server): plan text (plain and coloured), Markdown, plan JSON (dumped and streamed, and a saved
plan), the text of a plan read back from its JSON, and drift reports in text, Markdown, JSON and
JUnit. See tests/golden/README.md."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
import pytest

from reconciler.plan.model import Action, Plan
from reconciler.render import drift as drift_render
from reconciler.render.json_plan import iter_plan_json, plan_from_dict, plan_to_dict
from reconciler.render.markdown import render_plan_markdown
from reconciler.render.text import iter_plan_lines, render_plan
from tests.golden.golden import check, diff, version_free
from tests.golden.plans import PLANS, REPORTS, built_report, every_category_report, full_plan

# What the CLI passes as `style` on a terminal: reconciler.cli.context.Out.style is click.style
# when colour is on (and the identity otherwise). The e2e goldens pin that the CLI uses it.
COLOUR: Callable[..., str] = click.style


def _plan(name: str) -> Plan:
    return PLANS[name]()


def _dumped(plan: Plan) -> str:
    return version_free(json.dumps(plan_to_dict(plan), indent=2, default=str))


def _streamed(plan: Plan, **kw: Any) -> str:
    return version_free("".join(iter_plan_json(plan, **kw)))


def test_the_full_plan_has_every_action() -> None:
    plan = full_plan()
    assert {c.action for c in plan.changes} == set(Action)
    assert any(c.create_before_destroy for c in plan.changes)
    assert plan.drift and plan.health and plan.warnings and plan.moves and plan.imports and plan.targets


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_text(name: str) -> None:
    plan = _plan(name)
    text = render_plan(plan)
    check(f"plan-{name}.txt", text)
    # the CLI writes iter_plan_lines line by line: the same bytes
    assert "".join(line + "\n" for line in iter_plan_lines(plan)) == text


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_text_coloured(name: str) -> None:
    plan = _plan(name)
    text = render_plan(plan, COLOUR)
    check(f"plan-{name}.ansi", text)
    assert click.unstyle(text) == render_plan(plan)


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_markdown(name: str) -> None:
    check(f"plan-{name}.md", render_plan_markdown(_plan(name)))


def test_plan_markdown_truncated() -> None:
    text = render_plan_markdown(full_plan(), limit=3000, title="reconciler plan (prod)")
    assert len(text) <= 3000
    check("plan-full.truncated.md", text)


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_json(name: str) -> None:
    plan = _plan(name)
    streamed = _streamed(plan)
    check(f"plan-{name}.json", streamed)
    dumped = _dumped(plan)
    assert dumped == streamed, "plan_to_dict dumped and iter_plan_json differ:\n" + diff(dumped, streamed, name)


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_json_round_trips(name: str) -> None:
    """plan_from_dict(plan_to_dict(p)) gives a plan whose JSON is the same bytes; its text (what
    `reconciler show PLANFILE` prints) is pinned too, as it may differ from the original's (a
    value the API leaves unset is null in JSON)."""
    original = _streamed(_plan(name))
    restored = plan_from_dict(json.loads(original))
    again = _streamed(restored)
    assert again == original, "the JSON of the restored plan differs:\n" + diff(original, again, name)
    check(f"plan-{name}.roundtrip.txt", render_plan(restored))


def test_saved_plan_file() -> None:
    """What `plan --out FILE` writes: indent 1, with the state file appended."""
    check("plan-full.saved.json", _streamed(full_plan(), indent=1, extra={"state_file": "state/default.json"}))


def test_drift_renderers_are_the_four_formats() -> None:
    assert sorted(drift_render.RENDERERS) == ["json", "junit", "markdown", "text"]


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_drift_text(name: str) -> None:
    report = REPORTS[name]()
    check(f"drift-{name}.txt", drift_render.render_text(report))
    check(f"drift-{name}.ansi", drift_render.render_text(report, COLOUR))


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_drift_markdown(name: str) -> None:
    check(f"drift-{name}.md", drift_render.render_markdown(REPORTS[name]()))


def test_drift_markdown_truncated() -> None:
    text = drift_render.render_markdown(every_category_report(), limit=1500)
    assert len(text) <= 1500
    check("drift-every-category.truncated.md", text)


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_drift_json(name: str) -> None:
    check(f"drift-{name}.json", version_free(drift_render.render_json(REPORTS[name]())))


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_drift_junit(name: str) -> None:
    check(f"drift-{name}.xml", drift_render.render_junit(REPORTS[name]()))


def test_built_report_exercises_ignore_rules() -> None:
    report = built_report()
    ignored = [f for f in report.findings if f.ignored]
    assert ignored and report.active()
    assert any(f.category == "unmanaged_job" and not f.ignored for f in report.findings)
