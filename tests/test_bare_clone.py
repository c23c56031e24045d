"""A fresh clone has nothing beside it: no test, benchmark or CI file may read outside the
repository (the team's notes live in a sibling folder on developers' machines, never on users').
`.ci/run` also runs the suite from a copy of the clone in an empty temporary folder, which proves
the same thing by running it; this test names the offending line before that."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# `../shared`, `parent / "shared"`, `parents[3]` (one above the repository from tests/x/y.py)...
OUTSIDE = re.compile(r"""\.\./shared|/\s*["']shared["']|parents\[\s*3\s*\]|\.parent\.parent\.parent""")


def _files() -> list[Path]:
    found = [p for folder in ("tests", "bench", ".ci") for p in (ROOT / folder).rglob("*")
             if p.is_file() and p.suffix in {".py", ".sh", ".yaml", ".yml", ".toml", ""}
             and "__pycache__" not in p.parts]
    return [p for p in found if p != Path(__file__).resolve()]


def test_nothing_reads_outside_the_repository() -> None:
    offending = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offending.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offending, "reads outside the clone:\n" + "\n".join(offending)


def test_the_guard_catches_the_old_spelling() -> None:
    assert OUTSIDE.search('SHARED = Path(__file__).resolve().parents[3] / "shared" / "openapi"')
    assert OUTSIDE.search('SHARED = ROOT.parent / "shared"')
    assert OUTSIDE.search("see ../shared/openapi/README.md")
    assert not OUTSIDE.search('CONTRACT = ROOT / "tests" / "contract"')


def test_the_contract_copy_is_complete() -> None:
    import yaml

    from tests.conftest import ERRORS_OPENAPI, OPENAPI

    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    assert "/fine_tuning/jobs" in spec["paths"]
    assert "/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions" in spec["paths"]
    assert "ErrorResponse" in yaml.safe_load(ERRORS_OPENAPI.read_text(encoding="utf-8"))["components"]["schemas"]
    assert (ROOT / "tests" / "contract" / "README.md").is_file()
