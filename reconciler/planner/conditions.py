"""Lifecycle conditions in the planner (pure; Terraform's precondition / postcondition).

- A failing **precondition** (over `object`: kind, address, action, the resolved spec, the inputs
  it would send) stops the plan for that object: it is planned as nothing to do (an object that
  exists is kept as it is, never destroyed), and every document that depends on it is held back
  too. Each is reported under health with the message and the condition's file:line.
- A **postcondition** is checked against the live object (`self`: its attributes as read, e.g. a
  job's status, fine_tuned_model, trained_tokens, and `metrics`, those of its final checkpoint)
  once it is complete (nothing about it is still unknown). False: everything that depends on it is
  held back (a CheckpointPermission does not grant), reported under health, never as drift. While
  the object is not complete (a job still training, or created by this plan) its dependents are
  held back as well: a grant gated by a postcondition is made by the first apply after the job
  finished and passed, never by `apply --wait` on a job whose metrics were not checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from reconciler.expr.values import plain
from reconciler.plan.model import Action, Change, Health
from reconciler.plan.walk import Walk

__all__ = ["apply_conditions", "final_metrics"]


def final_metrics(checkpoints: list[dict[str, Any]]) -> dict[str, Any]:
    """The metrics of the checkpoint with the highest step (the final one of a finished job)."""
    best = max(checkpoints, key=lambda c: c.get("step_number") or 0, default=None)
    return dict((best or {}).get("metrics") or {})


def _held(change: Change, reason: str) -> Change:
    """Nothing happens to it in this apply: kept as it is (or not made), with the reason."""
    return dataclasses.replace(change, action=Action.NOOP, reasons=(reason,), attrs=(), steps=(), after=None,
                               config=None, pending=None, replace=None)


def _object(doc: Any, spec: Mapping[str, Any], change: Change) -> dict[str, Any]:
    return {"kind": doc.kind, "type": change.kind, "address": change.address, "name": change.name,
            "action": change.action.value, "spec": plain(spec), "inputs": plain(change.after or {})}


def apply_conditions(doc: Any, spec: Mapping[str, Any], change: Change, walk: Walk,
                     holds: dict[str, str]) -> Change:
    """`change` as the conditions leave it; `holds` (address -> why) grows by what is held back.
    May raise MissingRead (a job's checkpoints, for `self.metrics`)."""
    address = change.address
    for dep in doc.depends_on:
        if dep in holds:
            reason = f"held back: {dep} {holds[dep]}"
            holds[address] = f"is held back (it depends on {dep})"
            walk.health.append(Health(address, change.kind, "held", reason))
            return _held(change, reason)
    lifecycle = doc.lifecycle
    for condition in lifecycle.preconditions:
        if not condition.expression.evaluate({"object": _object(doc, spec, change)}):
            message = f"precondition failed: {condition.error_message} ({condition.where}); not planned"
            holds[address] = f"failed its precondition: {condition.error_message}"
            walk.health.append(Health(address, change.kind, "precondition_failed", message))
            return _held(change, message)
    if not lifecycle.postconditions:
        return change
    live = walk.live.get(address)
    if change.action in (Action.CREATE, Action.REPLACE) or address in walk.waiting or not live:
        holds[address] = "is not complete yet: its postcondition is checked once it is (plan again then)"
        return change
    this = dict(plain(live))
    if this.get("fine_tuned_model") and this.get("id"):
        this["metrics"] = final_metrics(walk.reads.checkpoints(str(this["id"])))
    for condition in lifecycle.postconditions:
        if not condition.expression.evaluate({"object": _object(doc, spec, change), "self": this}):
            holds[address] = f"failed its postcondition: {condition.error_message}"
            walk.health.append(Health(address, change.kind, "postcondition_failed",
                                      f"postcondition failed: {condition.error_message} ({condition.where}); "
                                      "what depends on it is held back"))
            break
    return change
