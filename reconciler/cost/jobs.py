"""What a planned job's cost depends on, read from the plan and the specs (pure): its base model,
method, epochs as written, and the local training file it trains on (with the encoding and record
format its tokens are counted in)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reconciler.config.refs import find_refs
from reconciler.cost.tokens import encoding_for
from reconciler.kinds.registry import COSTED_KINDS, LOCAL_FILE_KINDS
from reconciler.plan.model import Action, Change, Plan
from reconciler.training_data import format_for

__all__ = ["COSTED_ACTIONS", "CountKey", "JobInputs", "costed_changes", "job_inputs"]

COSTED_ACTIONS = (Action.CREATE, Action.REPLACE)


@dataclass(frozen=True)
class CountKey:
    path: str         # absolute path of the local training file
    encoding: str
    format: str


@dataclass(frozen=True)
class JobInputs:
    address: str
    model: str
    method: str
    n_epochs: Any                  # an int, "auto", or None (auto)
    key: CountKey | None           # None: the tokens cannot be counted (reason says why)
    reason: str | None = None
    replacement: bool = False
    platform: str = "openai"       # whose prices apply (the job's Provider type)


def costed_changes(plan: Plan) -> list[Change]:
    """The changes that start a training run: a job created or replaced."""
    return [c for c in plan.changes if c.kind in COSTED_KINDS and c.action in COSTED_ACTIONS]


def _training_file(spec: Mapping[str, Any], documents: Mapping[str, Any]) -> tuple[Path | None, str | None]:
    value = spec.get("training_file")
    refs = [r for r in find_refs(value) if r.kind in LOCAL_FILE_KINDS]
    if not refs:
        shown = value if isinstance(value, str) else "its training file"
        return None, f"{shown} is not a File in these specs: its tokens cannot be counted"
    doc = documents.get(refs[0].address)
    if doc is None or not isinstance(doc.spec.get("path"), str):
        return None, f"{refs[0].address} has no local path: its tokens cannot be counted"
    return (Path(doc.base_dir) / doc.spec["path"]).resolve(), None


def job_inputs(change: Change, documents: Mapping[str, Any]) -> JobInputs:
    after = change.after or {}
    raw = after.get("method")
    method_block: dict[str, Any] = raw if isinstance(raw, dict) else {}
    method = str(method_block.get("type") or "supervised")
    block = method_block.get(method)
    hyper = block.get("hyperparameters") if isinstance(block, dict) else None
    n_epochs = hyper.get("n_epochs") if isinstance(hyper, dict) else None
    model = str(after["model"]) if isinstance(after.get("model"), str) else ""
    base = JobInputs(change.address, model, method, n_epochs, None, replacement=change.action is Action.REPLACE)
    doc = documents.get(change.address)
    encoding = encoding_for(model)
    if encoding is None:
        return replace(base, reason=f"no token encoding known for {model or 'an unknown model'}")
    path, reason = _training_file(doc.spec if doc is not None else {}, documents)
    if path is None:
        return replace(base, reason=reason)
    return replace(base, key=CountKey(str(path), encoding, format_for(method, model)))
