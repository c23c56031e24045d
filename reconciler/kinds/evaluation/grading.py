"""The graders a comparison scores answers with, run locally, and the score summary.

The spec language's grader types (FineTuningJob's reinforcement graders) are reused: string_check
(eq, ne, like, ilike: 1.0 or 0.0) and text_similarity with the metrics computed here. OpenAI does
not publish how its graders compute these metrics, so a local score can differ slightly from the
platform's own: fuzzy_match is the similarity ratio of the normalised texts (difflib's
SequenceMatcher: 2·matches / total length), bleu a sentence BLEU-4 with add-one smoothing of the
higher orders, rouge_N / rouge_l the F1 of shared N-grams / of the longest common subsequence of
words. A score_model grader is the platform's (graders/run, recording/model_grading.py): it is
checked here, as the specs spell it, and shown the prompt and the recorded answer as
`{{item.prompt}}` / `{{item.reference}}` and the new answer as `{{sample.output_text}}`. cosine,
gleu and meteor are refused: compare sends a text_similarity grader nowhere."""

from __future__ import annotations

import difflib
import functools
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.config.documents import display_path
from reconciler.config.schema import describe
from reconciler.errors import ConfigError, SpecError

__all__ = ["GRADERS", "ITEM_FIELDS", "MODEL_GRADER", "Grader", "check_score_model", "grader_from_definition",
           "load_grader_file", "parse_grader", "summarise"]

MODEL_GRADER = "score_model"
ITEM_FIELDS = ("prompt", "reference")   # what a comparison gives a model grader as {{item.X}}
_SCORE_MODEL_FIELDS = ("type", "name", "model", "input", "range", "sampling_params")
_SAMPLING = ("seed", "top_p", "temperature", "max_completions_tokens", "reasoning_effort")
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
_ROLES = ("user", "assistant", "system", "developer")
_LOCAL_FIELDS = ("type", "name", "evaluation_metric", "operation")
_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_\-]+)*)\s*\}\}")
Problem = Callable[[tuple[str | int, ...], str], None]

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
    """A grader definition as the specs spell it, and the function that scores with it locally
    (None: the platform grades, through graders/run)."""

    definition: Mapping[str, Any]
    score: Callable[[str, str], float] | None = None

    @property
    def remote(self) -> bool:
        return self.score is None

    @property
    def label(self) -> str:
        d = self.definition
        return f"{d['type']} ({d.get('evaluation_metric') or d.get('operation') or d.get('model')})"


GRADERS = ("string_check:eq", "string_check:ne", "string_check:like", "string_check:ilike",
           *(f"text_similarity:{m}" for m in LOCAL_METRICS))


def _number(value: Any, *, whole: bool = False) -> bool:
    return not isinstance(value, bool) and isinstance(value, int if whole else (int, float))


def _describe(value: Any) -> str:
    return describe(value)


def _check_templates(text: str, where: tuple[str | int, ...], error: Problem) -> int:
    """Every `{{...}}` of a grader message names what a comparison gives it; how many show the answer."""
    shown = 0
    for match in _TEMPLATE.finditer(text):
        root, path = match.group(1), [p for p in match.group(2).split(".") if p]
        if root == "sample" and path == ["output_text"]:
            shown += 1
        elif root == "item" and len(path) == 1 and path[0] in ITEM_FIELDS:
            continue
        else:
            error(where, f"{match.group(0)}: a comparison gives a grader {{{{sample.output_text}}}} (the new "
                  f"answer), {{{{item.reference}}}} (the recorded answer) and {{{{item.prompt}}}} (the prompt)")
    return shown


def _part_text(part: Any) -> str | None:
    """A message content part's text, or None if it is not text."""
    if isinstance(part, Mapping) and part.get("type") in ("input_text", "output_text") \
            and isinstance(part.get("text"), str):
        return str(part["text"])
    if isinstance(part, str):
        return part
    return None


def _check_message(i: int, message: Any, error: Problem) -> tuple[bool, int]:
    """Whether message `i` is well formed, and how many templates in it show the new answer."""
    if not isinstance(message, Mapping):
        error(("input", i), f"expected a message {{role, content}}, got {_describe(message)}")
        return False, 0
    ok = True
    for key in message:
        if key not in ("role", "content", "type"):
            error(("input", i, str(key)), f"unknown field {key!r}; a message holds role, content and type")
            ok = False
    if message.get("role") not in _ROLES:
        error(("input", i, "role"), f"expected one of {', '.join(_ROLES)}, got {_describe(message.get('role'))}")
        ok = False
    if message.get("type", "message") != "message":
        error(("input", i, "type"), f"expected message, got {_describe(message.get('type'))}")
        ok = False
    content = message.get("content")
    parts = content if isinstance(content, list) else [content]
    shown = 0
    for j, part in enumerate(parts):
        where: tuple[str | int, ...] = ("input", i, "content") + ((j,) if isinstance(content, list) else ())
        text = _part_text(part)
        if text is None:
            error(where, f"expected text (or {{type: input_text, text}}), got {_describe(part)}")
            ok = False
            continue
        shown += _check_templates(text, where, error)
    return ok, shown


