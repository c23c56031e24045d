"""Policies in the CLI: evaluating them after a plan and its cost are made (`check_policies`, used
by `plan` and `apply`), who overrides a deny (`override_author`), and `reconciler policy test FILE
--fixtures DIR`, which runs policies against fixture objects like `conftest verify`.

A fixture is a YAML file (one or more documents) or a JSON file in DIR (JSON fixtures can sit in a
spec folder: the loader reads only *.yaml / *.yml):

    name: too_many_epochs                 # optional; the file name and index otherwise
    object: {kind: FineTuningJob, action: create, spec: {model: gpt-4o, ...}, cost: {usd: 12.5}}
    plan: {new_jobs: 1}                   # optional; missing keys are zero
    expect: deny                          # pass | warn | deny — or per rule: {Policy.epochs: deny}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli.context import EXIT_ERROR, EXIT_OK, common_options, out

if TYPE_CHECKING:
    from reconciler.config.documents import SpecSet
    from reconciler.plan.model import Plan


__all__ = ["apply_overrides", "check_policies", "override_author", "policy"]

_OUTCOMES = ("pass", "warn", "deny")


def check_policies(specs: SpecSet, plan: Plan, cost: Any) -> Any:
    """Every policy and budget result of this plan (PolicyReport)."""
    from reconciler.policy.engine import evaluate

    return evaluate(plan, specs.documents, specs.policies, specs.settings.budgets, cost)


def apply_overrides(report: Any, plan: Plan, apply_policy: Any, names: tuple[str, ...],
                    reason: str | None) -> tuple[Any, Any]:
    """The report with `--policy-override` applied, and the ApplyPolicy that refuses on what is
    still denied and records the overrides in the state."""
    import dataclasses
    import time

    from reconciler.policy.overrides import override_records, resolve_overrides

    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    overrides = resolve_overrides(names, reason, override_author() if names else "", at, report)
    report = report.with_overrides(overrides)
    return report, dataclasses.replace(apply_policy, policies=report, overrides=override_records(report, plan))


def override_author() -> str:
    """user@host of whoever runs the override (recorded in the state)."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _load_policies(path: Path) -> list[Any]:
    from reconciler.config.policies import POLICY_KIND, check_policy_document
    from reconciler.config.yamlpos import load_file
    from reconciler.errors import ConfigError, SpecError, SpecErrors
    from reconciler.kinds.registry import KINDS

    if not path.is_file():
        raise ConfigError(f"{path}: no such file (give a YAML file holding kind: Policy documents)")
    raws, errors = load_file(path, str(path))
    found = []
    problems: list[SpecError] = list(errors)
    for raw in raws:
        if not isinstance(raw.value, dict) or raw.value.get("kind") != POLICY_KIND:
            continue
        policy, more = check_policy_document(raw.value, str(path), raw.line, raw.positions, tuple(KINDS))
        problems.extend(more)
        if policy is not None:
            found.append(policy)
    if problems:
        raise SpecErrors(problems)
    if not found:
        raise ConfigError(f"{path}: holds no kind: Policy document")
    return found


