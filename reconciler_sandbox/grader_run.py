"""`POST /v1/fine_tuning/alpha/graders/run`: one grader over one dataset item and one model sample.

The request and the answer are the contract's `RunGraderRequest` / `RunGraderResponse`
(openai/openai-openapi): `reward`, `metadata` (`name`, `type`, the `errors` flags,
`execution_time`, `scores`, `token_usage`, `sampled_model_name`), `sub_rewards` and
`model_grader_token_usage_per_model`. What the sandbox computes:

- `string_check`: 1.0 or 0.0 by `operation` (eq, ne, like = contains, ilike = contains ignoring case);
- `text_similarity`: `fuzzy_match` is difflib's ratio; every other metric is the token-overlap F1
  (a plausible, deterministic number, not the real metric);
- `score_model` / `label_model` (the latter only inside `multi`): a judge that rates the sample by
  how close it is to the item text its prompt shows: the best difflib ratio of the sample against
  each `{{item.X}}` its input renders, mapped into the grader's `range` (so an answer equal to the
  reference scores the top of the range); with no `{{item.X}}` in its input, a deterministic number
  from a hash of the rendered prompt (label: a deterministic label, 1.0 if it passes). Its usage:
  the rendered input messages counted as a chat prompt (the cookbook's rule, as chat completions
  count them) plus one completion token, per model in `model_grader_token_usage_per_model`, in
  `token_usage`, and added to the world's per-model usage (what the sandbox bills);
- `multi`: each grader by its key (and name), then `calculate_output` over their scores (numbers,
  + - * / **, parentheses, min, max, abs, sqrt, log, exp, floor, ceil);
- `python`: refused (400 `unsupported_grader`): the sandbox never runs code it is sent.

A template variable that the item does not have (`{{item.x}}` with no `x`) sets
`errors.invalid_variable_error` and the reward 0.0, as the error flags describe; the real API's
exact trigger for each flag is not published.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import math
import operator
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reconciler.cost.tokens import count_record, encoding_for
from reconciler_sandbox.errors import ApiError, bad_request
from reconciler_sandbox.graders import validate_grader
from reconciler_sandbox.models import base_of

if TYPE_CHECKING:
    from reconciler_sandbox.routes import Request
    from reconciler_sandbox.world import World

ERROR_FLAGS = ("formula_parse_error", "sample_parse_error", "truncated_observation_error",
               "unresponsive_reward_error", "invalid_variable_error", "other_error", "python_grader_server_error",
               "python_grader_runtime_error", "model_grader_server_error", "model_grader_refusal_error",
               "model_grader_parse_error")
_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_\-]+)*)\s*\}\}")


class _Missing(Exception):
    """A template variable the item (or sample) does not have."""


def _render(text: str, item: dict[str, Any], sample: str) -> str:
    def one(m: re.Match[str]) -> str:
        root, path = m.group(1), [p for p in m.group(2).split(".") if p]
        if root == "sample":
            if path == ["output_text"]:
                return sample
            if path[:1] == ["output_json"]:
                try:
                    value: Any = json.loads(sample)
                except ValueError:
                    raise _Missing(m.group(0)) from None
                path = path[1:]
            else:
                raise _Missing(m.group(0))
        elif root == "item":
            value = item
        else:
            raise _Missing(m.group(0))
        for key in path:
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                raise _Missing(m.group(0))
        return value if isinstance(value, str) else json.dumps(value)

    return _TEMPLATE.sub(one, text)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _similarity(metric: str, a: str, b: str) -> float:
    if metric == "fuzzy_match":
        return difflib.SequenceMatcher(None, a, b).ratio()
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 1.0 if ta == tb else 0.0
    common = sum(min(ta.count(t), tb.count(t)) for t in set(ta))
    if common == 0:
        return 0.0
    precision, recall = common / len(ta), common / len(tb)
    return 2 * precision * recall / (precision + recall)


def _fraction(*parts: str) -> float:
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def _messages(grader: dict[str, Any], item: dict[str, Any], sample: str) -> list[dict[str, str]]:
    """The grader's input messages with their templates filled, each content as one text."""
    rendered = []
    for message in grader["input"]:
        content = message["content"]
        parts = content if isinstance(content, list) else [content]
        texts = [_render(part if isinstance(part, str) else part.get("text", ""), item, sample) for part in parts]
        rendered.append({"role": str(message["role"]), "content": "".join(texts)})
    return rendered


_ITEM_TEMPLATE = re.compile(r"\{\{\s*item(?:\.[A-Za-z0-9_\-]+)+\s*\}\}")


def _shown_item_texts(grader: dict[str, Any], item: dict[str, Any], sample: str) -> list[str]:
    """What each `{{item.X}}` of the grader's input renders to: the text the judge compares with."""
    found = []
    for message in grader["input"]:
        content = message["content"]
        for part in content if isinstance(content, list) else [content]:
            text = part if isinstance(part, str) else part.get("text", "")
            found += [_render(m.group(0), item, sample) for m in _ITEM_TEMPLATE.finditer(text)]
    return found


