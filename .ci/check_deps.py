"""Declared dependencies = imported ones, with deptry (configured in pyproject.toml).

    python .ci/check_deps.py [ROOT]      # ROOT: a checkout (default: this one); exit 1 on any issue

Two passes, because the package and its tests answer to different lists:

1. The whole repository (reconciler/, tests/, bench/) against every declared package, main and
   extras alike ([tool.deptry]): an import that is not declared (DEP001) or only arrives with
   another package (DEP003), or a declared package nothing imports (DEP002; the tools that are run
   rather than imported are listed in per_rule_ignores).
2. reconciler/ alone, with the `test` and `dev` extras as development dependencies: every main
   dependency must be imported by the package itself (DEP002), and the package must not import
   what only the extras bring (DEP004) — a user's `pip install reconciler` has no extras.

Import names are mapped to distributions through the installed metadata, so run it in the
environment that installed `.[test,dev]` (CI's fresh virtualenv). tests/test_dependencies.py
shows each pass failing on a copy of the repository with one dependency undeclared or unused.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def passes() -> list[tuple[str, list[str]]]:
    # Run from ROOT on ".": the exclude patterns are matched against paths relative to it.
    base = [sys.executable, "-m", "deptry", ".", "--config", "pyproject.toml", "--no-ansi"]
    return [
        ("the repository against every declared package", base),
        ("reconciler/ against the main dependencies (test and dev extras: development only)",
         [*base, "--extend-exclude", "tests", "--extend-exclude", "bench", "--extend-exclude", r"\.ci",
          "--optional-dependencies-dev-groups", "test,dev"]),
    ]


def main(argv: list[str]) -> int:
    root = Path(argv[0]).resolve() if argv else Path(__file__).resolve().parent.parent
    failed = False
    for what, cmd in passes():
        print(f"check_deps: {what}", flush=True)
        if subprocess.run(cmd, cwd=root, check=False).returncode != 0:
            failed = True
    if failed:
        print("check_deps: declared dependencies differ from the imported ones (see above); declare the "
              "package in pyproject.toml ([project.dependencies] for reconciler/, the test or dev extra "
              "for tests/ and bench/) or remove what nothing imports", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
