"""The import contracts of pyproject.toml ([tool.importlinter]) hold on this tree, and the real
`lint-imports` fails on a copy of it with one bad import planted (at the top of a module, inside a
function, or the product reaching into the sandbox): a check that cannot fail would prove nothing.
And no module of the core imports another inside a function except for start-up speed, said so with
`# lazy: start-up`."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.json", "*.md")
LINT = Path(sys.executable).with_name("lint-imports")
LAZY = "# lazy: start-up"


def lint(repo: Path) -> tuple[int, str]:
    """`lint-imports` run in `repo`, importing the packages from there (not the installed tree)."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    res = subprocess.run([str(LINT), "--no-cache"], cwd=repo, env=env, capture_output=True, text=True,
                         check=False, timeout=600)
    return res.returncode, res.stdout + res.stderr


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("layers") / "repo"
    copy.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    for package in ("reconciler", "reconciler_sandbox"):
        shutil.copytree(ROOT / package, copy / package, ignore=SKIP)
    return copy


@pytest.fixture
def repo(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(pristine, copy)
    return copy


def plant(repo: Path, module: str, line: str) -> None:
    path = repo / module
    path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")


def test_contracts_hold_on_this_tree(pristine: Path) -> None:
    code, out = lint(pristine)
    assert code == 0, out
    assert "0 broken" in out


@pytest.mark.parametrize(("module", "line", "contract"), [
    # a kind calling up into the planner, at import time
    ("reconciler/kinds/base.py", "from reconciler.planner import build  # noqa", "One-way layers"),
    # the spec language asking the registry, inside a function (import-linter sees those too)
    ("reconciler/config/documents.py",
     "def _planted() -> None:\n    from reconciler.kinds import registry  # noqa", "One-way layers"),
    # the executor importing a renderer
    ("reconciler/apply/policy.py", "from reconciler.render import text  # noqa", "One-way layers"),
    # the planner taking the registry instead of the table of kinds it is given
    ("reconciler/planner/listing.py", "from reconciler.kinds import registry  # noqa", "never the registry module"),
    # the product reaching into the test double
    ("reconciler/planner/refresh.py", "import reconciler_sandbox.world  # noqa", "never imports the sandbox"),
    # the sandbox taking the product's estimator instead of stating the platform's rule
    ("reconciler_sandbox/lifecycle.py", "from reconciler.cost import epochs  # noqa", "sandbox imports from reconciler only"),
])
def test_a_planted_import_breaks_its_contract(repo: Path, module: str, line: str, contract: str) -> None:
    plant(repo, module, line)
    code, out = lint(repo)
    assert code != 0, out
    broken = out[out.index("Broken contracts"):] if "Broken contracts" in out else out
    assert contract in " ".join(broken.split()), out


def _function_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a reconciler module inside a function of `path` that does
    not carry the start-up comment (on its line or the one above)."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom):
                names = [("." * inner.level) + (inner.module or "")]
            elif isinstance(inner, ast.Import):
                names = [alias.name for alias in inner.names]
            else:
                continue
            if not any(n.startswith((".", "reconciler")) for n in names):
                continue
            near = lines[inner.lineno - 1:inner.end_lineno] + lines[max(0, inner.lineno - 2):inner.lineno - 1]
            if not any(LAZY in text for text in near):
                found.append((inner.lineno, names[0]))
    return sorted(set(found))


def test_imports_inside_functions_are_for_start_up_only() -> None:
    """The CLI is left out: each command imports the core in its body by design (cli/__init__.py,
    a lazy group), and nothing imports the CLI."""
    offenders = []
    for package in ("reconciler", "reconciler_sandbox"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.is_relative_to(ROOT / "reconciler" / "cli"):
                continue
            offenders += [f"{path.relative_to(ROOT)}:{line}: {module}" for line, module in _function_imports(path)]
    assert not offenders, "imports inside functions without `# lazy: start-up`:\n" + "\n".join(offenders)
