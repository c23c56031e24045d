"""The JSON Schema of File's `spec` (shared pieces: reconciler/config/schema_parts.py)."""

from __future__ import annotations

from reconciler.config.schema_parts import (
    Schema,
    obj,
    s,
)


def file_spec() -> Schema:
    return obj(
        {
            "path": s("Local JSONL file, relative to the folder of this spec file.", minLength=1),
            "purpose": {
                "type": "string",
                "enum": ["fine-tune"],
                "default": "fine-tune",
                "description": "Upload purpose; only fine-tune.",
            },
            "allow_outside_spec_dir": {
                "type": "boolean",
                "default": False,
                "description": "Allow a path that resolves outside the spec folder.",
            },
        },
        ("path",),
        "A training or validation file uploaded with purpose fine-tune (openai_file).",
    )
