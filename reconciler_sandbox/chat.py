"""`POST /v1/chat/completions`: deterministic answers, so recordings can be compared.

A fine-tuned model answers a prompt with the assistant turn of the training example whose user turn
is closest to the prompt (it "learned" its data): a retrain on the same data answers alike,
whatever its id. A base model, and a fine-tuned prompt far from all its data, answers with words
drawn from a generator seeded by (model or training data, prompt, seed): a different model answers
measurably differently. Usage is counted as OpenAI counts chat tokens (reconciler/cost/tokens.py)
and kept per model in the world (`World.usage`), so a test can compare what was billed with what a
client estimated.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from reconciler_sandbox.errors import ApiError, bad_request

__all__ = ["Answer", "answer", "check_request", "completion_body", "model_not_found"]

WORDS = ("model", "answer", "support", "account", "order", "refund", "please", "thanks", "team", "update",
         "ticket", "shipping", "invoice", "password", "reset", "billing", "help", "review", "status", "request",
         "customer", "service", "product", "delivery", "policy", "warranty", "return", "label", "email", "link",
         "minutes", "today", "again", "check", "settings", "profile", "payment", "card", "plan", "upgrade")
MAX_EXAMPLES = 5000          # a fine-tune's answers are looked up in at most this many examples
_WORD = re.compile(r"[a-z0-9]+")


def model_not_found(model: str) -> ApiError:
    # the real body: openai/openai-agents-python#458, rd-1-2022/ai-openai-helloworld#9 (docs/SANDBOX.md)
    return ApiError(404, f"The model `{model}` does not exist or you do not have access to it.",
                    code="model_not_found")


def check_request(body: Any) -> tuple[str, list[dict[str, Any]], int | None, int | None, float]:
    """(model, messages, seed, max completion tokens, temperature) of a valid request; 400 otherwise."""
    if not isinstance(body, dict):
        raise bad_request("Invalid type for request body: expected an object.", code="invalid_type")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("you must provide a model parameter", code=None)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("Missing required parameter: 'messages'.", param="messages",
                          code="missing_required_parameter")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "developer", "user", "assistant",
                                                                         "tool", "function"):
            raise bad_request(f"Invalid value for 'messages[{i}].role'.", param=f"messages[{i}].role",
                              code="invalid_value")
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise bad_request("Invalid type for 'seed': expected an integer.", param="seed", code="invalid_type")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise bad_request("Invalid 'max_completion_tokens': expected a positive integer.",
                          param="max_completion_tokens", code="invalid_value")
    temperature = body.get("temperature", 1)
    if not isinstance(temperature, int | float) or isinstance(temperature, bool) or not 0 <= temperature <= 2:
        raise bad_request("Invalid 'temperature': expected a number from 0 to 2.", param="temperature",
                          code="invalid_value")
    return model, messages, seed, limit, float(temperature)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: the text ones
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def prompt_of(messages: list[dict[str, Any]]) -> str:
    """The last user turn: what a recording keys its answers by."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _generated(key: str, prompt: str, seed: int | None) -> str:
    digest = hashlib.sha256(json.dumps([key, prompt, seed]).encode()).digest()
    rng = random.Random(digest)
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 24))]
    return " ".join(words).capitalize() + "."


def learned_pairs(lines: Iterable[bytes]) -> list[tuple[set[str], str]]:
    """(words of the last user turn, the assistant answer) of each chat or preference example."""
    pairs: list[tuple[set[str], str]] = []
    for raw in lines:
        if len(pairs) >= MAX_EXAMPLES:
            break
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        messages = record.get("messages")
        if messages is None and isinstance(record.get("input"), dict):
            # a preference (DPO) example: the input, then the preferred output
            preferred = record.get("preferred_output")
            messages = list(record["input"].get("messages") or []) + (preferred if isinstance(preferred, list) else [])
        if not isinstance(messages, list):
            continue
        answer_text = next((_text(m.get("content")) for m in reversed(messages)
                            if isinstance(m, dict) and m.get("role") == "assistant"), "")
        user = prompt_of([m for m in messages if isinstance(m, dict)])
        if answer_text and user:
            pairs.append((_words(user), answer_text))
    return pairs


class Answer:
    """The text a model answers and the reason it stopped."""

    def __init__(self, text: str, finish_reason: str) -> None:
        self.text = text
        self.finish_reason = finish_reason


def answer(model_key: str, messages: list[dict[str, Any]], seed: int | None,
           learned: Callable[[], list[tuple[set[str], str]]] | None) -> str:
    """The deterministic answer of a model (`learned`: its training pairs, for a fine-tune)."""
    prompt = prompt_of(messages)
    if learned is not None:
        words = _words(prompt)
        best: tuple[float, str] | None = None
        for user_words, reply in learned():
            union = words | user_words
            score = len(words & user_words) / len(union) if union else 0.0
            if best is None or score > best[0]:
                best = (score, reply)
        if best is not None and best[0] >= 0.5:
            return best[1]
        return _generated(model_key, prompt, None)
    return _generated(model_key, prompt, seed)


def truncate(text: str, limit: int | None, count: Callable[[str], int]) -> Answer:
    """`text` cut to at most `limit` tokens at a word boundary (finish_reason `length` when cut)."""
    if limit is None or count(text) <= limit:
        return Answer(text, "stop")
    words = text.split(" ")
    while words and count(" ".join(words)) > limit:
        words.pop()
    return Answer(" ".join(words), "length")


def completion_body(completion_id: str, created: int, model: str, reply: Answer, usage: Mapping[str, int],
                    fingerprint: str) -> dict[str, Any]:
    return {
        "id": completion_id, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "finish_reason": reply.finish_reason, "logprobs": None,
                     "message": {"role": "assistant", "content": reply.text, "refusal": None,
                                 "annotations": []}}],
        "usage": {"prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"],
                  "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"],
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0,
                                                "rejected_prediction_tokens": 0}},
        "service_tier": "default", "system_fingerprint": fingerprint,
    }
