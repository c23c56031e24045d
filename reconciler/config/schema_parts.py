"""The pieces of the spec language's JSON Schemas that kinds share: name, address, reference and
duration patterns, object and "auto"-or-number builders, hyperparameters, graders, metadata. Each
kind's own `spec` schema is built in its folder (reconciler/kinds/<kind>/schema.py, reached from
`Kind.spec_schema()`); reconciler/loading/schema_source.py assembles the files under
config/schema/.

Conventions: `additionalProperties: false` everywhere; a field that may hold a document reference
`${Kind.name.attr}` accepts a string matching REF_PATTERN in place of its typed value; `x-expected`
is a short phrase the loader uses in "expected ..., got ..." messages. Field descriptions come from
the seeds (provider docs and API reference).
"""

from __future__ import annotations

from typing import Any

from reconciler.addresses import KEY_CHARS, KEY_MAX

REF_PATTERN = r"^\$\{[^{}]+\}$"


NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"


# Kind.name, data.Kind.name, or one instance of a for_each / matrix document: Kind.name["key"]
# (reconciler/addresses.py holds the key's rules).
# "$" is escaped in the key's class: fastjsonschema turns every bare "$" of a pattern into \Z.
ADDRESS_PATTERN = (r"^(data\.)?[A-Za-z][A-Za-z0-9]*\.[A-Za-z_][A-Za-z0-9_-]{0,63}"
                   rf'(\["{KEY_CHARS.replace("$", chr(92) + "$")}{{1,{KEY_MAX}}}"\])?$')


DURATION_PATTERN = r"^(?=\d)(\d+h)?(\d+m)?(\d+s)?$"


MAX_METADATA = 12  # 16 allowed by the API, minus reconciler_address, _digest, _lineage and _workspace


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
