"""Validation of `POST /fine_tuning/jobs` arguments, the way the real API answers (400s)."""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any

from reconciler_sandbox.errors import bad_request
from reconciler_sandbox.graders import validate_grader
from reconciler_sandbox.models import check_method, resolve_model

KNOWN_ARGS = {"model", "training_file", "hyperparameters", "suffix", "validation_file", "integrations",
              "seed", "method", "metadata"}
METHODS = ("supervised", "dpo", "reinforcement")
# hyperparameter -> (kind, min, max, exclusive-min)
HP_RULES: dict[str, tuple[type, float, float | None, bool]] = {
    "batch_size": (int, 1, 256, False),
    "n_epochs": (int, 1, 50, False),
    "learning_rate_multiplier": (float, 0, None, True),
    "beta": (float, 0, 2, True),
    "compute_multiplier": (float, 0.00001, 10, True),
    "eval_interval": (int, 1, None, False),
    "eval_samples": (int, 1, None, False),
}
HP_KEYS = {
    "supervised": ("batch_size", "learning_rate_multiplier", "n_epochs"),
    "dpo": ("batch_size", "beta", "learning_rate_multiplier", "n_epochs"),
    "reinforcement": ("batch_size", "compute_multiplier", "eval_interval", "eval_samples",
                      "learning_rate_multiplier", "n_epochs", "reasoning_effort"),
}
REASONING_EFFORT = ("default", "low", "medium", "high")
MAX_METADATA = 16


