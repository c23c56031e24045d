"""Grader checks for `POST /fine_tuning/alpha/graders/validate` and reinforcement jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler_sandbox.errors import bad_request

KINDS = ("string_check", "text_similarity", "python", "score_model", "label_model", "multi")
OPERATIONS = ("eq", "ne", "like", "ilike")
METRICS = ("cosine", "fuzzy_match", "bleu", "gleu", "meteor", "rouge_1", "rouge_2", "rouge_3", "rouge_4",
           "rouge_5", "rouge_l")
ROLES = ("user", "assistant", "system", "developer")


def _need_str(grader: dict[str, Any], key: str, where: str) -> str:
    value = grader.get(key)
    if not isinstance(value, str) or (key != "input" and not value):
        raise bad_request(f"Missing or invalid '{key}' in {where}: expected a string.", param=f"{where}.{key}")
    return value


def _check_input_items(items: Any, where: str) -> None:
    if not isinstance(items, list) or not items:
        raise bad_request(f"'{where}.input' must be a non-empty list of messages.", param=f"{where}.input")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or item.get("role") not in ROLES or "content" not in item:
            raise bad_request(f"'{where}.input[{i}]' must be a message with a role ({', '.join(ROLES)}) "
                              "and content.", param=f"{where}.input[{i}]")
        if item.get("type", "message") != "message":
            raise bad_request(f"'{where}.input[{i}].type' must be 'message'.", param=f"{where}.input[{i}].type")
        content = item["content"]
        parts = content if isinstance(content, list) else [content]
        if not all(isinstance(part, str) or _content_part_ok(part) for part in parts):
            raise bad_request(f"'{where}.input[{i}].content' must be text, an input_text, output_text, "
                              "input_image or input_audio item, or a list of them.",
                              param=f"{where}.input[{i}].content")


def _content_part_ok(part: Any) -> bool:
    """One content item as the contract's EvalItemContentItem allows it (the echo must match it)."""
    if not isinstance(part, dict):
        return False
    kind = part.get("type")
    if kind in ("input_text", "output_text"):
        return isinstance(part.get("text"), str)
    if kind == "input_image":
        return isinstance(part.get("image_url"), str) and isinstance(part.get("detail", ""), str)
    if kind == "input_audio":
        audio = part.get("input_audio")
        return isinstance(audio, dict) and isinstance(audio.get("data"), str) and audio.get("format") in ("mp3", "wav")
    return False


REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


def _number(value: Any, *, whole: bool = False) -> bool:
    return not isinstance(value, bool) and isinstance(value, int if whole else (int, float))


def _check_sampling_params(params: Any, where: str) -> None:
    """`score_model.sampling_params` as the contract's GraderScoreModel types it (each field a
    number, an integer or one of the reasoning efforts, or null): the validate endpoint echoes the
    grader, and the echo must match the contract."""
    if params is None:
        return
    if not isinstance(params, dict):
        raise bad_request(f"'{where}.sampling_params' must be an object.", param=f"{where}.sampling_params")
    checks: dict[str, Callable[[Any], bool]] = {
        "seed": lambda v: _number(v, whole=True), "top_p": _number, "temperature": _number,
        "max_completions_tokens": lambda v: _number(v, whole=True) and v >= 1,
        "reasoning_effort": lambda v: v in REASONING_EFFORTS}
    for key, ok in checks.items():
        value = params.get(key)
        if value is not None and not ok(value):
            raise bad_request(f"Invalid '{where}.sampling_params.{key}': {value!r:.60}.",
                              param=f"{where}.sampling_params.{key}")


def validate_grader(grader: Any, where: str = "grader", *, nested: bool = False) -> dict[str, Any]:
    """Return the grader unchanged if valid; raise a 400 naming the offending field otherwise."""
    if not isinstance(grader, dict):
        raise bad_request(f"'{where}' must be an object.", param=where)
    kind = grader.get("type")
    # The contract's oneOf: label_model only inside a multi grader, multi only at the top.
    allowed = tuple(k for k in KINDS if k != ("multi" if nested else "label_model"))
    if kind not in allowed:
        raise bad_request(f"Invalid grader type {kind!r} in {where}; expected one of {', '.join(allowed)}.",
                          param=f"{where}.type")
    _need_str(grader, "name", where)
    if kind == "string_check":
        _need_str(grader, "input", where)
        _need_str(grader, "reference", where)
        if grader.get("operation") not in OPERATIONS:
            raise bad_request(f"'{where}.operation' must be one of {', '.join(OPERATIONS)}.",
                              param=f"{where}.operation")
    elif kind == "text_similarity":
        _need_str(grader, "input", where)
        _need_str(grader, "reference", where)
        if grader.get("evaluation_metric") not in METRICS:
            raise bad_request(f"'{where}.evaluation_metric' must be one of {', '.join(METRICS)}.",
                              param=f"{where}.evaluation_metric")
    elif kind == "python":
        source = _need_str(grader, "source", where)
        try:
            compile(source, f"<{where}.source>", "exec")
        except SyntaxError as exc:
            raise bad_request(f"'{where}.source' is not valid Python: {exc.msg} (line {exc.lineno}).",
                              param=f"{where}.source") from None
        if "def grade" not in source:
            raise bad_request(f"'{where}.source' must define grade(sample, item).", param=f"{where}.source")
    elif kind in ("score_model", "label_model"):
        _need_str(grader, "model", where)
        _check_input_items(grader.get("input"), where)
        if kind == "score_model":
            _check_sampling_params(grader.get("sampling_params"), where)
            rng = grader.get("range")
            if rng is not None and (not isinstance(rng, list) or len(rng) != 2
                                    or not all(_number(x) for x in rng) or rng[0] >= rng[1]):
                raise bad_request(f"'{where}.range' must be [min, max] with min < max.", param=f"{where}.range")
        else:
            labels = grader.get("labels")
            passing = grader.get("passing_labels")
            if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
                raise bad_request(f"'{where}.labels' must be a non-empty list of strings.", param=f"{where}.labels")
            if not isinstance(passing, list) or not passing or not set(passing) <= set(labels):
                raise bad_request(f"'{where}.passing_labels' must be a non-empty subset of labels.",
                                  param=f"{where}.passing_labels")
    elif kind == "multi":
        _need_str(grader, "calculate_output", where)
        graders = grader.get("graders")
        if isinstance(graders, dict) and "type" in graders:
            validate_grader(graders, f"{where}.graders", nested=True)
        elif isinstance(graders, dict) and graders:
            for key, sub in graders.items():
                validate_grader(sub, f"{where}.graders.{key}", nested=True)
        else:
            raise bad_request(f"'{where}.graders' must be a grader or a map of named graders.",
                              param=f"{where}.graders")
    return grader
