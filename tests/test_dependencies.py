"""`.ci/check_deps.py` (declared dependencies = imported ones) passes on this tree and fails on a
copy of it with one dependency undeclared, unused or imported from the wrong list: a check that
cannot fail would prove nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("deptry")

ROOT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("deps") / "repo"
    copy.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    for folder in ("reconciler", "tests", "bench", ".ci"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=SKIP)
    return copy


@pytest.fixture
def repo(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(pristine, copy)
    return copy


def check(repo: Path) -> tuple[int, str]:
    res = subprocess.run([sys.executable, str(repo / ".ci" / "check_deps.py"), str(repo)],
                         capture_output=True, text=True, check=False, timeout=120)
    return res.returncode, res.stdout + res.stderr


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_this_tree_passes(repo: Path) -> None:
    rc, out = check(repo)
    assert rc == 0, out


def test_undeclared_transitive_import_fails(repo: Path) -> None:
    # lark arrives with python-hcl2; convert/hcl.py imports it, so it must be declared itself.
    edit(repo / "pyproject.toml", '    "lark>=1.1.5,<2",', "")
    rc, out = check(repo)
    assert rc == 1 and re.search(r"DEP003 'lark' imported but it is a transitive dependency", out), out


def test_declared_but_unused_fails(repo: Path) -> None:
    edit(repo / "pyproject.toml", '    "click>=8.1",', '    "click>=8.1",\n    "deepdiff>=7.0",')
    rc, out = check(repo)
    assert rc == 1 and "DEP002 'deepdiff' defined as a dependency but not used" in out, out


def test_undeclared_import_in_tests_fails(repo: Path) -> None:
    (repo / "tests" / "test_zz_undeclared.py").write_text("import surely_not_a_declared_package\n")
    rc, out = check(repo)
    assert rc == 1 and "DEP001 'surely_not_a_declared_package' imported but missing" in out, out


def test_test_only_package_in_the_package_fails(repo: Path) -> None:
    # reconciler/ may import only [project.dependencies]: a user's install has no extras.
    (repo / "reconciler" / "zz_uses_pytest.py").write_text("import pytest\n")
    rc, out = check(repo)
    assert rc == 1 and "DEP004 'pytest' imported but declared as a dev dependency" in out, out


def test_main_dependency_only_tests_use_fails(repo: Path) -> None:
    # Declared as a main dependency but imported only by tests: the package itself does not need it.
    edit(repo / "pyproject.toml", '    "junitparser>=3.1",', "")
    edit(repo / "pyproject.toml", '    "click>=8.1",', '    "click>=8.1",\n    "junitparser>=3.1",')
    rc, out = check(repo)
    assert rc == 1 and "DEP002 'junitparser' defined as a dependency but not used" in out, out
