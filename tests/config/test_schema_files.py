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
from jsonschema.exceptions import best_match

from reconciler.config.schema import schema_text
from reconciler.loading.schema_source import all_schemas, render, schema_names

ROOT = Path(__file__).resolve().parents[2]


def test_files_match_source() -> None:
    generated = all_schemas()
    assert sorted(generated) == sorted(schema_names())
    for name, schema in generated.items():
        assert schema_text(name) == render(schema), (
            f"{name} is stale: python -m reconciler.loading.schema_source"
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
    objects = list(_objects(schema))
    assert objects, f"{name}: no object with properties found, so nothing was checked"
    for obj in objects:
        assert obj.get("additionalProperties") is False, obj.get("description")


def _example_documents() -> Iterator[tuple[str, Any]]:
    for path in sorted([*(ROOT / "examples").rglob("*.yaml"), *(ROOT / "specs").rglob("*.yaml")]):
        if {"ci", "terraform"} & set(path.relative_to(ROOT).parts):
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield f"{path.relative_to(ROOT)}:{doc.get('name') or next(iter(doc))}", doc


EDITOR = Draft202012Validator(json.loads(schema_text("spec.schema.json")))


@pytest.mark.parametrize(
    "doc", [d for _, d in _example_documents()], ids=[i for i, _ in _example_documents()]
)
def test_editor_schema_accepts_examples(doc: Any) -> None:
    assert not list(EDITOR.iter_errors(doc))


def test_there_are_example_documents_to_accept() -> None:
    # the parametrized test above checks nothing if the glob finds nothing
    ids = [i for i, _ in _example_documents()]
    assert len(ids) >= 20 and any(i.startswith("specs/") for i in ids), ids


@pytest.mark.parametrize(
    "doc, why",
    [
        (
            {"kind": "FineTuningJob", "name": "j", "spec": {"model": "m", "training_file": "f", "sufix": "x"}},
            "'sufix' was unexpected",
        ),
        ({"kind": "FineTuningJob", "name": "j", "spec": {"model": "m"}}, "'training_file' is a required property"),
        ({"kind": "File", "name": "bad name", "spec": {"path": "x"}}, "'bad name' does not match"),
        ({"kind": "Nope", "name": "j", "spec": {}}, "'Nope' is not one of"),
        ({"import": {"to": "FineTuningJob.j"}}, "'id' is a required property"),
        (
            {
                "kind": "CheckpointPermission",
                "name": "p",
                "spec": {"fine_tuned_model_checkpoint": "x", "project_ids": []},
            },
            "[] should be non-empty",
        ),
    ],
)
def test_editor_schema_rejects(doc: Any, why: str) -> None:
    # rejected, and for the broken field (not because the rest of the document is off)
    assert list(EDITOR.iter_errors(doc))
    assert why in best_match(EDITOR.iter_errors(doc)).message
