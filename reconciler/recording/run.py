"""Send the prompts that have no answer yet, a bounded number at a time, appending each answer as it
comes (store.AnswerLog), so that an interrupted run loses at most the answers in flight."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import ApiError
from reconciler.recording.prompts import Prompt
from reconciler.recording.store import AnswerLog

__all__ = ["Outcome", "answer_line", "answer_missing", "total_usage"]

Ask = Callable[[Prompt], Mapping[str, Any]]


@dataclass
class Outcome:
    sent: int = 0
    already: int = 0
    failed: list[tuple[Prompt, str]] = field(default_factory=list)


def answer_line(prompt: Prompt, response: Mapping[str, Any]) -> dict[str, Any]:
    """What answers.jsonl keeps of one chat completion."""
    def part(container: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = container.get(key)
        return value if isinstance(value, Mapping) else {}

    choices = response.get("choices")
    choice: Mapping[str, Any] = choices[0] if isinstance(choices, list) and choices and \
        isinstance(choices[0], Mapping) else {}
    message, usage = part(choice, "message"), part(response, "usage")
    return {"prompt_id": prompt.id, "index": prompt.index, "answer": message.get("content") or "",
            "refusal": message.get("refusal"), "finish_reason": choice.get("finish_reason"),
            "model": response.get("model"), "id": response.get("id"), "created": response.get("created"),
            "system_fingerprint": response.get("system_fingerprint"),
            "usage": {"prompt_tokens": int(usage.get("prompt_tokens") or 0),
                      "completion_tokens": int(usage.get("completion_tokens") or 0)}}


def total_usage(answers: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    prompt = sum(int(a.get("usage", {}).get("prompt_tokens") or 0) for a in answers.values())
    completion = sum(int(a.get("usage", {}).get("completion_tokens") or 0) for a in answers.values())
    return {"requests": len(answers), "prompt_tokens": prompt, "completion_tokens": completion}


def answer_missing(prompts: Sequence[Prompt], log: AnswerLog, ask: Ask, *, parallelism: int,
                   done: Mapping[str, Any], on_answer: Callable[[int, int], None] | None = None) -> Outcome:
    """Ask every prompt not in `done`, at most `parallelism` at a time, in prompt order.

    A prompt the API refuses on its own (400) is listed in `failed` and the rest go on; any other
    error stops sending (what was answered is kept) and is raised once the requests in flight end."""
    outcome = Outcome(already=sum(1 for p in prompts if p.id in done))
    todo = [p for p in prompts if p.id not in done]
    total = len(prompts)
    stop = threading.Event()
    progress = threading.Lock()
    answered = outcome.already

    def one(prompt: Prompt) -> None:
        nonlocal answered
        if stop.is_set():
            return
        try:
            response = ask(prompt)
        except ApiError as exc:
            if exc.status == 400:
                with progress:
                    outcome.failed.append((prompt, str(exc)))
                return
            stop.set()
            raise
        log.append(answer_line(prompt, response))
        with progress:
            outcome.sent += 1
            answered += 1
            if on_answer is not None:
                on_answer(answered, total)

    run_bounded(todo, one, parallelism, stop, name="reconciler-record")
    outcome.failed.sort(key=lambda item: item[0].index)
    return outcome


def run_bounded(todo: Sequence[Prompt], one: Callable[[Prompt], None], parallelism: int,
                stop: threading.Event, *, name: str) -> None:
    """`one(prompt)` for each prompt, at most `parallelism` at a time (threads named `name`), until
    `stop` is set; the first error any raised is raised once all have ended."""
    first_error: BaseException | None = None
    pending: set[Future[None]] = set()
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix=name) as pool:
        try:
            for prompt in todo:
                if stop.is_set():
                    break
                while len(pending) >= max(1, parallelism):
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    first_error = first_error or next((f.exception() for f in finished if f.exception()), None)
                pending.add(pool.submit(one, prompt))
        except BaseException:
            stop.set()  # Ctrl-C: send nothing more; the answers in flight are still written
            raise
        finally:
            finished, _ = wait(pending)
            first_error = first_error or next((f.exception() for f in finished if f.exception()), None)
    if first_error is not None:
        raise first_error
