"""Where an Evaluation stands, from what is on disk and what the plan knows; nothing is asked of
a platform and nothing is paid.

    pass / fail  the last comparison kept beside the recording compared today's target, with the
                 spec's grader, against the recording as it is now; its mean score against the
                 spec's threshold (a threshold changed since is applied to the kept score)
    stale        a comparison is kept, but of another target model (the job was retrained), of
                 the recording before it changed, or with another grader
    missing      no complete recording, or never compared
    pending      the target is known only after apply (its job is created or replaced by this
                 plan, or has not finished training)

A stale or missing evaluation shows what running it would cost: the recording's prompt tokens and
at most its max_completion_tokens per prompt, at the target's inference price (unknown for a base
model: its price is not shipped), plus, with a score_model grader, at most what grading the answers
costs at the grader model's price (recording/model_grading.py `grading_bound`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ConfigError
from reconciler.kinds.deployment.plan import live_inputs
from reconciler.kinds.evaluation.document import Evaluation, grader_label
from reconciler.recording.compare import read_evaluation_result, recording_digest
from reconciler.recording.estimate import cost_bound
from reconciler.recording.model_grading import grading_bound
from reconciler.recording.store import Folder

__all__ = ["FAILING", "STATUSES", "EvaluationStatus", "evaluation_statuses", "plan_statuses", "resolve_target",
           "status_of"]

STATUSES = ("pass", "fail", "stale", "missing", "pending")
FAILING = ("fail", "stale", "missing")   # what a gate refuses: not shown to hold today


@dataclass(frozen=True)
class EvaluationStatus:
    address: str
    status: str                     # one of STATUSES
    message: str                    # one line: why
    target: str | None              # the model held against the recording, None while unknown
    recorded: str | None            # the recorded model
    threshold: float
    grader: str                     # "text_similarity fuzzy_match"
    score: float | None = None      # the mean score of the last comparison, when it still holds
    compared_at: str | None = None
    compared: str | None = None     # the model that last comparison asked
    cost: Mapping[str, Any] | None = None   # running it: {"usd_max", "reason"}; None when nothing to run

    @property
    def command(self) -> str:
        return f"reconciler compare --evaluation {self.address}"

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "status": self.status, "message": self.message, "target": self.target,
                "recorded": self.recorded, "threshold": self.threshold, "grader": self.grader,
                "score": self.score, "compared_at": self.compared_at, "compared": self.compared,
                "cost": dict(self.cost) if self.cost is not None else None,
                "command": self.command if self.status != "pending" else None}


def resolve_target(evaluation: Evaluation, attributes: Mapping[str, Mapping[str, Any]],
                   after_apply: Iterable[str] = ()) -> tuple[str | None, str | None]:
    """(the target model, None) or (None, why it is not known yet). `attributes`: what each
    address looks like now, by address; `after_apply`: addresses this plan creates or replaces."""
    if evaluation.target_ref is None:
        return evaluation.target, None
    address, attribute = evaluation.target_ref
    if address in set(after_apply):
        return None, f"{evaluation.target} is known after apply ({address} is created or replaced by this plan)"
    seen = attributes.get(address)
    if seen is None:
        return None, f"{evaluation.target} is known after apply ({address} is not applied yet)"
    value = seen.get(attribute)
    if value is None and isinstance(seen.get("properties"), Mapping):
        # a Deployment as Resource Manager answers it: its attributes (model, deployment_name, sku)
        value = live_inputs(seen).get(attribute)
    if not isinstance(value, str) or not value:
        status = seen.get("status")
        return None, f"{address} has no {attribute} yet" + (f" (status {status})" if status else "")
    return value, None


def _rerun_cost(target: str, manifest: Mapping[str, Any], grader: Mapping[str, Any]) -> dict[str, Any]:
    """Asking the target, and with a model grader grading its answers (the sum; unknown when either is)."""
    prompts = int(manifest.get("prompts") or 0)
    prompt_tokens = int((manifest.get("usage") or {}).get("prompt_tokens") or 0)
    max_tokens = int((manifest.get("sampling") or {}).get("max_completion_tokens") or 512)
    asking = cost_bound(target, prompt_tokens, prompts * max_tokens)
    if grader.get("type") != "score_model":
        return asking
    grading = grading_bound(grader, manifest)
    if asking["usd_max"] is None or grading["usd_max"] is None:
        return {"usd_max": None, "reason": asking["reason"] or f"grading: {grading['reason']}"}
    return {"usd_max": round(asking["usd_max"] + grading["usd_max"], 6), "reason": None}


def status_of(evaluation: Evaluation, target: str | None, why_unknown: str | None,
              manifest: Mapping[str, Any] | None, result: Mapping[str, Any] | None) -> EvaluationStatus:
    """Pure: the status from the resolved target, the recording's manifest and the kept result."""
    label = grader_label(evaluation.grader)
    recorded = str(manifest.get("model")) if manifest else None

    def made(status: str, message: str, **more: Any) -> EvaluationStatus:
        return EvaluationStatus(evaluation.address, status, message, target, recorded, evaluation.threshold,
                                label, **more)

    if not manifest or not manifest.get("complete"):
        return made("missing", f"no complete recording in {evaluation.recording} (run `reconciler record` "
                    "until it completes)")
    if target is None:
        return made("pending", why_unknown or "the target is not known yet")
    cost = _rerun_cost(target, manifest, evaluation.grader)
    if result is None:
        return made("missing", f"{target} was never compared with the recording of {recorded}", cost=cost)
    kept = {"compared_at": result.get("compared_at"), "compared": result.get("target")}
    if result.get("target") != target:
        return made("stale", f"the last comparison ({result.get('compared_at') or 'undated'}) asked "
                    f"{result.get('target')}; the target is now {target}", cost=cost, **kept)
    if result.get("recording_digest") != recording_digest(manifest):
        return made("stale", "the recording changed since the last comparison", cost=cost, **kept)
    if dict(result.get("grader") or {}) != dict(evaluation.grader):
        return made("stale", f"the last comparison graded with {grader_label(result.get('grader') or {})}; the "
                    f"spec says {label}", cost=cost, **kept)
    score = result.get("score")
    if not isinstance(score, (int, float)) or isinstance(score, bool) or result.get("unscored"):
        return made("fail", f"{target}: {result.get('unscored') or 'every'} prompt(s) without a score", **kept)
    if score >= evaluation.threshold:
        return made("pass", f"{target} scored {score:.3f} ≥ {evaluation.threshold:.3f}", score=float(score), **kept)
    return made("fail", f"{target} scored {score:.3f} < {evaluation.threshold:.3f}", score=float(score), **kept)


