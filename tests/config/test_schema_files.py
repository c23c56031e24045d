"""The packaged JSON Schemas: in sync with their source, valid 2020-12 schemas, strict everywhere,
and the editor schema (spec.schema.json) accepts every example document and rejects bad ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from reconciler.config.schema import schema_names, schema_text
from reconciler.config.schema_source import all_schemas, render

ROOT = Path(__file__).resolve().parents[2]


def test_files_match_source() -> None:
    generated = all_schemas()
    assert sorted(generated) == sorted(schema_names())
    for name, schema in generated.items():
        assert schema_text(name) == render(schema), (
            f"{name} is stale: python -m reconciler.config.schema_source"
        )


def _objects(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            yield schema
        for value in schema.values():
            yield from _objects(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _objects(value)


@pytest.mark.parametrize("name", schema_names())
def test_valid_and_strict(name: str) -> None:
    schema = json.loads(schema_text(name))
    Draft202012Validator.check_schema(schema)
    for obj in _objects(schema):
        assert obj.get("additionalProperties") is False, obj.get("description")


def _example_documents() -> Iterator[tuple[str, Any]]:
    for path in sorted([*(ROOT / "examples").rglob("*.yaml"), *(ROOT / "specs").rglob("*.yaml")]):
        if {"ci", "terraform"} & set(path.relative_to(ROOT).parts):
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield f"{path.relative_to(ROOT)}:{doc.get('name') or list(doc)[0]}", doc


EDITOR = Draft202012Validator(json.loads(schema_text("spec.schema.json")))


@pytest.mark.parametrize(
    "doc", [d for _, d in _example_documents()], ids=[i for i, _ in _example_documents()]
)
def test_editor_schema_accepts_examples(doc: Any) -> None:
    assert not list(EDITOR.iter_errors(doc))


@pytest.mark.parametrize(
    "doc",
    [
        {"kind": "FineTuningJob", "name": "j", "spec": {"model": "m", "training_file": "f", "sufix": "x"}},
        {"kind": "FineTuningJob", "name": "j", "spec": {"model": "m"}},
        {"kind": "File", "name": "bad name", "spec": {"path": "x"}},
        {"kind": "Nope", "name": "j", "spec": {}},
        {"import": {"to": "FineTuningJob.j"}},
        {
            "kind": "CheckpointPermission",
            "name": "p",
            "spec": {"fine_tuned_model_checkpoint": "x", "project_ids": []},
        },
    ],
)
def test_editor_schema_rejects(doc: Any) -> None:
    assert list(EDITOR.iter_errors(doc))
