"""The JSON Schema of FineTuningJob's `spec` (shared pieces: reconciler/config/schema_parts.py)."""

from __future__ import annotations

from reconciler.config.schema_parts import (
    DURATION_PATTERN,
    MAX_METADATA,
    REF,
    Schema,
    dpo_hp,
    file_id,
    metadata_schema,
    obj,
    ref_or,
    reinforcement_hp,
    s,
    supervised_hp,
)


def fine_tuning_job_spec() -> Schema:
    wandb = obj(
        {
            "project": s("The name of the project that the new run will be created under.", minLength=1),
            "name": s("A display name to set for the run. If not set, the job id is used."),
            "entity": s("The entity (team or username) to use for the run."),
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Tags attached to the run, passed through to WandB.",
            },
        },
        ("project",),
        "The settings for your integration with Weights and Biases.",
    )
    integration = obj(
        {
            "type": {
                "type": "string",
                "enum": ["wandb"],
                "description": "The type of integration to enable. Only wandb (Weights and Biases) is supported.",
            },
            "wandb": wandb,
        },
        ("type", "wandb"),
    )
    method = obj(
        {
            "type": {
                "type": "string",
                "enum": ["supervised", "dpo", "reinforcement"],
                "description": "The type of method. Is either supervised, dpo, or reinforcement.",
            },
            "supervised": obj(
                {"hyperparameters": supervised_hp()},
                description="Configuration for the supervised fine-tuning method.",
            ),
            "dpo": obj(
                {"hyperparameters": dpo_hp()}, description="Configuration for the DPO fine-tuning method."
            ),
            "reinforcement": obj(
                {"grader": {"$ref": "#/$defs/Grader"}, "hyperparameters": reinforcement_hp()},
                ("grader",),
                "Configuration for the reinforcement fine-tuning method.",
            ),
        },
        ("type",),
        "The method used for fine-tuning.",
    )
    return obj(
        {
            "model": s(
                "The name of the model to fine-tune (e.g. gpt-4o-mini-2024-07-18), or a reference to a "
                "fine-tuned model.",
                minLength=1,
            ),
            "training_file": file_id(
                "The ID of an uploaded file that contains training data (JSONL, purpose fine-tune)."
            ),
            "validation_file": file_id("The ID of an uploaded file that contains validation data."),
            "seed": ref_or(
                {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 2147483647,
                    "description": "The seed controls the reproducibility of the job.",
                },
                "an integer from 0 to 2147483647",
            ),
            "suffix": s(
                "A string of up to 64 characters that will be added to your fine-tuned model name.",
                minLength=1,
                maxLength=64,
            ),
            "metadata": metadata_schema(
                f"Up to {MAX_METADATA} key-value pairs (the API allows 16; reconciler keeps 4 to track jobs and whose workspace and folder they are). Keys are "
                "strings of at most 64 characters, values strings of at most 512 characters."
            ),
            "integrations": {
                "type": "array",
                "maxItems": 5,
                "items": integration,
                "description": "A list of integrations to enable for your fine-tuning job.",
            },
            "hyperparameters": {
                **supervised_hp(),
                "deprecated": True,
                "description": "Deprecated: use method.supervised.hyperparameters.",
            },
            "method": method,
            "cancel_after_timeout": {
                "description": "Cancel the job when it has run longer than this: seconds, or a duration such as 2h, 90m, 3600s.",
                "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": DURATION_PATTERN}, REF],
                "x-expected": 'a number of seconds or a duration like "2h", "90m", "3600s"',
            },
            "status": {
                "type": "string",
                "enum": ["running", "paused"],
                "default": "running",
                "description": "running (default) or paused: drives pause / resume of an active job.",
            },
        },
        ("model", "training_file"),
        "A fine-tuning job (openai_fine_tuning_job).",
    )