def evaluation_statuses(evaluations: Iterable[Evaluation], attributes: Mapping[str, Mapping[str, Any]],
                        after_apply: Iterable[str] = ()) -> list[EvaluationStatus]:
    """Every evaluation's status, reading each recording's manifest and kept result."""
    pending = set(after_apply)
    out = []
    for evaluation in evaluations:
        target, why = resolve_target(evaluation, attributes, pending)
        try:
            manifest = Folder(evaluation.recording / "recording").manifest()
        except ConfigError:
            manifest = None
        out.append(status_of(evaluation, target, why, manifest,
                             read_evaluation_result(evaluation.recording, evaluation.name)))
    return out


def plan_statuses(evaluations: Iterable[Evaluation], plan: Any, records: Mapping[str, Any]) -> list[EvaluationStatus]:
    """The statuses as a plan sees them: what the state recorded, overlaid with what refresh read
    (`plan.observed`); a target produced by an address this plan creates or replaces is pending."""
    attributes: dict[str, Mapping[str, Any]] = {a: r.attributes or {} for a, r in records.items()}
    attributes.update(getattr(plan, "observed", {}) or {})
    after_apply = {c.address for c in plan.changes if c.action.value in ("create", "replace")}
    return evaluation_statuses(evaluations, attributes, after_apply)
