"""The JSON Schema source of a `kind: Evaluation` document (for editors and `reconciler schema`;
the loader checks documents with `document.check_evaluation_document`)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["DEFAULT_GRADER", "DEFAULT_THRESHOLD", "EVALUATION_KIND", "GRADER_TYPES", "MODEL_GRADER", "NAME",
           "STRING_CHECK_OPERATIONS", "TEXT_SIMILARITY_METRICS", "evaluation_document_schema"]

EVALUATION_KIND = "Evaluation"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MODEL_GRADER = "score_model"
GRADER_TYPES = ("string_check", "text_similarity", MODEL_GRADER)
STRING_CHECK_OPERATIONS = ("eq", "ne", "like", "ilike")
# the text_similarity metrics computed locally (reconciler/kinds/evaluation/grading.py LOCAL_METRICS)
TEXT_SIMILARITY_METRICS = ("fuzzy_match", "bleu", "rouge_1", "rouge_2", "rouge_3", "rouge_4", "rouge_5", "rouge_l")
DEFAULT_GRADER = {"type": "text_similarity", "evaluation_metric": "fuzzy_match"}
DEFAULT_THRESHOLD = 0.9


def evaluation_document_schema() -> dict[str, Any]:
    local = {
        "type": "object",
        "description": "A grader computed locally: string_check by operation, text_similarity by metric.",
        "properties": {
            "type": {"enum": ["string_check", "text_similarity"]},
            "name": {"type": "string"},
            "evaluation_metric": {"enum": list(TEXT_SIMILARITY_METRICS),
                                  "description": "text_similarity: the metric."},
            "operation": {"enum": list(STRING_CHECK_OPERATIONS), "description": "string_check: the operation."},
        },
        "required": ["type"],
        "additionalProperties": False,
    }
    message = {
        "type": "object",
        "properties": {
            "role": {"enum": ["user", "assistant", "system", "developer"]},
            "content": {"description": "Text with {{sample.output_text}} (the new answer), {{item.reference}} "
                                       "(the recorded answer) and {{item.prompt}} (the prompt), or a list of "
                                       "{type: input_text, text} parts."},
            "type": {"const": "message"},
        },
        "required": ["role", "content"],
        "additionalProperties": False,
    }
    model = {
        "type": "object",
        "description": "A score_model grader, graded by the platform (graders/run) and priced at its model's "
                       "inference price.",
        "properties": {
            "type": {"const": MODEL_GRADER},
            "name": {"type": "string"},
            "model": {"type": "string", "minLength": 1, "description": "The grader's model."},
            "input": {"type": "array", "minItems": 1, "items": message},
            "range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                      "description": "The range of the score (default [0, 1]), mapped onto 0..1."},
            "sampling_params": {"type": "object", "description": "seed, top_p, temperature, "
                                "max_completions_tokens (bounds the cost estimate), reasoning_effort."},
        },
        "required": ["type", "model", "input"],
        "additionalProperties": False,
    }
    grader = {
        "description": "How an answer is scored against the recorded one (the graders the specs speak). "
                       "Default: text_similarity with fuzzy_match.",
        "anyOf": [local, model],
    }
    return {
        "type": "object",
        "description": "The score a model must reach against the answers `reconciler record` kept: a "
                       "postcondition plan and drift show, and `reconciler compare --evaluation` checks.",
        "properties": {
            "kind": {"const": EVALUATION_KIND},
            "name": {"type": "string", "pattern": NAME.pattern, "description": "Evaluation.NAME."},
            "spec": {
                "type": "object",
                "properties": {
                    "recording": {"type": "string", "minLength": 1,
                                  "description": "The folder `reconciler record DIR` wrote for one model "
                                                 "(DIR/<address>), relative to this spec file."},
                    "target": {"type": "string", "minLength": 1,
                               "description": "The model held against the recording: a model id or "
                                              "${FineTuningJob.NAME.fine_tuned_model}."},
                    "grader": grader,
                    "threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": DEFAULT_THRESHOLD,
                                  "description": "Pass when the mean score reaches it."},
                },
                "required": ["recording", "target"],
                "additionalProperties": False,
            },
        },
        "required": ["kind", "name", "spec"],
        "additionalProperties": False,
    }
