"""The JSON Schema source of a `kind: Evaluation` document (for editors and `reconciler schema`;
the loader checks documents with `document.check_evaluation_document`)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["DEFAULT_GRADER", "DEFAULT_THRESHOLD", "EVALUATION_KIND", "GRADER_TYPES", "NAME",
           "STRING_CHECK_OPERATIONS", "TEXT_SIMILARITY_METRICS", "evaluation_document_schema"]

EVALUATION_KIND = "Evaluation"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
GRADER_TYPES = ("string_check", "text_similarity")
STRING_CHECK_OPERATIONS = ("eq", "ne", "like", "ilike")
# the text_similarity metrics computed locally (reconciler/recording/grading.py LOCAL_METRICS)
TEXT_SIMILARITY_METRICS = ("fuzzy_match", "bleu", "rouge_1", "rouge_2", "rouge_3", "rouge_4", "rouge_5", "rouge_l")
DEFAULT_GRADER = {"type": "text_similarity", "evaluation_metric": "fuzzy_match"}
DEFAULT_THRESHOLD = 0.9


def evaluation_document_schema() -> dict[str, Any]:
    grader = {
        "type": "object",
        "description": "How an answer is scored against the recorded one (the graders the specs speak, computed "
                       "locally). Default: text_similarity with fuzzy_match.",
        "properties": {
            "type": {"enum": list(GRADER_TYPES)},
            "name": {"type": "string"},
            "evaluation_metric": {"enum": list(TEXT_SIMILARITY_METRICS),
                                  "description": "text_similarity: the metric."},
            "operation": {"enum": list(STRING_CHECK_OPERATIONS), "description": "string_check: the operation."},
        },
        "required": ["type"],
        "additionalProperties": False,
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