def _check_messages(value: Any, report: Problem) -> list[dict[str, Any]] | None:
    problems = []

    def error(where: tuple[str | int, ...], message: str) -> None:
        problems.append(where)
        report(where, message)

    if not isinstance(value, list) or not value:
        error(("input",), f"expected a non-empty list of messages {{role, content}}, got {_describe(value)}")
        return None
    shown, ok = 0, True
    for i, message in enumerate(value):
        message_ok, message_shows = _check_message(i, message, error)
        ok = ok and message_ok
        shown += message_shows
    if ok and not problems and not shown:
        error(("input",), "no message shows the new answer: write {{sample.output_text}} where the grader reads it")
        return None
    return [dict(m) for m in value] if ok and not problems else None


def _check_sampling(params: Mapping[str, Any], error: Problem) -> bool:
    """Whether each sampling parameter is known and has a valid value; each problem goes to `error`."""
    checks: dict[str, Callable[[Any], bool]] = {
        "seed": lambda v: _number(v, whole=True), "top_p": _number, "temperature": _number,
        "max_completions_tokens": lambda v: _number(v, whole=True) and v >= 1,
        "reasoning_effort": lambda v: v in _EFFORTS}
    ok = True
    for key, given in params.items():
        if key not in checks:
            error(("sampling_params", str(key)), f"unknown field {key!r}; expected one of {', '.join(_SAMPLING)}")
            ok = False
        elif given is not None and not checks[key](given):
            error(("sampling_params", str(key)), f"invalid value {_describe(given)}")
            ok = False
    return ok


def check_score_model(value: Mapping[str, Any], error: Problem) -> dict[str, Any] | None:
    """A score_model grader as the specs spell it (FineTuningJob's reinforcement grader), checked
    for what a comparison can send; every problem goes to `error(path, message)`."""
    ok = True
    for key in value:
        if key not in _SCORE_MODEL_FIELDS:
            error((str(key),), f"unknown field {key!r}; a score_model grader holds {', '.join(_SCORE_MODEL_FIELDS)}")
            ok = False
    name = value.get("name", "compare")
    if not isinstance(name, str) or not name:
        error(("name",), f"expected a name, got {_describe(name)}")
        ok = False
    model = value.get("model")
    if not isinstance(model, str) or not model.strip():
        error(("model",), f"expected the grader's model (such as gpt-4o-2024-08-06), got {_describe(model)}")
        ok = False
    messages = _check_messages(value.get("input"), error)
    out: dict[str, Any] = {"type": MODEL_GRADER, "name": name, "model": model, "input": messages}
    if "range" in value:
        rng = value["range"]
        if not (isinstance(rng, list) and len(rng) == 2 and all(_number(x) for x in rng) and rng[0] < rng[1]):
            error(("range",), f"expected [min, max] with min < max, got {_describe(rng)}")
            ok = False
        else:
            out["range"] = [rng[0], rng[1]]
    if "sampling_params" in value:
        params = value["sampling_params"]
        if not isinstance(params, Mapping):
            error(("sampling_params",), f"expected a mapping of {', '.join(_SAMPLING)}, got {_describe(params)}")
            return None
        ok = _check_sampling(params, error) and ok
        out["sampling_params"] = dict(params)
    return out if ok and messages is not None else None


def _local(kind: str, arg: str) -> Grader:
    if kind == "string_check":
        return Grader({"type": "string_check", "name": "compare", "operation": arg,
                       "input": "{{sample.output_text}}", "reference": "{{item.reference}}"}, _string_check(arg))
    return Grader({"type": "text_similarity", "name": "compare", "evaluation_metric": arg,
                   "input": "{{sample.output_text}}", "reference": "{{item.reference}}"}, _METRICS[arg])


