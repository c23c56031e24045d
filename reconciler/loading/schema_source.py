"""Assembly of the JSON Schemas under reconciler/config/schema/ (one file per kind +
spec.schema.json) from each kind's `spec_schema()` (reconciler/kinds/<kind>/schema.py), the shared
pieces (reconciler/config/schema_parts.py) and the Settings, Policy and Provider documents.

The JSON files are what the loader and editors use; this module is how they are written.
Regenerate after a change with `python -m reconciler.loading.schema_source` (a test checks that the
files on disk match).
"""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.config.policies import POLICY_KIND, policy_document_schema
from reconciler.config.providers import PROVIDER_KIND, provider_choice_schema, provider_document_schema
from reconciler.config.schema_parts import ADDRESS_PATTERN, NAME_PATTERN, REF, Schema, grader_defs, obj
from reconciler.expr.conditions import condition_list_schema
from reconciler.kinds import registry
from reconciler.kinds.evaluation.schema import EVALUATION_KIND, evaluation_document_schema
from reconciler.loading.settings import settings_document_schema

SCHEMA_DIR = Path(__file__).parent.parent / "config" / "schema"


DIALECT = "https://json-schema.org/draft/2020-12/schema"


ID_BASE = "https://reconciler.dev/schema/"


# The kinds, in the order the schema and messages list them: the registry's (reconciler/kinds).
RESOURCE_KINDS = tuple(k.name for k in registry.all_kinds() if not k.data)


DATA_KINDS = tuple(k.name for k in registry.all_kinds() if k.data)


KINDS = RESOURCE_KINDS + DATA_KINDS


def common_defs() -> dict[str, Schema]:
    return {
        "Lifecycle": obj(
            {
                "prevent_destroy": {
                    "type": "boolean",
                    "default": False,
                    "description": "Refuse any plan that would destroy or replace this object.",
                },
                "ignore_changes": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"type": "string", "minLength": 1},
                    "description": "Attribute paths under spec whose changes are ignored, e.g. suffix, metadata.team.",
                },
                "create_before_destroy": {
                    "type": "boolean",
                    "default": False,
                    "description": "On replace, create the new object before removing the old one.",
                },
                "delete_model_on_destroy": {
                    "type": "boolean",
                    "default": False,
                    "description": "FineTuningJob only: destroying or replacing the job also deletes its "
                                   "fine-tuned model (DELETE /v1/models/{model}), which then stops serving.",
                },
                "precondition": condition_list_schema("precondition"),
                "postcondition": condition_list_schema("postcondition"),
            },
            description="Terraform-style lifecycle rules.",
        ),
        "DependsOn": {
            "type": "array",
            "uniqueItems": True,
            "items": {"type": "string", "pattern": ADDRESS_PATTERN},
            "description": "Extra dependencies (addresses Kind.name, or Kind.name[\"key\"] for one instance) "
                           "beyond those implied by references.",
        },
    }


def document_schema(kind: str) -> Schema:
    return obj(
        {
            "kind": {"const": kind},
            "name": {
                "type": "string",
                "pattern": NAME_PATTERN,
                "description": f"Address {kind}.NAME; letters, digits, _ and -, up to 64 characters.",
            },
            "spec": {"$ref": f"#/$defs/{spec_def_name(kind)}"},
            "lifecycle": {"$ref": "#/$defs/Lifecycle"},
            "depends_on": {"$ref": "#/$defs/DependsOn"},
            "provider": provider_choice_schema(),
            **instance_fields(),
        },
        ("kind", "name", "spec"),
        f"A {kind} document.",
    )


def instance_fields() -> Schema:
    """for_each / matrix: one document, several instances Kind.name["key"] (config/instances.py)."""
    scalar = {"type": ["string", "number"]}
    return {
        "for_each": {
            "description": "One instance per item (a list: the item is the key) or per key (a map); "
            'addresses Kind.name["key"]; ${each.key} and ${each.value} in the spec.',
            "anyOf": [{"type": "array", "items": scalar}, {"type": "object"}, REF],
        },
        "matrix": {
            "description": "One instance per combination of the lists (cartesian product), keyed "
            "like lr=0.1,epochs=3; ${each.value.NAME} in the spec.",
            "anyOf": [
                {"type": "object", "minProperties": 1,
                 "additionalProperties": {"anyOf": [{"type": "array", "minItems": 1, "items": scalar}, REF]}},
                REF,
            ],
        },
    }


