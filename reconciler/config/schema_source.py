"""Source of the JSON Schemas under reconciler/config/schema/ (one file per kind + spec.schema.json).

The JSON files are what the loader and editors use; this module is how they are written.
Regenerate after a change with `python -m reconciler.config.schema_source` (a test checks that the
files on disk match). Field descriptions come from the seeds (provider docs and API reference).

Conventions: `additionalProperties: false` everywhere; a field that may hold a document reference
`${Kind.name.attr}` accepts a string matching REF_PATTERN in place of its typed value; `x-expected`
is a short phrase the loader uses in "expected ..., got ..." messages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.addresses import KEY_CHARS, KEY_MAX
from reconciler.config.providers import PROVIDER_KIND, provider_choice_schema, provider_document_schema
from reconciler.config.settings import settings_document_schema
from reconciler.expr.conditions import condition_list_schema
from reconciler.kinds import registry
from reconciler.kinds.evaluation.schema import EVALUATION_KIND, evaluation_document_schema
from reconciler.policy.document import POLICY_KIND, policy_document_schema

SCHEMA_DIR = Path(__file__).with_name("schema")
DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://reconciler.dev/schema/"
REF_PATTERN = r"^\$\{[^{}]+\}$"
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
# Kind.name, data.Kind.name, or one instance of a for_each / matrix document: Kind.name["key"]
# (reconciler/addresses.py holds the key's rules).
# "$" is escaped in the key's class: fastjsonschema turns every bare "$" of a pattern into \Z.
ADDRESS_PATTERN = (r"^(data\.)?[A-Za-z][A-Za-z0-9]*\.[A-Za-z_][A-Za-z0-9_-]{0,63}"
                   rf'(\["{KEY_CHARS.replace("$", chr(92) + "$")}{{1,{KEY_MAX}}}"\])?$')
DURATION_PATTERN = r"^(?=\d)(\d+h)?(\d+m)?(\d+s)?$"
MAX_METADATA = 12  # 16 allowed by the API, minus reconciler_address, _digest, _lineage and _workspace

# The kinds, in the order the schema and messages list them: the registry's (reconciler/kinds).
RESOURCE_KINDS = tuple(k.name for k in registry.all_kinds() if not k.data)
DATA_KINDS = tuple(k.name for k in registry.all_kinds() if k.data)
KINDS = RESOURCE_KINDS + DATA_KINDS

REF: dict[str, Any] = {
    "type": "string",
    "pattern": REF_PATTERN,
    "description": "A reference ${Kind.name.attribute} resolved at plan time.",
}
Schema = dict[str, Any]


def obj(
    properties: dict[str, Schema], required: tuple[str, ...] = (), description: str = "", **extra: Any
) -> Schema:
    schema: Schema = {"type": "object"}
    if description:
        schema["description"] = description
    schema["properties"] = properties
    if required:
        schema["required"] = list(required)
    schema["additionalProperties"] = False
    schema.update(extra)
    return schema


def s(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def ref_or(schema: Schema, expected: str) -> Schema:
    """The typed value, or a reference string in its place."""
    description = schema.pop("description", "")
    out: Schema = {"anyOf": [schema, REF], "x-expected": expected}
    if description:
        out = {"description": description, **out}
    return out


def auto_or_int(description: str, minimum: int = 1, maximum: int | None = None) -> Schema:
    number: Schema = {"type": "integer", "minimum": minimum}
    if maximum is not None:
        number["maximum"] = maximum
    return {
        "description": description,
        "anyOf": [{"const": "auto"}, number, REF],
        "x-expected": 'an integer or "auto"',
        "default": "auto",
    }


def auto_or_number(description: str, exclusive_minimum: float = 0, maximum: float | None = None) -> Schema:
    number: Schema = {"type": "number", "exclusiveMinimum": exclusive_minimum}
    if maximum is not None:
        number["maximum"] = maximum
    return {
        "description": description,
        "anyOf": [{"const": "auto"}, number, REF],
        "x-expected": 'a number or "auto"',
        "default": "auto",
    }


BATCH = "Number of examples in each batch. A larger batch size means that model parameters are updated less frequently, but with lower variance."
LR = "Scaling factor for the learning rate. A smaller learning rate may be useful to avoid overfitting."
EPOCHS = "The number of epochs to train the model for. An epoch refers to one full cycle through the training dataset."


def base_hyperparameters() -> dict[str, Schema]:
    return {
        "batch_size": auto_or_int(BATCH, 1, 256),
        "learning_rate_multiplier": auto_or_number(LR),
        "n_epochs": auto_or_int(EPOCHS, 1, 50),
    }


def supervised_hp() -> Schema:
    return obj(base_hyperparameters(), description="The hyperparameters used for the fine-tuning job.")


def dpo_hp() -> Schema:
    props = base_hyperparameters()
    props["beta"] = auto_or_number(
        "The beta value for the DPO method. A higher beta value will increase the weight "
        "of the penalty between the policy and reference model.",
        0,
        2,
    )
    return obj(props, description="The hyperparameters used for the DPO fine-tuning job.")


def reinforcement_hp() -> Schema:
    props = base_hyperparameters()
    props["reasoning_effort"] = {
        "type": "string",
        "enum": ["default", "low", "medium", "high"],
        "default": "default",
        "description": "Level of reasoning effort.",
    }
    props["compute_multiplier"] = auto_or_number(
        "Multiplier on amount of compute used for exploring search space during training.", 0.00001, 10
    )
    props["eval_interval"] = auto_or_int("The number of training steps between evaluation runs.", 1)
    props["eval_samples"] = auto_or_int("Number of evaluation samples to generate per training step.", 1)
    return obj(props, description="The hyperparameters used for the reinforcement fine-tuning job.")


# --- graders (openapi GraderStringCheck / TextSimilarity / Python / ScoreModel / LabelModel / Multi) ---


def content_item() -> Schema:
    return {
        "x-expected": "a string or a content object with type input_text, output_text, input_image or input_audio",
        "anyOf": [
            {"type": "string", "description": "A text input to the model."},
            obj(
                {"type": {"const": "input_text"}, "text": s("The text input to the model.")},
                ("type", "text"),
                "A text input to the model.",
            ),
            obj(
                {"type": {"const": "output_text"}, "text": s("The text output from the model.")},
                ("type", "text"),
                "A text output from the model.",
            ),
            obj(
                {
                    "type": {"const": "input_image"},
                    "image_url": s("The URL of the image input."),
                    "detail": s("The detail level of the image: high, low or auto (default auto)."),
                },
                ("type", "image_url"),
                "An image input.",
            ),
            obj(
                {
                    "type": {"const": "input_audio"},
                    "input_audio": obj(
                        {
                            "data": s("Base64-encoded audio data."),
                            "format": {"type": "string", "enum": ["mp3", "wav"]},
                        },
                        ("data", "format"),
                    ),
                },
                ("type", "input_audio"),
                "An audio input to the model.",
            ),
        ],
    }


def eval_item() -> Schema:
    return obj(
        {
            "role": {
                "type": "string",
                "enum": ["user", "assistant", "system", "developer"],
                "description": "The role of the message input. One of user, assistant, system, or developer.",
            },
            "content": {
                "description": "Inputs to the model - can contain template strings.",
                "anyOf": [
                    {"$ref": "#/$defs/ContentItem"},
                    {"type": "array", "items": {"$ref": "#/$defs/ContentItem"}},
                ],
                "x-expected": "a string, a content object or a list of them",
            },
            "type": {"const": "message", "description": "The type of the message input. Always message."},
        },
        ("role", "content"),
        "A message input to the grader model.",
    )


def grader_defs() -> dict[str, Schema]:
    name = s("The name of the grader.")
    string_check = obj(
        {
            "type": {
                "const": "string_check",
                "description": "The object type, which is always string_check.",
            },
            "name": name,
            "input": s("The input text. This may include template strings."),
            "reference": s("The reference text. This may include template strings."),
            "operation": {
                "type": "string",
                "enum": ["eq", "ne", "like", "ilike"],
                "description": "The string check operation to perform. One of eq, ne, like, or ilike.",
            },
        },
        ("type", "name", "input", "reference", "operation"),
        "A StringCheckGrader performs a string comparison between input and reference.",
    )
    text_similarity = obj(
        {
            "type": {"const": "text_similarity", "description": "The type of grader."},
            "name": name,
            "input": s("The text being graded."),
            "reference": s("The text being graded against."),
            "evaluation_metric": {
                "type": "string",
                "enum": [
                    "cosine",
                    "fuzzy_match",
                    "bleu",
                    "gleu",
                    "meteor",
                    "rouge_1",
                    "rouge_2",
                    "rouge_3",
                    "rouge_4",
                    "rouge_5",
                    "rouge_l",
                ],
                "description": "The evaluation metric to use.",
            },
        },
        ("type", "name", "input", "reference", "evaluation_metric"),
        "A TextSimilarityGrader grades text based on similarity metrics.",
    )
    python = obj(
        {
            "type": {"const": "python", "description": "The object type, which is always python."},
            "name": name,
            "source": s("The source code of the python script."),
            "image_tag": s("The image tag to use for the python script."),
        },
        ("type", "name", "source"),
        "A PythonGrader runs a python script on the input.",
    )
    score_model = obj(
        {
            "type": {"const": "score_model", "description": "The object type, which is always score_model."},
            "name": name,
            "model": s("The model to use for the evaluation."),
            "input": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/EvalItem"},
                "description": "The input messages evaluated by the grader; may include template strings.",
            },
            "range": {
                "type": "array",
                "items": {"type": "number"},
                "minItems": 2,
                "maxItems": 2,
                "description": "The range of the score. Defaults to [0, 1].",
            },
            "sampling_params": obj(
                {
                    "seed": {
                        "type": ["integer", "null"],
                        "description": "A seed value to initialize the randomness, during sampling.",
                    },
                    "top_p": {
                        "type": ["number", "null"],
                        "description": "An alternative to temperature for nucleus sampling; 1.0 includes all tokens.",
                    },
                    "temperature": {
                        "type": ["number", "null"],
                        "description": "A higher temperature increases randomness in the outputs.",
                    },
                    "max_completions_tokens": {
                        "anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}],
                        "x-expected": "a positive integer",
                        "description": "The maximum number of tokens the grader model may generate in its response.",
                    },
                    "reasoning_effort": {
                        "type": ["string", "null"],
                        "enum": ["none", "minimal", "low", "medium", "high", "xhigh", "max", None],
                        "description": "Constrains effort on reasoning for reasoning models.",
                    },
                },
                description="The sampling parameters for the model.",
            ),
        },
        ("type", "name", "input", "model"),
        "A ScoreModelGrader uses a model to assign a score to the input.",
    )
    label_model = obj(
        {
            "type": {"const": "label_model", "description": "The object type, which is always label_model."},
            "name": name,
            "model": s("The model to use for the evaluation. Must support structured outputs."),
            "input": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/EvalItem"}},
            "labels": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string"},
                "description": "The labels to assign to each item in the evaluation.",
            },
            "passing_labels": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string"},
                "description": "The labels that indicate a passing result. Must be a subset of labels.",
            },
        },
        ("type", "model", "input", "passing_labels", "labels", "name"),
        "A LabelModelGrader uses a model to assign labels to each item (only inside a multi grader).",
    )
    sub_graders = [
        "StringCheckGrader",
        "TextSimilarityGrader",
        "PythonGrader",
        "ScoreModelGrader",
        "LabelModelGrader",
    ]
    one_sub = {
        "anyOf": [{"$ref": f"#/$defs/{g}"} for g in sub_graders],
        "x-expected": "a grader with type string_check, text_similarity, python, score_model or label_model",
    }
    multi = obj(
        {
            "type": {"const": "multi", "description": "The object type, which is always multi."},
            "name": name,
            "graders": {
                "description": "The graders whose outputs calculate_output combines: one grader, or a map "
                               "of named graders (the names are the variables of calculate_output), as the "
                               "API takes them.",
                "anyOf": [one_sub, {"type": "object", "minProperties": 1, "additionalProperties": one_sub,
                                    "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}}],
                "x-expected": "a grader or a map of named graders",
            },
            "calculate_output": s("A formula to calculate the output based on grader results."),
        },
        ("name", "type", "graders", "calculate_output"),
        "A MultiGrader combines the output of multiple graders to produce a single score.",
    )
    return {
        "ContentItem": content_item(),
        "EvalItem": eval_item(),
        "StringCheckGrader": string_check,
        "TextSimilarityGrader": text_similarity,
        "PythonGrader": python,
        "ScoreModelGrader": score_model,
        "LabelModelGrader": label_model,
        "MultiGrader": multi,
        "Grader": {
            "description": "The grader used for the fine-tuning job.",
            "anyOf": [
                {"$ref": f"#/$defs/{g}"}
                for g in (
                    "StringCheckGrader",
                    "TextSimilarityGrader",
                    "PythonGrader",
                    "ScoreModelGrader",
                    "MultiGrader",
                )
            ],
            "x-expected": "a grader with type string_check, text_similarity, python, score_model or multi",
        },
    }


# --- kinds ---


def metadata_schema(description: str) -> Schema:
    return {
        "type": "object",
        "description": description,
        "maxProperties": MAX_METADATA,
        "propertyNames": {"maxLength": 64},
        "additionalProperties": {"type": "string", "maxLength": 512},
    }


def file_id(description: str) -> Schema:
    return s(description + " A file id (file-...) or a reference such as ${File.train.id}.", minLength=1)


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
