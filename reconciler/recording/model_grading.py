"""A comparison graded by the platform: each (recorded answer, new answer) pair sent to
`POST /v1/fine_tuning/alpha/graders/run` with a score_model grader, a bounded number at a time;
what it costs before (`grading_estimate`) and after (`billed`).

Each grade is appended to `grades-<digest>.jsonl` in the comparison folder as it arrives (the
digest is the grader's and the recording's), so a run that stops is taken up again without paying
twice for a pair already graded. A pair the API refuses (400: kept as refused, and asked again
by the next run) or whose answer raises an error flag is a row error, reported with the row and
never scored 0; any other failure stops grading
(what was graded is kept) and is raised once the calls in flight end.

The grader's prompt is its input messages with `{{item.prompt}}`, `{{item.reference}}` and
`{{sample.output_text}}` filled in, counted as the API counts a chat prompt (the cookbook's rule,
reconciler/cost/tokens.py); the platform may add instructions of its own to a model grader's
prompt, which it does not publish, so the real prompt can be longer."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from reconciler.cost.pricing import model_inference_price
from reconciler.cost.tokens import count_record, encoding_for
from reconciler.errors import ApiError
from reconciler.kinds.evaluation.grading import Grader
from reconciler.recording.prompts import Prompt
from reconciler.recording.run import run_bounded
from reconciler.recording.store import AnswerLog

__all__ = ["GradeRun", "billed", "grade_log", "grade_missing", "graded_ids", "grader_prompt_tokens", "grading_bound",
           "grading_estimate", "item_for", "last_user"]

FALLBACK_ENCODING = "o200k_base"
_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_\-]+)*)\s*\}\}")


class GraderRunner(Protocol):
    def run_grader(self, grader: dict[str, Any], item: dict[str, Any], model_sample: str) -> dict[str, Any]: ...


def last_user(messages: Any) -> str:
    """The text of a prompt's last user turn (what `{{item.prompt}}` shows the grader)."""
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def item_for(prompt: Prompt, recorded: str) -> dict[str, str]:
    return {"prompt": last_user(prompt.messages), "reference": recorded}


def _render(text: str, item: Mapping[str, str], sample: str) -> str:
    def one(m: re.Match[str]) -> str:
        root, path = m.group(1), [p for p in m.group(2).split(".") if p]
        if root == "sample":
            return sample
        return item.get(path[0], "") if path else ""

    return _TEMPLATE.sub(one, text)


def _messages(grader: Mapping[str, Any], item: Mapping[str, str], sample: str) -> list[dict[str, str]]:
    out = []
    for message in grader["input"]:
        content = message["content"]
        parts = content if isinstance(content, list) else [content]
        text = "".join(_render(p if isinstance(p, str) else str(p.get("text", "")), item, sample) for p in parts)
        out.append({"role": str(message["role"]), "content": text})
    return out


def _encoding(grader: Mapping[str, Any]) -> str:
    return encoding_for(str(grader["model"])) or FALLBACK_ENCODING


def grader_prompt_tokens(grader: Mapping[str, Any], item: Mapping[str, str], sample: str) -> int:
    """The tokens of the grader's prompt for one pair, as a chat prompt is counted."""
    return count_record({"messages": _messages(grader, item, sample)}, "chat", _encoding(grader))


def _slots(grader: Mapping[str, Any], name: str) -> int:
    """How many times the grader's input shows `sample` (the new answer), `prompt` or `reference`."""
    count = 0
    for message in grader["input"]:
        content = message["content"]
        for part in content if isinstance(content, list) else [content]:
            text = part if isinstance(part, str) else str(part.get("text", ""))
            for m in _TEMPLATE.finditer(text):
                shown = "sample" if m.group(1) == "sample" else m.group(2).lstrip(".")
                count += shown == name
    return count


def _answer_slots(grader: Mapping[str, Any]) -> int:
    return _slots(grader, "sample")


def _priced(model: str, prompt_tokens: int, completion_max: int | None) -> dict[str, Any]:
    price = model_inference_price(model)
    if price is None:
        return {"usd_max": None, "reason": f"no inference price for the grader's model {model}"}
    if completion_max is None:
        return {"usd_max": None, "reason": "the grader's answers are not bounded: set "
                "sampling_params.max_completions_tokens"}
    return {"usd_max": round((prompt_tokens * price.input + completion_max * price.output) / 1e6, 6), "reason": None}


