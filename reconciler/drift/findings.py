"""Turn a refresh + plan into a drift report: one Finding per thing a human should know.

Axes:
- drift:  changed outside reconciler, gone, unmanaged jobs and grants, and spec changes not yet
          applied (out of sync). Any of these (not ignored) makes the report "drifted" (exit 2).
- health: failed or cancelled jobs, jobs past cancel_after_timeout, pending permissions, fine-tuned
          models within warn_days of their serving end (serving_ends) or past it (model_gone),
          evaluations (`kind: Evaluation`) not shown to hold: evaluation_failed, evaluation_stale,
          evaluation_missing.
          Reported on their own, so a drift status never hides a failed run, and they never count
          as drift.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler import __version__
from reconciler.config.providers import document_platforms
from reconciler.display import fmt, plain
from reconciler.drift.ignore import IgnoreRules
from reconciler.kinds import registry
from reconciler.lifecycle.dates import managed_model_ends
from reconciler.plan.finding import DRIFT, HEALTH, Finding
from reconciler.plan.model import Action, Plan

__all__ = ["DRIFT", "FORMAT_VERSION", "HEALTH", "DriftReport", "Finding", "build_report"]

FORMAT_VERSION = "1.3"  # 1.1: an optional `spend` object (render/drift.py); 1.2: `models`; 1.3: spend `usd` null
# when no figure is known and `complete`, evaluation_* health categories

# Health findings that turn `drift --fail-on health` red: a run that failed or overran, and a
# managed model about to stop answering (or already gone) with its base.
FAILING_HEALTH = ("failed", "timed_out", "serving_ends", "model_gone", "evaluation_failed", "evaluation_stale",
                  "evaluation_missing")
_EVALUATION_CATEGORY = {"fail": "evaluation_failed", "stale": "evaluation_stale", "missing": "evaluation_missing"}


@dataclass
class DriftReport:
    findings: list[Finding]
    checked: int
    generated_at: float = field(default_factory=time.time)
    spec_dir: str = ""
    state_file: str = ""
    selector: dict[str, str] = field(default_factory=dict)
    addresses: list[str] = field(default_factory=list)   # every managed or declared address checked
    # every managed fine-tuned model with its serving end: {address, model, base, platform,
    # serving_ends, days_left, source}, soonest first (reconciler/lifecycle/)
    models: list[dict[str, Any]] = field(default_factory=list)

    def active(self, axis: str | None = None) -> list[Finding]:
        return [f for f in self.findings if not f.ignored and (axis is None or f.axis == axis)]

    @property
    def has_drift(self) -> bool:
        return any(f.category != "out_of_sync" for f in self.active(DRIFT))

    @property
    def has_changes(self) -> bool:
        return any(f.category == "out_of_sync" for f in self.active(DRIFT))

    @property
    def has_errors(self) -> bool:
        return any(f.category in FAILING_HEALTH for f in self.active(HEALTH))

    @property
    def in_sync(self) -> bool:
        return not self.has_drift and not self.has_changes

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.findings:
            key = "ignored" if f.ignored else f.category
            counts[key] = counts.get(key, 0) + 1
        return counts

    def drifted_addresses(self) -> list[str]:
        return sorted({f.address for f in self.active(DRIFT)})

    def summary_line(self) -> str:
        drift = self.active(DRIFT)
        health = self.active(HEALTH)
        ignored = [f for f in self.findings if f.ignored]
        head = "IN SYNC" if self.in_sync else "DRIFTED"
        parts = []
        if drift:
            by: dict[str, int] = {}
            for f in drift:
                by[f.category] = by.get(f.category, 0) + 1
            detail = ", ".join(f"{n} {c.replace('_', ' ')}" for c, n in sorted(by.items()))
            parts.append(f"{len(self.drifted_addresses())} address(es) drifted ({detail})")
        else:
            parts.append("no drift")
        if health:
            by = {}
            for f in health:
                by[f.category] = by.get(f.category, 0) + 1
            parts.append("health: " + ", ".join(f"{n} {c.replace('_', ' ')}" for c, n in sorted(by.items())))
        else:
            parts.append("health: ok")
        if ignored:
            parts.append(f"{len(ignored)} ignored")
        return f"{head}: " + "; ".join(parts) + f" ({self.checked} managed objects checked)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "reconciler_version": __version__,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.generated_at)),
            "spec_dir": self.spec_dir,
            "state_file": self.state_file,
            "summary": self.summary_line(),
            "in_sync": self.in_sync,
            "has_drift": self.has_drift,
            "has_changes": self.has_changes,
            "has_errors": self.has_errors,
            "checked": self.checked,
            "counts": self.counts(),
            "selector": self.selector,
            "findings": [f.to_dict() for f in self.findings],
            "models": self.models,
        }


def _from_plan(plan: Plan) -> Iterable[Finding]:
    for d in plan.drift:
        if d.what == "adopted":
            continue
        attribute = "status" if d.what.endswith("_outside") else \
            (f"grant[{d.after or d.before}]" if d.what.startswith("grant_") else "*")
        yield Finding(d.address, d.kind, DRIFT, d.what, d.message, attribute, d.before, d.after)
    for h in plan.health:
        yield Finding(h.address, h.kind, HEALTH, h.status, h.message, "status",
                      after=(h.error or {}).get("message") if h.error else None)
    for c in plan.changes:
        if c.action is Action.PENDING:
            yield Finding(c.address, c.kind, HEALTH, "pending", f"pending: {c.pending}", "*")
        elif c.action.is_change():
            reason = "; ".join(c.reasons) if c.reasons else c.action.value
            if not c.attrs:
                yield Finding(c.address, c.kind, DRIFT, "out_of_sync", f"{c.action.value}: {reason}", "*")
            for a in c.attrs:  # one finding per attribute, so ignore rules can pick them
                yield Finding(c.address, c.kind, DRIFT, "out_of_sync",
                              f"{c.action.value}: {a.path}: {fmt(a.before)} → {fmt(a.after)}", a.path,
                              plain(a.before), plain(a.after))


# When one change made outside reconciler shows up under several categories for the same address
# and attribute (a grant made by hand: grant_added from the state, unmanaged_grant because no spec
# lists it, out_of_sync because an exclusive permission's next apply revokes it), the report keeps
# one finding: what happened, with what the others add as a note.
_RANK = {"out_of_sync": 2, "unmanaged_job": 1, "unmanaged_grant": 1}   # else 0: what happened outside
_NOTES = {"out_of_sync": "the next apply reverts it", "unmanaged_grant": "no spec lists it",
          "unmanaged_job": "no spec manages it"}


def one_per_change(findings: Iterable[Finding]) -> list[Finding]:
    """Merge the drift findings of one (address, attribute) into one, in first-seen order; each
    returned finding lists in `merged` the categories it stands for (its own first)."""
    out: list[Finding] = []
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.axis != DRIFT or f.attribute == "*":
            out.append(f)
            continue
        group = groups.setdefault((f.address, f.attribute), [])
        if not group:
            out.append(f)  # a placeholder for the group's position
        group.append(f)
    merged: list[Finding] = []
    for f in out:
        found = groups.get((f.address, f.attribute)) if f.axis == DRIFT and f.attribute != "*" else None
        if not found or len(found) == 1:
            merged.append(f)
            continue
        group = found
        first = min(group, key=lambda g: _RANK.get(g.category, 0))
        notes = [_NOTES[g.category] for g in sorted(group, key=lambda g: _RANK.get(g.category, 0))
                 if g is not first and g.category in _NOTES and _NOTES[g.category] not in first.message]
        merged.append(replace(first, message="; ".join([first.message, *dict.fromkeys(notes)]),
                              merged=tuple(dict.fromkeys([first.category, *(g.category for g in group)]))))
    return merged


def build_report(plan: Plan, snapshot: Any, specs: Any, state: Any, *, rules: IgnoreRules | None = None,
                 selector: dict[str, str] | None = None, include_finished: bool = False,
                 spec_dir: str = "", state_file: str = "", evaluations: Iterable[Any] = ()) -> DriftReport:
    """`evaluations`: the statuses of the `kind: Evaluation` documents (recording/status.py);
    those that do not hold today are health findings."""
    findings = list(_from_plan(plan))
    findings += _from_evaluations(evaluations)

    for kind in registry.resource_types():
        findings += kind.unmanaged(plan, snapshot, specs, state, selector or {}, include_finished)
    findings = one_per_change(findings)
    rules = rules or IgnoreRules()
    decided = []
    for f in findings:
        rule = next((r for r in (rules.decide(f.address, f.attribute, c) for c in f.merged or (f.category,))
                     if r is not None), None)
        decided.append(replace(f, ignored=True, ignore_reason=rule.reason, ignore_rule=rule.where()) if rule else f)
    decided.sort(key=lambda f: (f.ignored, f.axis != DRIFT, f.address, f.category, f.attribute))
    addresses = sorted({c.address for c in plan.changes if not c.address.startswith("data.")})
    return DriftReport(decided, len(addresses), spec_dir=spec_dir, state_file=state_file,
                       selector=dict(selector or {}), addresses=addresses, models=_models(plan, snapshot, specs))


def _from_evaluations(statuses: Iterable[Any]) -> Iterable[Finding]:
    for s in statuses:
        category = _EVALUATION_CATEGORY.get(s.status)
        if category is None:
            continue
        yield Finding(s.address, "Evaluation", HEALTH, category, f"{s.status}: {s.message}", "score",
                      before=s.threshold, after=s.score)


def _models(plan: Plan, snapshot: Any, specs: Any) -> list[dict[str, Any]]:
    """Every managed fine-tuned model (as refresh read it) with its serving end, counted from the
    API's clock when the snapshot has it."""
    settings = getattr(specs, "settings", None)
    if settings is None:
        return []
    now = getattr(snapshot, "server_time", None) or plan.created_at or time.time()
    ends = managed_model_ends(plan.observed, settings.lifecycle.dates(), now, getattr(snapshot, "models", None),
                              platform_of=document_platforms(specs) if hasattr(specs, "documents") else None)
    return [{"address": address, **end.to_dict()} for address, end in ends]
