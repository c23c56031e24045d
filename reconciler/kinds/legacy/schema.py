"""The JSON Schema of LegacyFineTune's `spec` (shared pieces: reconciler/config/schema_parts.py)."""

from __future__ import annotations

from reconciler.config.schema_parts import (
    Schema,
    auto_or_int,
    auto_or_number,
    file_id,
    obj,
    s,
)


def legacy_spec() -> Schema:
    num = "Legacy: mapped onto method.supervised.hyperparameters."
    retired = "Retired with the legacy fine-tunes API; an error explains the replacement."
    return obj(
        {
            "model": s(
                "Base model (legacy ada/babbage/curie/davinci are retired: use babbage-002 or davinci-002).",
                minLength=1,
            ),
            "training_file": file_id("Training File Identifier."),
            "validation_file": file_id("Validation File Identifier."),
            "n_epochs": auto_or_int(num, 1, 50),
            "batch_size": auto_or_int(num, 1, 256),
            "learning_rate_multiplier": auto_or_number(num),
            "suffix": {
                "description": "Suffix: a string or a list with exactly one string (up to 64 characters).",
                "anyOf": [
                    {"type": "string", "minLength": 1, "maxLength": 64},
                    {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 1,
                        "items": {"type": "string", "minLength": 1, "maxLength": 64},
                    },
                ],
                "x-expected": "a string or a list with one string",
            },
            "prompt_loss_weight": {"description": retired},
            "classification_n_classes": {"description": retired},
            "classification_positive_class": {"description": retired},
            "classification_betas": {"description": retired},
            "compute_classification_metrics": {"description": retired},
            "fine_tune": {"description": "Read-only in the legacy provider; not accepted."},
        },
        ("model", "training_file"),
        "Legacy openai_finetune, mapped onto a FineTuningJob (deprecated).",
    )