def _fixtures(folder: Path) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(name, file, line, fixture) for every fixture document under `folder`."""
    from reconciler.config.spec_files import spec_files
    from reconciler.config.yamlpos import load_file
    from reconciler.errors import ConfigError, SpecError, SpecErrors

    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder (give the fixtures folder with --fixtures DIR)")
    found = []
    problems: list[SpecError] = []
    for path in sorted([*spec_files(folder), *folder.rglob("*.json")], key=lambda p: p.as_posix()):
        raws, errors = load_file(path, str(path))
        problems.extend(errors)
        for i, raw in enumerate(raws):
            value = raw.value
            if not isinstance(value, dict) or not isinstance(value.get("object"), dict) or "expect" not in value:
                problems.append(SpecError(str(path), raw.line, "a fixture is a mapping with object and expect "
                                          "(and optionally name and plan)"))
                continue
            extra = sorted(set(value) - {"name", "object", "plan", "expect"})
            if extra:
                problems.append(SpecError(str(path), raw.positions.get(extra[0], raw.line),
                                          f"unknown field {extra[0]!r}; a fixture holds name, object, plan, expect"))
                continue
            name = str(value.get("name") or f"{path.stem}[{i}]")
            found.append((name, str(path), raw.line, value))
    if problems:
        raise SpecErrors(problems)
    if not found:
        raise ConfigError(f"{folder}: holds no fixture (*.yaml or *.json with object and expect)")
    return found


def _expected(expect: Any, file: str, line: int) -> str | dict[str, str]:
    from reconciler.errors import SpecError

    if isinstance(expect, str) and expect in _OUTCOMES:
        return expect
    if isinstance(expect, dict) and all(isinstance(v, str) and v in _OUTCOMES for v in expect.values()):
        from reconciler.policy.overrides import canonical_rule

        return {canonical_rule(str(k)): v for k, v in expect.items()}
    raise SpecError(file, line, f"expect must be pass, warn or deny, or a mapping rule -> outcome; got {expect!r}",
                    None, "expect")


def _run_fixture(policies: list[Any], fixture: dict[str, Any]) -> dict[str, str]:
    """rule -> outcome (pass / warn / deny) of every policy matching the fixture's object, read as
    a plan's object is: null values absent, a rule that fails to evaluate failing."""
    from reconciler.expr import known_only
    from reconciler.policy.engine import NO_TRAINING_COST, ZERO_PLAN_COST, rule_result

    obj = known_only({"kind": "", "type": "", "address": "", "name": "", "action": "create", "spec": {},
                      "inputs": {}, "cost": dict(NO_TRAINING_COST), **fixture["object"]})
    raw_plan = fixture.get("plan") or {}
    plan = known_only({"counts": {}, "new_jobs": 0, "replacements": 0, "destroy": False, **raw_plan,
                       "cost": {**ZERO_PLAN_COST, **(raw_plan.get("cost") or {})}})
    results = {}
    for p in policies:
        if p.matches(str(obj.get("kind")), str(obj.get("type") or obj.get("kind"))):
            result = rule_result(p, str(obj.get("address") or ""), {"object": obj, "plan": plan})
            results[p.address] = "pass" if result.passed else p.enforcement
    return results


def _overall(results: dict[str, str]) -> str:
    values = set(results.values())
    return "deny" if "deny" in values else "warn" if "warn" in values else "pass"


@click.group("policy")
def policy() -> None:
    """Policies: run them against fixtures (`policy test`)."""


@policy.command("test", epilog="\b\nExample:\n  reconciler policy test specs/policy.yaml --fixtures policy-fixtures/")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--fixtures", "fixtures", required=True, type=click.Path(file_okay=False, path_type=Path),
              metavar="DIR", help="Folder of fixture YAML files (object, optional plan, expect).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@common_options
def test(file: Path, fixtures: Path, as_json: bool) -> int:
    """Run the Policy documents of FILE against every fixture; exit 1 when an outcome is not the
    one a fixture expects. Makes no request."""
    o = out()
    policies = _load_policies(file)
    rows: list[dict[str, Any]] = []
    for name, fixture_file, line, fixture in _fixtures(fixtures):
        expect = _expected(fixture["expect"], fixture_file, line)
        results = _run_fixture(policies, fixture)
        if isinstance(expect, str):
            got: str | dict[str, str] = _overall(results)
            ok = got == expect
        else:
            got = {rule: results.get(rule, "not matched") for rule in expect}
            ok = got == expect
        rows.append({"fixture": name, "where": f"{fixture_file}:{line}", "ok": ok, "expected": expect,
                     "got": got, "results": results})
    failed = [r for r in rows if not r["ok"]]
    if as_json:
        o.echo(json.dumps({"passed": len(rows) - len(failed), "failed": len(failed), "fixtures": rows}, indent=2))
        return EXIT_ERROR if failed else EXIT_OK
    width = max(len(str(r["fixture"])) for r in rows)
    for r in rows:
        mark = o.style("PASS", fg="green") if r["ok"] else o.style("FAIL", fg="red", bold=True)
        text = f"{mark}  {r['fixture']:<{width}}  got {_show(r['got'])}"
        if not r["ok"]:
            text += f", expected {_show(r['expected'])} ({r['where']})"
        o.echo(text)
    summary = f"{len(rows) - len(failed)} passed, {len(failed)} failed ({len(policies)} "\
              f"polic{'y' if len(policies) == 1 else 'ies'}, {len(rows)} fixtures)"
    o.echo(o.style(summary, fg="red" if failed else "green", bold=True))
    return EXIT_ERROR if failed else EXIT_OK


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "nothing matched"
    return str(value)