class _Run:
    def __init__(self, item: dict[str, Any], sample: str) -> None:
        self.item = item
        self.sample = sample
        self.errors: dict[str, Any] = dict.fromkeys(ERROR_FLAGS, False)
        self.errors.update(python_grader_server_error_type=None, python_grader_runtime_error_details=None,
                           model_grader_server_error_details=None)
        self.usage: dict[str, dict[str, int]] = {}
        self.sampled_model: str | None = None
        self.sub_rewards: dict[str, float] = {}

    def score(self, grader: dict[str, Any]) -> float:
        kind = grader["type"]
        if kind == "python":
            raise ApiError(400, "The sandbox does not run python graders (it never runs code it is sent).",
                           param="grader.type", code="unsupported_grader")
        if kind == "string_check":
            got = _render(grader["input"], self.item, self.sample)
            want = _render(grader["reference"], self.item, self.sample)
            checks: dict[str, Callable[[str, str], bool]] = {
                "eq": operator.eq, "ne": operator.ne, "like": lambda a, b: b in a,
                "ilike": lambda a, b: b.lower() in a.lower()}
            return 1.0 if checks[grader["operation"]](got, want) else 0.0
        if kind == "text_similarity":
            got = _render(grader["input"], self.item, self.sample)
            want = _render(grader["reference"], self.item, self.sample)
            return _similarity(grader["evaluation_metric"], got, want)
        if kind in ("score_model", "label_model"):
            return self._model(grader)
        return self._multi(grader)

    def _model(self, grader: dict[str, Any]) -> float:
        messages = _messages(grader, self.item, self.sample)
        prompt = "\n".join(m["content"] for m in messages)
        model = str(grader["model"])
        prompt_tokens = count_record({"messages": messages}, "chat", encoding_for(base_of(model)) or "o200k_base")
        counts = self.usage.setdefault(model, {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                                               "cached_tokens": 0})
        counts["prompt_tokens"] += prompt_tokens
        counts["completion_tokens"] += 1
        counts["total_tokens"] += prompt_tokens + 1
        self.sampled_model = model
        shown = _shown_item_texts(grader, self.item, self.sample)
        fraction = (max(difflib.SequenceMatcher(None, self.sample, text, autojunk=False).ratio() for text in shown)
                    if shown else _fraction(model, prompt, self.sample))
        if grader["type"] == "label_model":
            labels = grader["labels"]
            label = labels[int(fraction * len(labels))]
            return 1.0 if label in grader["passing_labels"] else 0.0
        low, high = grader.get("range") or [0, 1]
        return float(low + (high - low) * fraction)

    def _multi(self, grader: dict[str, Any]) -> float:
        graders = grader["graders"]
        named = {str(graders["name"]): graders} if "type" in graders else graders
        scores: dict[str, float] = {}
        for key, sub in named.items():
            scores[key] = self.score(sub)
            scores.setdefault(str(sub["name"]), scores[key])
        self.sub_rewards = dict(scores)
        try:
            return _formula(grader["calculate_output"], scores)
        except (ValueError, SyntaxError, ZeroDivisionError, OverflowError):
            self.errors["formula_parse_error"] = True
            return 0.0


_FUNCTIONS: dict[str, Callable[..., float]] = {"min": min, "max": max, "abs": abs, "sqrt": math.sqrt,
                                               "log": math.log, "exp": math.exp, "floor": math.floor,
                                               "ceil": math.ceil}
_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow}


def _formula(text: str, names: dict[str, float]) -> float:
    """`calculate_output` evaluated over the graders' scores: arithmetic only, never Python."""
    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return float(_BINARY[type(node.op)](ev(node.left), ev(node.right)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = ev(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
                and not node.keywords and node.args):
            return float(_FUNCTIONS[node.func.id](*[ev(a) for a in node.args]))
        raise ValueError(f"not allowed in a formula: {ast.dump(node)[:60]}")

    if len(text) > 1000:
        raise ValueError("formula too long")
    return ev(ast.parse(text, mode="eval"))


def run_grader(world: World, req: Request) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict) or "grader" not in body:
        raise bad_request("Missing required parameter: 'grader'.", param="grader", code="missing_required_parameter")
    if "model_sample" not in body:
        raise bad_request("Missing required parameter: 'model_sample'.", param="model_sample",
                          code="missing_required_parameter")
    extra = sorted(set(body) - {"grader", "item", "model_sample"})
    if extra:
        raise bad_request(f"Unrecognized request argument supplied: {extra[0]}", param=extra[0],
                          code="unknown_parameter")
    grader = validate_grader(body["grader"])
    item, sample = body.get("item", {}), body["model_sample"]
    if not isinstance(item, dict):
        raise bad_request("Invalid 'item': expected an object.", param="item", code="invalid_type")
    if not isinstance(sample, str):
        raise bad_request("Invalid 'model_sample': expected a string.", param="model_sample", code="invalid_type")
    run = _Run(item, sample)
    try:
        reward = run.score(grader)
    except _Missing:
        run.errors["invalid_variable_error"] = True
        reward = 0.0
    world.bill_grader_usage(run.usage)
    scores = {grader["name"]: reward, **run.sub_rewards}
    return {
        "reward": reward,
        "metadata": {"name": grader["name"], "type": grader["type"], "errors": run.errors, "execution_time": 0.0,
                     "scores": scores, "token_usage": sum(u["total_tokens"] for u in run.usage.values()) or None,
                     "sampled_model_name": run.sampled_model},
        "sub_rewards": run.sub_rewards,
        "model_grader_token_usage_per_model": run.usage,
    }


ROUTE = ("POST", "/v1/fine_tuning/alpha/graders/run", run_grader)
