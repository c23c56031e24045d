"""Budgets in the Settings document, checked like deny policies against every plan:

    kind: Settings
    name: default
    spec:
      budgets:
        max_cost_per_apply: 50      # USD, the plan's estimated training cost; a job whose cost is
                                    # unknown is denied by this budget, named with the reason
        unknown_cost: deny          # or allow: jobs of unknown cost pass (counted as 0)
        max_new_jobs: 4             # jobs created, replacements included
        max_replacements: 1         # objects replaced

Each budget is a rule named `budgets.<key>`, which `--policy-override` can name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["BUDGET_KEYS", "UNKNOWN_COST", "Budgets", "budgets_from_spec", "budgets_schema"]

BUDGET_KEYS = ("max_cost_per_apply", "max_new_jobs", "max_replacements")
UNKNOWN_COST = ("deny", "allow")  # what max_cost_per_apply does with a job whose cost is unknown


@dataclass(frozen=True)
class Budgets:
    max_cost_per_apply: float | None = None
    max_new_jobs: int | None = None
    max_replacements: int | None = None
    unknown_cost: str = "deny"
    file: str | None = None
    line: int | None = None

    def limits(self) -> dict[str, float | int]:
        return {k: v for k in BUDGET_KEYS if (v := getattr(self, k)) is not None}


def budgets_schema() -> dict[str, Any]:
    """The JSON Schema of `Settings.spec.budgets` (a property beside backend and pricing)."""
    return {
        "type": "object",
        "description": "Limits every apply must stay within (checked like deny policies; "
                       "--policy-override budgets.KEY --reason TEXT to pass one).",
        "properties": {
            "max_cost_per_apply": {"type": "number", "minimum": 0,
                                   "description": "Most estimated training cost (USD) one apply may start."},
            "max_new_jobs": {"type": "integer", "minimum": 0,
                             "description": "Most fine-tuning jobs one apply may create (replacements included)."},
            "max_replacements": {"type": "integer", "minimum": 0,
                                 "description": "Most objects one apply may replace."},
            "unknown_cost": {"enum": list(UNKNOWN_COST), "default": "deny",
                             "description": "A job whose cost is unknown (no price, a training file that "
                                            "cannot be counted, billed per hour): deny (default) refuses it "
                                            "under max_cost_per_apply; allow lets it through, counted as 0."},
        },
        "additionalProperties": False,
    }


def budgets_from_spec(raw: Mapping[str, Any] | None, file: str | None = None, line: int | None = None) -> Budgets:
    raw = raw or {}
    cost = raw.get("max_cost_per_apply")
    jobs = raw.get("max_new_jobs")
    replacements = raw.get("max_replacements")
    return Budgets(float(cost) if cost is not None else None, int(jobs) if jobs is not None else None,
                   int(replacements) if replacements is not None else None,
                   str(raw.get("unknown_cost") or "deny"), file, line)