def _check_hp(hp: Any, method: str, where: str) -> dict[str, Any]:
    if hp is None:
        hp = {}
    if not isinstance(hp, dict):
        raise bad_request(f"'{where}' must be an object.", param=where)
    allowed = HP_KEYS[method]
    out: dict[str, Any] = {}
    for key, value in hp.items():
        if key not in allowed:
            raise bad_request(f"Unknown hyperparameter '{key}' for method '{method}'.", param=f"{where}.{key}")
        if key == "reasoning_effort":
            if value not in REASONING_EFFORT:
                raise bad_request(f"'{where}.reasoning_effort' must be one of {', '.join(REASONING_EFFORT)}.",
                                  param=f"{where}.reasoning_effort")
            out[key] = value
            continue
        if value == "auto":
            out[key] = "auto"
            continue
        kind, low, high, exclusive = HP_RULES[key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and kind is int and not (isinstance(value, int) or float(value).is_integer()):
            ok = False
        if ok:
            v = float(value)
            ok = (v > low if exclusive else v >= low) and (high is None or v <= high)
        if not ok:
            bound = f"{'>' if exclusive else '>='} {low:g}" + (f" and <= {high:g}" if high is not None else "")
            raise bad_request(f"Invalid value for '{where}.{key}': must be 'auto' or a "
                              f"{'whole number' if kind is int else 'number'} {bound}.",
                              param=f"{where}.{key}", code="invalid_value")
        out[key] = int(value) if kind is int else float(value)
    for key in allowed:
        out.setdefault(key, "medium" if key == "reasoning_effort" else "auto")
    return out


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise bad_request("'metadata' must be an object of string keys and values.", param="metadata")
    if len(metadata) > MAX_METADATA:
        raise bad_request(f"Invalid 'metadata': too many properties. Expected an object with at most "
                          f"{MAX_METADATA} properties, but got an object with {len(metadata)} properties "
                          "instead.", param="metadata", code="object_above_max_properties")
    for key, value in metadata.items():
        if len(key) > 64:
            raise bad_request(f"Invalid 'metadata': key '{key[:20]}...' is longer than 64 characters.",
                              param="metadata", code="invalid_value")
        if not isinstance(value, str):
            raise bad_request(f"Invalid 'metadata.{key}': expected a string.", param=f"metadata.{key}",
                              code="invalid_type")
        if len(value) > 512:
            raise bad_request(f"Invalid 'metadata.{key}': string too long (max 512 characters).",
                              param=f"metadata.{key}", code="string_above_max_length")
    return dict(metadata)


def _check_integrations(integrations: Any) -> list[dict[str, Any]]:
    if integrations is None:
        return []
    if not isinstance(integrations, list) or len(integrations) > 5:
        raise bad_request("'integrations' must be a list of at most 5 integrations.", param="integrations")
    out = []
    for i, item in enumerate(integrations):
        if not isinstance(item, dict) or item.get("type") != "wandb" or not isinstance(item.get("wandb"), dict):
            raise bad_request(f"'integrations[{i}]' must be {{type: wandb, wandb: {{project: ...}}}}.",
                              param=f"integrations[{i}]")
        wandb = item["wandb"]
        if not isinstance(wandb.get("project"), str) or not wandb["project"]:
            raise bad_request(f"Missing 'integrations[{i}].wandb.project'.", param=f"integrations[{i}].wandb.project")
        tags = wandb.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise bad_request(f"'integrations[{i}].wandb.tags' must be a list of strings.",
                              param=f"integrations[{i}].wandb.tags")
        out.append({"type": "wandb", "wandb": {"project": wandb["project"], "name": wandb.get("name"),
                                               "entity": wandb.get("entity"), "tags": list(tags)}})
    return out


def parse_create(body: Any, *, file_purpose: Callable[[str], str | None],
                 fine_tuned_models: Container[str]) -> dict[str, Any]:
    """Check a create-job body; return the normalised arguments. `file_purpose(id)` is None for an
    unknown file."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    unknown = sorted(set(body) - KNOWN_ARGS)
    if unknown:
        raise bad_request(f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0],
                          code="unknown_parameter")
    # The real API checks the files before the model: an unknown file and an unknown model
    # together are reported as the file.
    for param in ("training_file", "validation_file"):
        value = body.get(param)
        if value is None and param == "validation_file":
            continue
        if not isinstance(value, str) or not value:
            raise bad_request(f"Missing required parameter: '{param}'.", param=param,
                              code="missing_required_parameter")
        purpose = file_purpose(value)
        if purpose is None:
            raise bad_request(f"invalid {param}: {value}", param=param)  # code null, as the real API
        if purpose != "fine-tune":
            raise bad_request(f"File {value} has purpose '{purpose}'; fine-tuning needs purpose 'fine-tune'.",
                              param=param, code="invalid_file_purpose")
    model = resolve_model(body.get("model"), fine_tuned_models)
    suffix = body.get("suffix")
    if suffix is not None:
        if not isinstance(suffix, str) or not suffix:
            raise bad_request("'suffix' must be a non-empty string.", param="suffix", code="invalid_type")
        if len(suffix) > 64:
            raise bad_request(f"Invalid 'suffix': string too long. Expected a string with maximum length 64, "
                              f"but got a string with length {len(suffix)} instead.", param="suffix",
                              code="string_above_max_length")
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= 2147483647):
        raise bad_request("Invalid 'seed': expected an integer between 0 and 2147483647.", param="seed",
                          code="invalid_value")
    metadata = _check_metadata(body.get("metadata"))
    integrations = _check_integrations(body.get("integrations"))

    method = body.get("method")
    legacy = body.get("hyperparameters")
    if method is None:
        method_type = "supervised"
        method_body: dict[str, Any] = {}
    else:
        if not isinstance(method, dict):
            raise bad_request("'method' must be an object with a 'type'.", param="method")
        method_type = str(method.get("type"))
        if method_type not in METHODS:
            raise bad_request(f"Invalid fine-tuning method {method.get('type')!r}: expected one of "
                              f"{', '.join(METHODS)}.", param="method.type", code="invalid_method")
        extra = sorted(set(method) - {"type", method_type})
        if extra:
            raise bad_request(f"Unrecognized field 'method.{extra[0]}' for method '{method_type}'.",
                              param=f"method.{extra[0]}")
        method_body = method.get(method_type) or {}
        if not isinstance(method_body, dict):
            raise bad_request(f"'method.{method_type}' must be an object.", param=f"method.{method_type}")
    check_method(method_type, model)
    where = f"method.{method_type}.hyperparameters"
    hp = _check_hp(method_body.get("hyperparameters"), method_type, where)
    if legacy is not None:
        legacy_hp = _check_hp(legacy, "supervised", "hyperparameters")
        given_method = {k: v for k, v in (method_body.get("hyperparameters") or {}).items()}
        for key in ("batch_size", "learning_rate_multiplier", "n_epochs"):
            if key in legacy and key in given_method and legacy_hp[key] != hp[key]:
                raise bad_request(f"'hyperparameters.{key}' and '{where}.{key}' disagree; the deprecated "
                                  "top-level hyperparameters must match the method's.",
                                  param=f"hyperparameters.{key}")
            if key in legacy and key in hp:
                hp[key] = legacy_hp[key]
    grader = None
    response_format = None
    if method_type == "reinforcement":
        if "grader" not in method_body:
            raise bad_request("Missing required parameter: 'method.reinforcement.grader'.",
                              param="method.reinforcement.grader", code="missing_required_parameter")
        grader = validate_grader(method_body["grader"], "method.reinforcement.grader")
        response_format = method_body.get("response_format")
    return {
        "model": model,
        "training_file": body["training_file"],
        "validation_file": body.get("validation_file"),
        "suffix": suffix,
        "seed": seed,
        "metadata": metadata,
        "integrations": integrations,
        "method_type": method_type,
        "hyperparameters": hp,
        "grader": grader,
        "response_format": response_format,
    }
