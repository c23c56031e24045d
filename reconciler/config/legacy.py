"""LegacyFineTune: the `openai_finetune` shape of the retired fine-tunes API (seed 004), mapped onto a
modern FineTuningJob spec with a deprecation warning. Fields the jobs API no longer has are errors
that say so, never silently dropped."""

from __future__ import annotations

import json
from typing import Any

from reconciler.config.checks import Finding, retired_model_problem

__all__ = ["RETIRED_FIELDS", "map_legacy"]

_NO_CLASSIFICATION = (
    "the fine-tuning jobs API has no classification metrics; remove it and evaluate the "
    "model separately (e.g. with a grader)"
)
RETIRED_FIELDS = {
    "prompt_loss_weight": "the fine-tuning jobs API has no prompt loss weight; remove it (chat examples can "
    'exclude assistant turns from training with "weight": 0)',
    "classification_n_classes": _NO_CLASSIFICATION,
    "classification_positive_class": _NO_CLASSIFICATION,
    "classification_betas": _NO_CLASSIFICATION,
    "compute_classification_metrics": _NO_CLASSIFICATION,
}
_HYPERPARAMETERS = ("n_epochs", "batch_size", "learning_rate_multiplier")


def map_legacy(spec: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    """(the FineTuningJob spec it stands for, problems). The spec is already schema-valid."""
    findings: list[Finding] = []
    for key, why in RETIRED_FIELDS.items():
        if key in spec:
            findings.append(
                Finding(
                    ("spec", key),
                    f"{key} is not supported: the legacy fine-tunes API that had it was retired; {why}",
                )
            )
    if "fine_tune" in spec:
        findings.append(
            Finding(
                ("spec", "fine_tune"),
                "fine_tune is read-only (reported by the legacy provider, never set); remove it",
            )
        )
    problem = retired_model_problem(spec.get("model"))
    if problem:
        findings.append(Finding(("spec", "model"), problem))

    job: dict[str, Any] = {"model": spec["model"], "training_file": spec["training_file"]}
    if "validation_file" in spec:
        job["validation_file"] = spec["validation_file"]
    suffix = spec.get("suffix")
    if isinstance(suffix, list):
        suffix = suffix[0]
    if suffix is not None:
        job["suffix"] = suffix
    hyper = {k: spec[k] for k in _HYPERPARAMETERS if k in spec}
    job["method"] = (
        {"type": "supervised", "supervised": {"hyperparameters": hyper}} if hyper else {"type": "supervised"}
    )
    shown = json.dumps(job, ensure_ascii=False).replace('"', "")
    findings.append(
        Finding(
            (),
            f"LegacyFineTune is deprecated (the fine-tunes API it mirrors was retired); it is "
            f"created as a FineTuningJob. Replace it with kind: FineTuningJob, spec: {shown}",
            "warning",
        )
    )
    job["status"] = "running"
    return job, findings
