"""The `kind: Evaluation` document:

    kind: Evaluation
    name: switch
    spec:
      recording: ../recordings/FineTuningJob.support_bot      # what `reconciler record` wrote for it
      target: ${FineTuningJob.support_bot_v2.fine_tuned_model} # or a model id
      grader: {type: text_similarity, evaluation_metric: fuzzy_match}   # or a score_model grader
      threshold: 0.9

Checked when the specs load: every problem is one line naming file, line and field. A reference
in `target` must name a declared document (checked once every document is read)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.config.documents import display_path
from reconciler.config.positions import line_finder
from reconciler.config.refs import Ref, is_reference, parse_ref, scan
from reconciler.config.schema import describe, suggest
from reconciler.errors import SpecError
from reconciler.kinds.evaluation.grading import check_score_model, grader_from_definition, parse_grader
from reconciler.kinds.evaluation.schema import (
    DEFAULT_GRADER,
    DEFAULT_THRESHOLD,
    EVALUATION_KIND,
    GRADER_TYPES,
    MODEL_GRADER,
    NAME,
    STRING_CHECK_OPERATIONS,
    TEXT_SIMILARITY_METRICS,
)

__all__ = ["Evaluation", "check_evaluation_document", "grader_label"]

_TOP = ("kind", "name", "spec")
_SPEC = ("recording", "target", "grader", "threshold")
_GRADER = ("type", "name", "evaluation_metric", "operation")
_PLATFORM_ONLY = ("cosine", "gleu", "meteor")


@dataclass(frozen=True)
class Evaluation:
    name: str
    recording: Path                 # the folder of one recorded model (DIR/<address>), resolved
    target: str                     # a model id, or one reference as written
    target_ref: tuple[str, str] | None   # (address, attribute) when target is a reference
    grader: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_GRADER))
    threshold: float = DEFAULT_THRESHOLD
    file: str = ""
    line: int = 0
    target_line: int = 0           # where spec.target is written (for the reference check's message)

    @property
    def address(self) -> str:
        return f"{EVALUATION_KIND}.{self.name}"

    @property
    def grader_text(self) -> str:
        """The grader as `compare --grader` spells it (a local one) or labels it (a model grader)."""
        return grader_label(self.grader, sep=":")

    def scorer(self) -> Any:
        """The grader to compare with (reconciler.kinds.evaluation.grading.Grader)."""
        if self.grader.get("type") != MODEL_GRADER:
            return parse_grader(self.grader_text)
        grader = grader_from_definition(self.grader, lambda where, message: None)
        assert grader is not None   # checked when the document loaded
        return grader


def grader_label(grader: Mapping[str, Any], sep: str = " ") -> str:
    detail = grader.get("evaluation_metric") or grader.get("operation") or grader.get("model")
    return f"{grader.get('type')}{sep}{detail}"


def _grader(value: Any, error: Callable[[tuple[str | int, ...], str], None]) -> dict[str, Any] | None:
    if value is None:
        return dict(DEFAULT_GRADER)
    if isinstance(value, Mapping) and value.get("type") == MODEL_GRADER:
        return check_score_model(value, lambda where, message: error(("spec", "grader", *where), message))
    if not isinstance(value, Mapping):
        error(("spec", "grader"), f"expected a mapping like {{type: text_similarity, evaluation_metric: "
              f"fuzzy_match}}, got {describe(value)}")
        return None
    ok = True
    for key in value:
        if key not in _GRADER:
            error(("spec", "grader", str(key)), f"unknown field {key!r}{suggest(str(key), _GRADER)}")
            ok = False
    type_ = value.get("type")
    if type_ not in GRADER_TYPES:
        hint = suggest(type_, GRADER_TYPES) if isinstance(type_, str) else ""
        error(("spec", "grader", "type"), f"unknown grader type {describe(type_)}{hint}; an Evaluation grades "
              f"with {', '.join(GRADER_TYPES)}")
        return None
    if type_ == "text_similarity":
        return _text_similarity(value, error, ok)
    return _string_check(value, error, ok)


def _text_similarity(value: Mapping[str, Any], error: Callable[[tuple[str | int, ...], str], None],
                     ok: bool) -> dict[str, Any] | None:
    metric = value.get("evaluation_metric", "fuzzy_match")
    if metric in _PLATFORM_ONLY:
        error(("spec", "grader", "evaluation_metric"), f"{metric} is computed only by the platform, and an "
              f"Evaluation grades text_similarity locally; local metrics: {', '.join(TEXT_SIMILARITY_METRICS)}")
        return None
    if metric not in TEXT_SIMILARITY_METRICS:
        hint = suggest(metric, TEXT_SIMILARITY_METRICS) if isinstance(metric, str) else ""
        error(("spec", "grader", "evaluation_metric"), f"unknown metric {describe(metric)}{hint}; expected one "
              f"of {', '.join(TEXT_SIMILARITY_METRICS)}")
        return None
    if "operation" in value:
        error(("spec", "grader", "operation"), "a text_similarity grader has no operation")
        return None
    return {"type": "text_similarity", "evaluation_metric": str(metric)} if ok else None


def _string_check(value: Mapping[str, Any], error: Callable[[tuple[str | int, ...], str], None],
                  ok: bool) -> dict[str, Any] | None:
    operation = value.get("operation")
    if operation not in STRING_CHECK_OPERATIONS:
        hint = suggest(operation, STRING_CHECK_OPERATIONS) if isinstance(operation, str) else ""
        error(("spec", "grader", "operation"), f"expected one of {', '.join(STRING_CHECK_OPERATIONS)}, got "
              f"{describe(operation)}{hint}")
        return None
    if "evaluation_metric" in value:
        error(("spec", "grader", "evaluation_metric"), "a string_check grader has no evaluation_metric")
        return None
    return {"type": "string_check", "operation": str(operation)} if ok else None


def _target(value: Any, error: Callable[[tuple[str | int, ...], str], None]) -> tuple[str, tuple[str, str] | None]:
    if not isinstance(value, str) or not value.strip():
        error(("spec", "target"), f"expected a model id or ${{FineTuningJob.NAME.fine_tuned_model}}, got "
              f"{describe(value)}")
        return "", None
    found = list(scan(value))
    if not found:
        return value, None
    if not is_reference(value) or len(found) != 1:
        error(("spec", "target"), f"expected a model id or one reference such as "
              f"${{FineTuningJob.NAME.fine_tuned_model}}, got {value!r}")
        return value, None
    ref = found[0][1]
    if not isinstance(ref, Ref):
        error(("spec", "target"), str(ref))
        return value, None
    if ref.is_var or len(ref.path) != 1 or "[*]" in ref.address:
        error(("spec", "target"), f"{value}: expected a reference to one object's attribute, such as "
              f"${{FineTuningJob.NAME.fine_tuned_model}}")
        return value, None
    parsed = parse_ref(value)
    return value, (parsed.address, parsed.path[0])


def _recording(value: Any, base_dir: Path, error: Callable[[tuple[str | int, ...], str], None]) -> Path | None:
    if not isinstance(value, str) or not value.strip():
        error(("spec", "recording"), f"expected the folder `reconciler record DIR` wrote for one model "
              f"(DIR/<address>), got {describe(value)}")
        return None
    folder = (base_dir / value) if not Path(value).is_absolute() else Path(value)
    if not folder.is_dir():
        error(("spec", "recording"), f"recording folder {value} does not exist (looked in {folder}); run "
              "`reconciler record DIR` first and name DIR/<address>")
        return None
    if not (folder / "recording" / "manifest.json").is_file():
        error(("spec", "recording"), f"{value} holds no recording (no recording/manifest.json): name the folder "
              "`reconciler record DIR` wrote for one model, DIR/<address>")
        return None
    return folder


def _check_spec_fields(spec: Mapping[str, Any], error: Callable[[tuple[str | int, ...], str], None]) -> None:
    """Unknown and missing spec fields, and the threshold's range."""
    for key in spec:
        if key not in _SPEC:
            error(("spec", str(key)), f"unknown field {key!r}{suggest(str(key), _SPEC)}")
    for key in ("recording", "target"):
        if key not in spec:
            error(("spec",), f"missing required field {key!r}")
    threshold = spec.get("threshold", DEFAULT_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        error(("spec", "threshold"), f"expected a number from 0 to 1 (the mean score to reach), got "
              f"{describe(threshold)}")


def check_evaluation_document(doc: Mapping[str, Any], file: str, line: int, positions: Mapping[str, int],
                              base_dir: Path) -> tuple[Evaluation | None, list[SpecError]]:
    """An Evaluation, or every problem of the document (one line each, file:line, field)."""
    line_of = line_finder(positions, line)
    name = doc.get("name")
    address = f"{EVALUATION_KIND}.{name}" if isinstance(name, str) else None
    errors: list[SpecError] = []

    def error(where: Sequence[str | int], message: str) -> None:
        errors.append(SpecError(file, line_of(where), message, address, display_path(tuple(where)) or None))

    for key in doc:
        if key not in _TOP:
            error((str(key),), f"unknown field {key!r}{suggest(str(key), _TOP)}; an Evaluation holds kind, name "
                  "and spec")
    if not isinstance(name, str) or not NAME.match(name):
        error(("name",), f"expected a name of letters, digits, _ and - (up to 64), got {describe(name)}")
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        error(("spec",), f"expected a mapping with recording, target, grader and threshold, got {describe(spec)}")
        return None, errors
    _check_spec_fields(spec, error)
    threshold = spec.get("threshold", DEFAULT_THRESHOLD)
    grader = _grader(spec.get("grader"), error)
    target, ref = _target(spec.get("target"), error) if "target" in spec else ("", None)
    recording = _recording(spec.get("recording"), base_dir, error) if "recording" in spec else None
    if errors or grader is None or recording is None:
        return None, errors
    return Evaluation(str(name), recording, target, ref, grader, float(threshold), file, line,
                      line_of(("spec", "target"))), []
