"""The compiled validators (reconciler/config/compiled) are written by the build (the in-tree
backend _build/backend.py) from the schemas as they are now, are not committed, and never accept
what jsonschema rejects: they answer only "valid", every message still comes from jsonschema's
errors (tests/config and tests/golden hold those messages byte for byte)."""

from __future__ import annotations

import copy
import glob
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from reconciler.config import compiled
from reconciler.config.schema import kind_schema, validate
from reconciler.loading.schema_source import KINDS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_compiled_validator_is_fresh(kind: str) -> None:
    assert compiled.validator(kind) is not None, (
        f"reconciler/config/compiled/{compiled.module_name(kind)}.py is missing or was made from another {kind} "
        "schema: run `python -m reconciler.config.compiled` (or `pip install -e .` again)")


def test_the_build_writes_the_validators(tmp_path: Path) -> None:
    """The backend's step, run on a copy holding only what the build environment has (the schemas,
    the generator, the backend): it writes the same modules as those in use here."""
    for part in ("_build/backend.py", "reconciler/config/compiled/generate.py"):
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / part, tmp_path / part)
    shutil.copytree(ROOT / "reconciler" / "config" / "schema", tmp_path / "reconciler" / "config" / "schema")
    subprocess.run([sys.executable, "-I", "-c", "import sys; sys.path.insert(0, '.'); import backend; backend._write_validators()"],
                   cwd=tmp_path / "_build", check=True, timeout=300)
    written = sorted((tmp_path / "reconciler" / "config" / "compiled").glob("k_*.py"))
    assert [p.name for p in written] == sorted(f"{compiled.module_name(k)}.py" for k in KINDS)
    here = ROOT / "reconciler" / "config" / "compiled"
    for path in written:
        assert path.read_text() == (here / path.name).read_text(), path.name


def test_no_generated_module_is_committed() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (the CI's copy of the tree)")
    tracked = subprocess.run(["git", "ls-files", "reconciler/config/compiled"], cwd=ROOT, capture_output=True,
                             text=True, check=True, timeout=60).stdout.split()
    assert sorted(Path(p).name for p in tracked) == ["__init__.py", "__main__.py", "generate.py"]


def _documents() -> list[dict[str, Any]]:
    found = []
    for pattern in ("examples/**/*.yaml", "specs/**/*.yaml", "examples/**/*.yml", "tests/**/cases/*.yaml"):
        for name in sorted(glob.glob(str(ROOT / pattern), recursive=True)):
            try:
                docs = list(yaml.safe_load_all(Path(name).read_text()))
            except (yaml.YAMLError, UnicodeDecodeError):
                continue
            found += [d for d in docs if isinstance(d, dict) and d.get("kind") in KINDS]
    return found


def _mutations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Small mistakes: a field dropped, renamed, given another type, and an unknown one added."""
    out = []
    spec = doc.get("spec")
    if isinstance(spec, dict):
        for key in list(spec):
            for change in ("drop", "rename", "int", "str", "list", "dict", "none", "bool"):
                d = copy.deepcopy(doc)
                s = d["spec"]
                value = s.pop(key)
                if change == "rename":
                    s[key + "x"] = value
                elif change != "drop":
                    s[key] = {"int": 7, "str": "seven", "list": ["a"], "dict": {"a": 1}, "none": None,
                              "bool": True}[change]
                out.append(d)
    out.append({**copy.deepcopy(doc), "unknown_top": 1})
    out.append({**copy.deepcopy(doc), "name": "1 bad name"})
    return out


def test_the_compiled_validators_never_accept_what_jsonschema_rejects() -> None:
    documents = _documents()
    assert len(documents) >= 20  # the corpus is there
    checked = accepted = 0
    for doc in documents:
        for candidate in [doc, *_mutations(doc)]:
            kind = candidate["kind"]
            fast = compiled.validator(kind)
            assert fast is not None
            try:
                fast(copy.deepcopy(candidate))
                ok = True
            except Exception:
                ok = False
            errors = list(Draft202012Validator(kind_schema(kind)).iter_errors(candidate))
            if ok:
                accepted += 1
                assert not errors, (kind, candidate, [e.message for e in errors])
            checked += 1
    assert checked > 200 and accepted > 0


def test_a_rejected_document_gets_the_jsonschema_messages() -> None:
    doc = {"kind": "FineTuningJob", "name": "bot", "spec": {"model": "gpt-4o-mini", "training_file": "file-1",
                                                             "sufix": "x"}}
    messages = [p.message for p in validate("FineTuningJob", doc)]
    assert "unknown field 'sufix' (did you mean 'suffix'?)" in messages


def test_the_compiled_validator_does_not_change_the_document() -> None:
    doc = {"kind": "FineTuningJob", "name": "bot", "spec": {"model": "gpt-4o-mini", "training_file": "file-1"}}
    before = copy.deepcopy(doc)
    assert validate("FineTuningJob", doc) == []
    assert doc == before  # no defaults written in
