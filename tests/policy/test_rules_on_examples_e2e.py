"""The rules the documentation shows work on every example: each rule of examples/policy/policy.yaml,
each rule written in README.md and docs/SPEC.md, over every example folder, through the real CLI on
the real sandbox — on the plan that creates the folder's objects and on the plan that removes them
(deletes and forgets read the prior spec), no rule fails to evaluate and `validate` warns on none."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from reconciler.errors import SpecError
from reconciler.expr import Where, compile_expression
from tests.e2e.conftest import chat_jsonl

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ["specs", "examples/supervised", "examples/dpo", "examples/reinforcement",
           "examples/shared-checkpoints", "examples/legacy", "examples/sweep", "examples/policy"]
_INLINE = re.compile(r"`([^`]*\bobject\.[^`]*)`")
_RULE_LINE = re.compile(r"^\s*rule:\s*(.+?)\s*$", re.MULTILINE)
_OPERATOR = re.compile(r"<|>|==|!=|has\(|startsWith| in ")


def _compiles(rule: str) -> bool:
    try:
        compile_expression(rule, ("object", "plan"), Where("doc", 1))
    except SpecError:
        return False
    return True


def documented_rules() -> list[tuple[list[str], str]]:
    """(match, rule) of every rule the documentation shows: the example's policies, every `rule:`
    line of docs/SPEC.md, and every inline rule of README.md's guardrails paragraph and of SPEC.md's
    Policies section (a span that compiles as a rule and elides nothing)."""
    rules = [(doc["spec"]["match"], doc["spec"]["rule"])
             for doc in yaml.safe_load_all((ROOT / "examples" / "policy" / "policy.yaml").read_text())]
    readme = (ROOT / "README.md").read_text()
    spec_doc = (ROOT / "docs" / "SPEC.md").read_text()
    policies = spec_doc[spec_doc.index("## Policies"):]
    policies = policies[:policies.index("\n## ", 1)]
    written = [*_INLINE.findall(readme[readme.index("Guardrails"):]), *_RULE_LINE.findall(spec_doc),
               *_INLINE.findall(policies)]
    for rule in written:
        if "…" not in rule and _OPERATOR.search(rule) and _compiles(rule) and all(r != rule for _, r in rules):
            rules.append((["FineTuningJob"], rule))
    return rules


def test_the_documented_rules_are_found():
    rules = [rule for _, rule in documented_rules()]
    assert "has(object.cost.usd) && object.cost.usd < 20.0" in rules
    assert "!has(object.cost.usd) || object.cost.usd < 20.0" in rules
    assert len(rules) >= 6


def _policies() -> str:
    docs = [{"kind": "Policy", "name": f"documented_{i}",
             "spec": {"match": match, "rule": rule, "message": f"documented rule {i}", "enforcement": "warn"}}
            for i, (match, rule) in enumerate(documented_rules())]
    return yaml.safe_dump_all(docs, sort_keys=False)


def _checked(world, phase: str) -> list[dict]:
    result = world.ok("plan", "--json", code=0)
    results = [p for p in json.loads(result.stdout).get("policies", []) if p["rule"].startswith("Policy.documented_")]
    failed = [p for p in results if "failed to evaluate" in (p.get("detail") or "")]
    assert not failed, (phase, failed)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("folder", FOLDERS)
def test_documented_rules_evaluate_on_every_example(world, folder):
    shutil.rmtree(world.specs)
    shutil.copytree(ROOT / folder, world.specs)
    world.write("documented_rules.yaml", _policies())
    validated = world.ok("validate")
    assert "documented_rules.yaml" not in validated.output, validated.output

    created = _checked(world, "create")
    assert {p["address"] for p in created}, "no change of this example was checked"
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")  # what waited for a model: grants, postconditions

    for path in world.specs.rglob("*.yaml"):
        if path.name != "documented_rules.yaml":
            path.unlink()
    # one object stays declared (a folder that declares nothing is refused as a mistaken -C)
    (world.specs / "keep.jsonl").write_text(chat_jsonl())
    world.write("keep.yaml", "kind: File\nname: keep\nspec: {path: keep.jsonl}\n")
    removed = {p["address"] for p in _checked(world, "remove")} - {"File.keep"}
    assert removed, "no removal was checked"
    assert set(world.state()["resources"]) >= removed
