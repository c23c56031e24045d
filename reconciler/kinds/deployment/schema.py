"""The JSON Schema of a Deployment's spec (an Azure OpenAI deployment through Resource Manager)."""

from __future__ import annotations

from typing import Any

from reconciler.config.schema_parts import obj, ref_or, s

__all__ = ["SKUS", "deployment_spec"]

# the spec's spelling -> the ARM sku name (Azure's fine-tuning-deploy and fine-tune-test guides)
SKUS = {"standard": "Standard", "globalstandard": "GlobalStandard", "developer": "DeveloperTier"}
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def deployment_spec() -> dict[str, Any]:
    return obj(
        {
            "model": s("The model to serve: a fine-tuned model, e.g. ${FineTuningJob.x.fine_tuned_model}, "
                       "or a base model.", minLength=1),
            "sku": obj(
                {
                    "name": {"enum": sorted(SKUS), "description": "standard, globalstandard or developer "
                             "(Developer tier deployments live 24 hours)."},
                    "capacity": ref_or({"type": "integer", "minimum": 1, "description": "Capacity units."},
                                       "a positive integer"),
                },
                ("name", "capacity"),
                "The deployment type and its capacity.",
                additionalProperties=False,
            ),
            "deployment_name": s("The ARM deployment's name (default: the document's name).",
                                 pattern=NAME_PATTERN),
        },
        ("model", "sku"),
        "An Azure OpenAI deployment of a model (Microsoft.CognitiveServices/accounts/deployments).",
        additionalProperties=False,
    )
