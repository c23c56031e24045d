"""A kind is one folder: nothing in reconciler/ outside kinds/ spells a kind's name (it asks the
registry's sets made from the kinds' attributes: JOB_KINDS, COSTED_KINDS, ...), and the error for
an unknown kind lists every kind a document may have."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reconciler.kinds import registry
from reconciler.loading import collect_specs

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reconciler"
SPELLINGS = frozenset(s for k in registry.all_kinds() for s in (k.name, k.type))


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def kind_names_outside_kinds(package: Path) -> list[str]:
    """file:line of every string literal that is a kind's name, and of every import of a kind
    module's `KIND`, in `package` outside its kinds/ folder (generated validators left out)."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.is_relative_to(package / "kinds") or path.is_relative_to(package / "config" / "compiled"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            where = f"{path.relative_to(package.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Constant) and node.value in SPELLINGS and id(node) not in docs:
                found.append(f"{where}: {node.value!r}")
            if (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("reconciler.kinds.")
                    and any(alias.name == "KIND" for alias in node.names)):
                found.append(f"{where}: imports KIND from {node.module}")
    return found


def test_nothing_outside_kinds_names_a_kind() -> None:
    assert kind_names_outside_kinds(PACKAGE) == []


def test_the_scan_finds_a_planted_name(tmp_path: Path) -> None:
    (tmp_path / "kinds").mkdir()
    (tmp_path / "kinds" / "mine.py").write_text('NAME = "FineTuningJob"\n')  # a kind's own folder
    (tmp_path / "cost.py").write_text('"""Jobs: "FineTuningJob"."""\n\nJOBS = {"FineTuningJob"}\n')
    (tmp_path / "report.py").write_text("from reconciler.kinds.job.inputs import KIND\n")
    found = kind_names_outside_kinds(tmp_path)
    assert [f.split(":")[0] for f in found] == [f"{tmp_path.name}/cost.py", f"{tmp_path.name}/report.py"]


@pytest.mark.parametrize(("flag", "expected"), [
    (registry.JOB_KINDS, {"FineTuningJob", "LegacyFineTune"}),
    (registry.COSTED_KINDS, {"FineTuningJob", "LegacyFineTune"}),
    (registry.MODEL_KINDS, {"FineTuningJob", "LegacyFineTune"}),
    (registry.GRANT_KINDS, {"CheckpointPermission"}),
    (registry.LOCAL_FILE_KINDS, {"File"}),
    (registry.CHECKPOINT_PICKERS, {"data.FineTuningJobCheckpoints"}),
])
def test_what_the_kinds_say_of_themselves(flag: frozenset[str], expected: set[str]) -> None:
    assert flag == expected


def test_an_unknown_kind_lists_every_kind(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("kind: Nope\nname: x\nspec: {}\n")
    errors = collect_specs(tmp_path, {}).errors
    assert len(errors) == 1
    message = str(errors[0])
    listed = message.split("kinds are ", 1)[1].split(", ")
    assert listed == [k.name for k in registry.all_kinds() if not k.data] + \
        [k.name for k in registry.all_kinds() if k.data] + ["Settings", "Policy", "Provider", "Evaluation"]