def grading_bound(grader: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, Any]:
    """At most what grading a comparison against a recording costs, from the recording's manifest
    alone (plan reads no answers): each pair's prompt is the grader's messages with nothing filled
    in, plus the recording's prompt tokens and answer tokens wherever they are shown, plus
    max_completion_tokens (and one token of slack) wherever the new answer is."""
    prompts = int(manifest.get("prompts") or 0)
    usage = manifest.get("usage") or {}
    max_tokens = int((manifest.get("sampling") or {}).get("max_completion_tokens") or 512)
    shown_prompt, shown_reference = _slots(grader, "prompt"), _slots(grader, "reference")
    empty = grader_prompt_tokens(grader, {"prompt": "", "reference": ""}, "")
    prompt_tokens = (prompts * (empty + _answer_slots(grader) * (max_tokens + 1) + shown_prompt + shown_reference)
                     + shown_prompt * int(usage.get("prompt_tokens") or 0)
                     + shown_reference * int(usage.get("completion_tokens") or 0))
    per_answer = (grader.get("sampling_params") or {}).get("max_completions_tokens")
    return _priced(str(grader["model"]), prompt_tokens, prompts * int(per_answer) if per_answer else None)


def grade_log(folder: Path, grader: Mapping[str, Any], recording_digest: str) -> AnswerLog:
    """The grades of one grader against one recording, in the comparison folder."""
    body = json.dumps({"grader": grader, "recording": recording_digest}, sort_keys=True).encode()
    return AnswerLog(folder / f"grades-{hashlib.sha256(body).hexdigest()[:16]}.jsonl")


def _answer_key(answer: Mapping[str, Any]) -> str:
    return hashlib.sha256(str(answer.get("answer") or "").encode()).hexdigest()


def graded_ids(log: AnswerLog, answered: Mapping[str, Any]) -> set[str]:
    """The prompts whose current new answer has a grade in `log`."""
    return {pid for pid, grade in log.load().items() if pid in answered and not grade.get("refused")
            and grade.get("answer_sha256") == _answer_key(answered[pid])}


def grading_estimate(address: str, grader: Grader, prompts: Sequence[Prompt], recorded: Mapping[str, Any],
                     answered: Mapping[str, Any], graded: set[str], max_answer_tokens: int) -> dict[str, Any]:
    """What grading the pairs not graded yet costs at most. A pair whose new answer is in is counted
    exactly; one still to be asked is counted with an empty answer plus `max_answer_tokens` (and
    one token of slack) wherever the grader shows it. The grader's own answers are bounded by
    `sampling_params.max_completions_tokens`; without it the cost is unknown."""
    d = grader.definition
    model = str(d["model"])
    slots = _answer_slots(d)
    todo = [p for p in prompts if p.id in recorded and p.id not in graded]
    prompt_tokens = 0
    for p in todo:
        item = item_for(p, str(recorded[p.id].get("answer") or ""))
        mine = answered.get(p.id)
        if mine is not None:
            prompt_tokens += grader_prompt_tokens(d, item, str(mine.get("answer") or ""))
        else:
            prompt_tokens += grader_prompt_tokens(d, item, "") + slots * (max_answer_tokens + 1)
    per_answer = (d.get("sampling_params") or {}).get("max_completions_tokens")
    completion_max = len(todo) * int(per_answer) if per_answer else None
    price = model_inference_price(model)
    cost: dict[str, Any] = {"usd_max": None, "price": None, "reason": None}
    if price is None:
        cost["reason"] = f"no inference price for the grader's model {model}"
    elif completion_max is None:
        cost.update(reason="the grader's answers are not bounded: set sampling_params.max_completions_tokens",
                    usd_prompts=round(prompt_tokens * price.input / 1e6, 6), price=price.to_dict())
    else:
        cost.update(usd_max=round((prompt_tokens * price.input + completion_max * price.output) / 1e6, 6),
                    usd_prompts=round(prompt_tokens * price.input / 1e6, 6), price=price.to_dict())
    return {"address": f"{address} (grader)", "model": model, "prompts": len(todo), "prompt_tokens": prompt_tokens,
            "completion_tokens_max": completion_max, "cost": cost, "grading": True}


@dataclass
class GradeRun:
    sent: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)   # {"index", "prompt_id", "error"}


def _flag_error(answer: Mapping[str, Any]) -> str | None:
    metadata = answer.get("metadata")
    flags = metadata.get("errors") if isinstance(metadata, Mapping) else None
    if not isinstance(flags, Mapping):
        return None
    raised = sorted(k for k, v in flags.items() if v is True)
    if not raised:
        return None
    details = [str(flags[k]) for k in sorted(flags) if k.endswith("_details") and flags[k]]
    return f"the grader failed ({', '.join(raised)})" + (f": {details[0]}" if details else "")