def schema_names() -> list[str]:
    """The packaged schema files, in the order the kinds are listed."""
    return [f"{k}.schema.json" for k in KINDS] + ["spec.schema.json"]


def spec_def_name(kind: str) -> str:
    return kind.replace("data.", "Data") + "Spec"


def kind_schema(kind: str) -> Schema:
    defs = common_defs()
    defs[spec_def_name(kind)] = registry.get(kind).spec_schema()
    if registry.get(kind).uses_graders:
        defs.update(grader_defs())
    return {
        "$schema": DIALECT,
        "$id": f"{ID_BASE}{kind}.schema.json",
        "title": kind,
        **document_schema(kind),
        "$defs": defs,
    }


def import_schema() -> Schema:
    return obj(
        {
            "import": obj(
                {
                    "to": {"type": "string", "pattern": ADDRESS_PATTERN},
                    "id": {"type": "string", "minLength": 1},
                },
                ("to", "id"),
                "Adopt an existing object (job id, file id, checkpoint) at this address.",
            )
        },
        ("import",),
    )


def moved_schema() -> Schema:
    return obj(
        {
            "moved": obj(
                {
                    "from": {"type": "string", "pattern": ADDRESS_PATTERN},
                    "to": {"type": "string", "pattern": ADDRESS_PATTERN},
                },
                ("from", "to"),
                "Rename: the object known as `from` in the state is now `to`.",
            )
        },
        ("moved",),
    )


def spec_schema() -> Schema:
    defs = common_defs()
    defs.update(grader_defs())
    branches = []
    for kind in KINDS:
        defs[spec_def_name(kind)] = registry.get(kind).spec_schema()
        doc_def = kind.replace("data.", "Data") + "Document"
        defs[doc_def] = document_schema(kind)
        branches.append(
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"$ref": f"#/$defs/{doc_def}"},
            }
        )
    defs["SettingsDocument"] = settings_document_schema()
    branches.append({"if": {"properties": {"kind": {"const": "Settings"}}, "required": ["kind"]},
                     "then": {"$ref": "#/$defs/SettingsDocument"}})
    defs["PolicyDocument"] = policy_document_schema()
    branches.append({"if": {"properties": {"kind": {"const": POLICY_KIND}}, "required": ["kind"]},
                     "then": {"$ref": "#/$defs/PolicyDocument"}})
    defs["EvaluationDocument"] = evaluation_document_schema()
    branches.append({"if": {"properties": {"kind": {"const": EVALUATION_KIND}}, "required": ["kind"]},
                     "then": {"$ref": "#/$defs/EvaluationDocument"}})
    defs["ProviderDocument"] = provider_document_schema()
    branches.append({"if": {"properties": {"kind": {"const": PROVIDER_KIND}}, "required": ["kind"]},
                     "then": {"$ref": "#/$defs/ProviderDocument"}})
    defs["ImportBlock"] = import_schema()
    defs["MovedBlock"] = moved_schema()
    return {
        "$schema": DIALECT,
        "$id": f"{ID_BASE}spec.schema.json",
        "title": "reconciler spec document",
        "description": "One YAML document of a reconciler spec: a kind document, the Settings document, an import block or a moved block.",
        "type": "object",
        "anyOf": [
            {"required": ["kind"], "properties": {"kind": {"enum": [*KINDS, "Settings", POLICY_KIND, PROVIDER_KIND, EVALUATION_KIND]}}, "allOf": branches},
            {"$ref": "#/$defs/ImportBlock"},
            {"$ref": "#/$defs/MovedBlock"},
        ],
        "$defs": defs,
    }


def all_schemas() -> dict[str, Schema]:
    out = {f"{kind}.schema.json": kind_schema(kind) for kind in KINDS}
    out["spec.schema.json"] = spec_schema()
    return out


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    write_all()
