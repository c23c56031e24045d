"""The compiled validators (reconciler/config/compiled) are made from the schemas as they are now,
and never accept what jsonschema rejects: they answer only "valid", every message still comes from
jsonschema's errors (tests/config and tests/golden hold those messages byte for byte)."""

from __future__ import annotations

import copy
import glob
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
        f"reconciler/config/compiled/{compiled.module_name(kind)}.py was made from another {kind} schema: "
        "run `python -m reconciler.config.compiled`")


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
