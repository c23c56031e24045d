"""Lifecycle conditions (Terraform's precondition / postcondition), written on a resource:

    lifecycle:
      precondition:
        - condition: object.spec.hyperparameters.n_epochs <= 4
          error_message: more than 4 epochs is not worth it on this data
      postcondition:
        - condition: self.metrics.valid_loss < 0.5
          error_message: the model is not good enough to share

A precondition reads `object` (kind, address, action, spec resolved, inputs); a postcondition also `self`, the live object (a job's
status, fine_tuned_model, trained_tokens, and `metrics`, those of its final checkpoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.errors import SpecError
from reconciler.expr.compile import Expression, Where, compile_expression

__all__ = ["CONDITION_KEYS", "Condition", "compile_conditions", "condition_list_schema"]

CONDITION_KEYS = ("precondition", "postcondition")
_NAMES = {"precondition": ("object",), "postcondition": ("object", "self")}


@dataclass(frozen=True)
class Condition:
    expression: Expression
    error_message: str

    @property
    def where(self) -> str:
        return f"{self.expression.where.file}:{self.expression.where.line}"


def condition_list_schema(which: str) -> dict[str, Any]:
    reads = "object" if which == "precondition" else "object and self (the live object)"
    return {
        "type": "array",
        "description": f"{which.capitalize()}s: CEL conditions over {reads}, each with the message shown "
                       "when it is false.",
        "items": {
            "type": "object",
            "properties": {
                "condition": {"type": "string", "minLength": 1, "description": "A CEL boolean expression."},
                "error_message": {"type": "string", "minLength": 1, "description": "Shown when it is false."},
            },
            "required": ["condition", "error_message"],
            "additionalProperties": False,
        },
    }


def compile_conditions(lifecycle: Mapping[str, Any], file: str, line_of: Any, address: str | None
                       ) -> tuple[dict[str, tuple[Condition, ...]], list[SpecError]]:
    """{"precondition": (...), "postcondition": (...)} compiled (the schema checked the shape);
    `line_of(path_tuple)` gives a line. Errors are one SpecError each."""
    found: dict[str, tuple[Condition, ...]] = {}
    errors: list[SpecError] = []
    for which in CONDITION_KEYS:
        items = []
        for i, item in enumerate(lifecycle.get(which) or ()):
            path = ("lifecycle", which, i, "condition")
            where = Where(file, line_of(path), address, f"lifecycle.{which}[{i}].condition")
            try:
                items.append(Condition(compile_expression(item.get("condition"), _NAMES[which], where),
                                       str(item.get("error_message"))))
            except SpecError as exc:
                errors.append(exc)
        found[which] = tuple(items)
    return found, errors