def grader_from_definition(value: Any, error: Problem) -> Grader | None:
    """A grader from its mapping (`--grader-file`, an inline `--grader {...}`, an Evaluation's
    `grader`): string_check and text_similarity by operation / metric, or a score_model grader."""
    if not isinstance(value, Mapping):
        error((), f"expected a grader mapping such as {{type: score_model, model: …, input: […]}}, got "
              f"{_describe(value)}")
        return None
    kind = value.get("type")
    if kind == MODEL_GRADER:
        checked = check_score_model(value, error)
        return Grader(checked) if checked is not None else None
    kinds = ("string_check", "text_similarity", MODEL_GRADER)
    if kind not in kinds:
        error(("type",), f"expected one of {', '.join(kinds)}, got {_describe(kind)}")
        return None
    for key in value:
        if key not in _LOCAL_FIELDS:
            error((str(key),), f"unknown field {key!r}; a {kind} grader in a comparison holds type, "
                  + ("operation" if kind == "string_check" else "evaluation_metric") + " and name")
            return None
    if kind == "string_check":
        op = value.get("operation")
        if op not in ("eq", "ne", "like", "ilike") or "evaluation_metric" in value:
            error(("operation",), f"expected one of eq, ne, like, ilike, got {_describe(op)}")
            return None
        return _local(kind, str(op))
    metric = value.get("evaluation_metric", "fuzzy_match")
    if metric not in _METRICS or "operation" in value:
        more = " (it is computed only by the platform, and compare grades text_similarity locally)" \
            if metric in REMOTE_ONLY else ""
        error(("evaluation_metric",), f"expected one of {', '.join(LOCAL_METRICS)}, got {_describe(metric)}{more}")
        return None
    return _local(kind, str(metric))


def _first(errors: list[SpecError]) -> ConfigError:
    """The first problem, as one line: file:line: field: message."""
    return ConfigError(str(errors[0]))


def load_grader_file(path: Path, display: str) -> Grader:
    """The grader written in a YAML or JSON file (one mapping); a problem is one line naming the
    file, the line and the field (ConfigError)."""
    from reconciler.config.yamlpos import line_finder, load_file  # lazy: start-up (the YAML parser)

    if not path.is_file():
        raise ConfigError(f"--grader-file {display}: no such file")
    documents, errors = load_file(path, display)
    if errors:
        raise _first(errors)
    if len(documents) != 1:
        raise _first([SpecError(display, None, f"expected one grader mapping, found {len(documents)} documents")])
    doc = documents[0]
    line_of = line_finder(doc.positions, doc.line)
    found: list[SpecError] = []

    def error(where: tuple[str | int, ...], message: str) -> None:
        found.append(SpecError(display, line_of(where), message, None, display_path(where) or None))

    grader = grader_from_definition(doc.value, error)
    if found or grader is None:
        raise _first(found or [SpecError(display, doc.line, "not a grader")])
    return grader


def parse_grader(text: str) -> Grader:
    """`text_similarity:fuzzy_match`, `string_check:eq`, a bare metric name, or a grader mapping
    written inline (JSON or YAML flow, starting with `{`); ConfigError otherwise."""
    if text.lstrip().startswith("{"):
        from reconciler.config.yamlpos import load_text  # lazy: start-up (the YAML parser)

        documents, errors = load_text(text, "--grader")
        if errors or len(documents) != 1:
            raise ConfigError(f"--grader: not a JSON or YAML mapping ({errors[0].message if errors else 'empty'})")
        problems: list[str] = []
        grader = grader_from_definition(
            documents[0].value, lambda where, message: problems.append(
                f"--grader: {display_path(where) + ': ' if where else ''}{message}"))
        if problems or grader is None:
            raise ConfigError(problems[0] if problems else "--grader: not a grader")
        return grader
    kind, _, arg = text.partition(":")
    if not arg and kind in _METRICS:
        kind, arg = "text_similarity", kind
    if kind in ("string_check", "text_similarity") and arg in (("eq", "ne", "like", "ilike")
                                                              if kind == "string_check" else tuple(_METRICS)):
        return _local(kind, arg)
    if kind == "text_similarity" and arg in REMOTE_ONLY:
        raise ConfigError(f"--grader {text}: {arg} is computed only by the platform, and compare grades "
                          f"text_similarity locally; local metrics: {', '.join(LOCAL_METRICS)}")
    if kind == MODEL_GRADER:
        raise ConfigError(f"--grader {text}: a score_model grader is a mapping (model, input messages): give it "
                          "with --grader-file FILE or inline as --grader '{type: score_model, …}'")
    raise ConfigError(f"--grader {text}: expected one of {', '.join(GRADERS)}, a score_model grader mapping, "
                      "or --grader-file FILE")


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
