"""The graders a comparison scores answers with, run locally, and the score summary.

The spec language's grader types (FineTuningJob's reinforcement graders) are reused: string_check
(eq, ne, like, ilike: 1.0 or 0.0) and text_similarity with the metrics computed here. OpenAI does
not publish how its graders compute these metrics, so a local score can differ slightly from the
platform's own: fuzzy_match is the similarity ratio of the normalised texts (difflib's
SequenceMatcher: 2·matches / total length), bleu a sentence BLEU-4 with add-one smoothing of the
higher orders, rouge_N / rouge_l the F1 of shared N-grams / of the longest common subsequence of
words. cosine, gleu, meteor and model graders need the platform and are refused here."""

from __future__ import annotations

import difflib
import functools
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ConfigError

__all__ = ["GRADERS", "Grader", "parse_grader", "summarise"]

_WORD = re.compile(r"\w+", re.UNICODE)
LOCAL_METRICS = ("fuzzy_match", "bleu", "rouge_1", "rouge_2", "rouge_3", "rouge_4", "rouge_5", "rouge_l")
REMOTE_ONLY = ("cosine", "gleu", "meteor")


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def fuzzy_match(answer: str, reference: str) -> float:
    a, b = _norm(answer), _norm(reference)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _ngrams(words: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def _f1(overlap: int, got: int, want: int) -> float:
    if got == 0 or want == 0 or overlap == 0:
        return 0.0
    precision, recall = overlap / got, overlap / want
    return 2 * precision * recall / (precision + recall)


def rouge_n(answer: str, reference: str, n: int) -> float:
    a, r = _ngrams(_words(answer), n), _ngrams(_words(reference), n)
    if not a and not r:
        return 1.0
    return _f1(sum((a & r).values()), sum(a.values()), sum(r.values()))


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(answer: str, reference: str) -> float:
    a, r = _words(answer), _words(reference)
    if not a and not r:
        return 1.0
    return _f1(_lcs(a, r), len(a), len(r))


def bleu(answer: str, reference: str) -> float:
    a, r = _words(answer), _words(reference)
    if not a or not r:
        return 1.0 if a == r else 0.0
    logs = []
    for n in range(1, 5):
        got = _ngrams(a, n)
        overlap = sum((got & _ngrams(r, n)).values())
        total = sum(got.values())
        if n == 1:
            if overlap == 0:
                return 0.0
            logs.append(math.log(overlap / total))
        else:
            logs.append(math.log((overlap + 1) / (total + 1)))
    brevity = 1.0 if len(a) > len(r) else math.exp(1 - len(r) / len(a))
    return brevity * math.exp(sum(logs) / 4)


def _string_check(operation: str) -> Callable[[str, str], float]:
    checks: dict[str, Callable[[str, str], bool]] = {
        "eq": lambda a, r: a == r,
        "ne": lambda a, r: a != r,
        "like": lambda a, r: r in a,
        "ilike": lambda a, r: r.lower() in a.lower(),
    }
    check = checks[operation]
    return lambda a, r: 1.0 if check(a, r) else 0.0


_METRICS: dict[str, Callable[[str, str], float]] = {
    "fuzzy_match": fuzzy_match, "bleu": bleu, "rouge_l": rouge_l,
    **{f"rouge_{n}": functools.partial(lambda a, r, n: rouge_n(a, r, n), n=n) for n in range(1, 6)},
}


@dataclass(frozen=True)
class Grader:
    """A grader definition as the specs spell it, and the function that scores with it."""

    definition: Mapping[str, Any]
    score: Callable[[str, str], float]

    @property
    def label(self) -> str:
        d = self.definition
        return f"{d['type']} ({d.get('evaluation_metric') or d.get('operation')})"


GRADERS = ("string_check:eq", "string_check:ne", "string_check:like", "string_check:ilike",
           *(f"text_similarity:{m}" for m in LOCAL_METRICS))


def parse_grader(text: str) -> Grader:
    """`text_similarity:fuzzy_match`, `string_check:eq`, or a bare metric name; ConfigError otherwise."""
    kind, _, arg = text.partition(":")
    if not arg and kind in _METRICS:
        kind, arg = "text_similarity", kind
    if kind == "string_check" and arg in ("eq", "ne", "like", "ilike"):
        return Grader({"type": "string_check", "name": "compare", "operation": arg,
                       "input": "{{sample.output_text}}", "reference": "{{item.reference}}"}, _string_check(arg))
    if kind == "text_similarity" and arg in _METRICS:
        return Grader({"type": "text_similarity", "name": "compare", "evaluation_metric": arg,
                       "input": "{{sample.output_text}}", "reference": "{{item.reference}}"}, _METRICS[arg])
    if kind == "text_similarity" and arg in REMOTE_ONLY:
        raise ConfigError(f"--grader {text}: {arg} needs the platform's graders (graders/run), which this version "
                          f"does not call; local metrics: {', '.join(LOCAL_METRICS)}")
    raise ConfigError(f"--grader {text}: expected one of {', '.join(GRADERS)}")


def summarise(scores: Sequence[float], threshold: float) -> dict[str, Any]:
    """Mean, spread and a ten-bucket histogram; `passed` when the mean reaches the threshold."""
    if not scores:
        return {"count": 0, "mean": None, "min": None, "p10": None, "median": None, "max": None,
                "histogram": [0] * 10, "threshold": threshold, "passed": False}
    ordered = sorted(scores)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]

    histogram = [0] * 10
    for s in ordered:
        histogram[min(9, int(s * 10))] += 1
    mean = statistics.fmean(ordered)
    return {"count": len(ordered), "mean": round(mean, 6), "min": round(ordered[0], 6), "p10": round(pct(0.1), 6),
            "median": round(statistics.median(ordered), 6), "max": round(ordered[-1], 6), "histogram": histogram,
            "threshold": threshold, "passed": mean >= threshold}