def _score(reward: float, grader: Mapping[str, Any]) -> float:
    """The reward mapped from the grader's range onto 0..1, the scale of every comparison."""
    low, high = grader.get("range") or [0, 1]
    return min(1.0, max(0.0, (float(reward) - float(low)) / (float(high) - float(low))))


def _ask(client: GraderRunner, definition: dict[str, Any], item: Any, sample: str,
         acting: Callable[[], Any] | None) -> Mapping[str, Any]:
    if acting is not None:
        with acting():
            return client.run_grader(definition, item, sample)
    return client.run_grader(definition, item, sample)


def _refused_line(prompt: Prompt, exc: ApiError, answered: Mapping[str, Any]) -> dict[str, Any]:
    """The log line of a grade the API refused (400): kept for the report, and asked again next
    time (it was not billed)."""
    return {"prompt_id": prompt.id, "index": prompt.index, "refused": True, "reward": None,
            "score": None, "error": str(exc), "usage": {}, "answer_sha256": _answer_key(answered)}


def _grade_line(prompt: Prompt, answer: Mapping[str, Any], answered: Mapping[str, Any],
                definition: dict[str, Any]) -> dict[str, Any]:
    """The log line of one grade the API answered: its reward and score, or why it has none."""
    usage = answer.get("model_grader_token_usage_per_model")
    failed = _flag_error(answer)
    reward = answer.get("reward")
    if failed is None and (isinstance(reward, bool) or not isinstance(reward, (int, float))):
        failed = f"the grader answered no reward ({reward!r:.40})"
    return {"prompt_id": prompt.id, "index": prompt.index, "answer_sha256": _answer_key(answered),
            "reward": reward if failed is None else None,
            "score": round(_score(float(reward), definition), 6) if failed is None and reward is not None else None,
            "error": failed, "usage": usage if isinstance(usage, Mapping) else {}}


def grade_missing(prompts: Sequence[Prompt], recorded: Mapping[str, Any], answered: Mapping[str, Any],
                  grader: Grader, log: AnswerLog, client: GraderRunner, *, parallelism: int,
                  acting: Callable[[], Any] | None = None,
                  on_grade: Callable[[int, int], None] | None = None) -> GradeRun:
    """Grade every pair (recorded, new answer) that has no grade in `log` for this answer, at most
    `parallelism` at a time; each grade is appended as it arrives."""
    d = dict(grader.definition)
    have = graded_ids(log, answered)
    pairs = [p for p in prompts if p.id in recorded and p.id in answered]
    todo = [p for p in pairs if p.id not in have]
    run = GradeRun()
    stop = threading.Event()
    lock = threading.Lock()
    done = len(pairs) - len(todo)

    def one(prompt: Prompt) -> None:
        nonlocal done
        if stop.is_set():
            return
        item = item_for(prompt, str(recorded[prompt.id].get("answer") or ""))
        sample = str(answered[prompt.id].get("answer") or "")
        try:
            answer = _ask(client, d, item, sample, acting)
        except ApiError as exc:
            if exc.status == 400:
                log.append(_refused_line(prompt, exc, answered[prompt.id]))
                with lock:
                    run.errors.append({"index": prompt.index, "prompt_id": prompt.id, "error": str(exc)})
                return
            stop.set()
            raise
        log.append(_grade_line(prompt, answer, answered[prompt.id], d))
        with lock:
            run.sent += 1
            done += 1
            if on_grade is not None:
                on_grade(done, len(pairs))

    run_bounded(todo, one, parallelism, stop, name="reconciler-grade")
    run.errors.sort(key=lambda e: e["index"])
    return run


def billed(grades: Mapping[str, Mapping[str, Any]], model: str) -> dict[str, Any]:
    """The grader tokens the API reported (`model_grader_token_usage_per_model`) over every grade
    kept, and their cost at the grader model's price (`usd` None, with `reason`, when unknown)."""
    tokens = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
    for grade in grades.values():
        for counts in (grade.get("usage") or {}).values():
            if isinstance(counts, Mapping):
                tokens["requests"] += 1
                tokens["prompt_tokens"] += int(counts.get("prompt_tokens") or 0)
                tokens["completion_tokens"] += int(counts.get("completion_tokens") or 0)
    price = model_inference_price(model)
    if price is None:
        return {**tokens, "model": model, "cost": {"usd": None, "reason": f"no inference price for {model}"}}
    usd = (tokens["prompt_tokens"] * price.input + tokens["completion_tokens"] * price.output) / 1e6
    return {**tokens, "model": model, "cost": {"usd": round(usd, 6), "price": price.to_dict()}}
