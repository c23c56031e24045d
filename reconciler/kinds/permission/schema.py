"""The JSON Schema of CheckpointPermission's `spec` (shared pieces: reconciler/config/schema_parts.py)."""

from __future__ import annotations

from reconciler.config.schema_parts import (
    Schema,
    obj,
    ref_or,
    s,
)


def permission_spec() -> Schema:
    return obj(
        {
            "fine_tuned_model_checkpoint": s(
                "The fine-tuned model or checkpoint to share, e.g. ${FineTuningJob.x.fine_tuned_model}.",
                minLength=1,
            ),
            "project_ids": ref_or(
                {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string", "minLength": 1},
                    "description": "The project identifiers to grant access to.",
                },
                "a non-empty list of project ids",
            ),
            "exclusive": {
                "type": "boolean",
                "default": False,
                "description": "true: the listed projects are all that may use the checkpoint (others are "
                "revoked); false: only ensure these are granted.",
            },
        },
        ("fine_tuned_model_checkpoint", "project_ids"),
        "Who may use a fine-tuned model checkpoint.",
    )
