"""The JSON Schemas of the data sources' `spec` (data.FineTuningJob, data.FineTuningJobs,
data.FineTuningJobCheckpoints, data.CheckpointPermissions); shared pieces: config/schema_parts.py."""

from __future__ import annotations

from reconciler.config.schema_parts import (
    Schema,
    obj,
    ref_or,
    s,
)


def metadata_filter() -> Schema:
    return {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "propertyNames": {"maxLength": 64},
        "description": "Metadata filter: every pair must match.",
    }


def max_items() -> Schema:
    return {
        "type": "integer",
        "minimum": 1,
        "default": 1000,
        "description": "Max items to fetch, default: 1000",
    }


METRICS = [
    "train_loss",
    "valid_loss",
    "full_valid_loss",
    "train_mean_token_accuracy",
    "valid_mean_token_accuracy",
    "full_valid_mean_token_accuracy",
]


def data_job_spec() -> Schema:
    return obj(
        {
            "id": s("The fine-tuning job id (ftjob-...).", minLength=1),
            "fine_tuning_job_id": s("Alias of id.", minLength=1),
            "metadata": metadata_filter(),
        },
        description="Reads one fine-tuning job: by id, or the single job whose metadata matches.",
    )


def data_jobs_spec() -> Schema:
    return obj(
        {"metadata": metadata_filter(), "max_items": max_items()},
        description="Lists fine-tuning jobs, optionally filtered by metadata.",
    )


def data_checkpoints_spec() -> Schema:
    metric = {"type": "string", "enum": METRICS}
    select = {
        "description": "Which checkpoint the top-level attributes (id, fine_tuned_model_checkpoint, ...) describe.",
        "anyOf": [
            obj({"lowest": metric}, ("lowest",)),
            obj({"highest": metric}, ("highest",)),
            obj({"step": {"type": "integer", "minimum": 1}}, ("step",)),
            obj({"latest": {"const": True}}, ("latest",)),
        ],
        "x-expected": "one of {lowest: METRIC}, {highest: METRIC}, {step: N}, {latest: true}",
    }
    return obj(
        {
            "fine_tuning_job_id": s(
                "The fine-tuning job whose checkpoints to read; often ${FineTuningJob.x.id}.", minLength=1
            ),
            "fine_tuning_job_ids": ref_or(
                {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "description": "Several jobs (a sweep: ${FineTuningJob.sweep[*].id}): select picks "
                    "across the checkpoints of those that succeeded, once all have ended.",
                },
                "a list of job ids",
            ),
            "max_items": max_items(),
            "select": select,
        },
        (),
        "Lists the checkpoints of one fine-tuning job, or of several, and picks one.",
    )


def data_permissions_spec() -> Schema:
    return obj(
        {
            "fine_tuned_model_checkpoint": s(
                "The fine-tuned model checkpoint whose permissions to read.", minLength=1
            ),
            "project_id": s("Only permissions for this project."),
            "order": {
                "type": "string",
                "enum": ["ascending", "descending"],
                "description": "The order in which to retrieve permissions.",
            },
            "max_items": max_items(),
        },
        ("fine_tuned_model_checkpoint",),
        "Lists the permissions of a fine-tuned model checkpoint.",
    )
