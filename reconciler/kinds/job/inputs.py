"""FineTuningJob: what forces a new training run, what the API fills in, how to compare.

A job cannot be updated: every create argument forces replacement. Only `status`
(running/paused) changes in place, and `cancel_after_timeout` is reconciler's own setting.
Inputs are compared against the inputs recorded in state when the job was created — never
against what the API reads back — so values the API fills in ("auto" resolved to numbers, an
alias answered as its dated snapshot, a generated seed) never cause a perpetual diff.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from reconciler.kinds.job.canonical import (
    CREATE_FIELDS,
    TAG_ADDRESS,
    TAG_DIGEST,
    TRACKING_TAGS,
    canonical_inputs,
    normalise_method,
)
from reconciler.kinds.names import JOB
from reconciler.resources.canonical import MISSING, digest, flatten, get_path
from reconciler.resources.models import same_model
from reconciler.resources.ownership import TAG_LINEAGE, TAG_WORKSPACE, mark, owner_tag
from reconciler.state.model import Owner
from reconciler.values import UNKNOWN

__all__ = [
    "ACTIVE",
    "CREATE_FIELDS",
    "FINISHED",
    "KIND",
    "TAG_ADDRESS",
    "TAG_DIGEST",
    "TAG_LINEAGE",
    "TAG_WORKSPACE",
    "changed_paths",
    "compact_live",
    "create_body",
    "inputs_digest",
    "inputs_from_spec",
    "is_active",
    "live_inputs",
    "mismatches_with_live",
    "settings_from_spec",
    "state_attributes",
]

KIND = JOB
ACTIVE = frozenset({"validating_files", "queued", "running", "paused"})
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
_TAGS = TRACKING_TAGS


_NOT_KEPT = frozenset({"object", "usage_metrics", "shared_with_openai"})
# Values that repeat across thousands of jobs: one string object each instead of one per job.
_REPEATED = frozenset({"status", "model", "organization_id", "training_file", "validation_file"})


def compact_live(job: dict[str, Any]) -> dict[str, Any]:
    """A listed job without what nothing reads (object, usage metrics, the deprecated
    `hyperparameters` mirror when `method` is there, an empty integrations list)."""
    kept = {k: (sys.intern(v) if k in _REPEATED and isinstance(v, str) else v)
            for k, v in job.items() if k not in _NOT_KEPT}
    if kept.get("method") and "hyperparameters" in kept:
        del kept["hyperparameters"]
    if not kept.get("integrations"):
        kept.pop("integrations", None)
    return kept


def state_attributes(job: dict[str, Any], *, keep_method: bool = True) -> dict[str, Any]:
    """What the state keeps of a live job: everything a plan, a reference or `show` reads, without
    what repeats elsewhere (the deprecated `hyperparameters` mirror of `method`, the tracking tags,
    which the state holds as address and digest) — a tenth of the state file at 10,000 jobs."""
    kept = compact_live(job)
    if not keep_method:
        # The inputs the job was created with are recorded beside it; the live method (with the
        # "auto" values resolved) is read fresh by every refresh and is not kept twice.
        kept.pop("method", None)
        kept.pop("hyperparameters", None)
    metadata = kept.get("metadata")
    if metadata and any(tag in metadata for tag in _TAGS):
        kept["metadata"] = {k: v for k, v in metadata.items() if k not in _TAGS}
    return kept


def is_active(status: str | None) -> bool:
    return status in ACTIVE


def inputs_from_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The canonical create arguments of a (reference-resolved) job spec. May hold UNKNOWN."""
    return canonical_inputs(spec)


def settings_from_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": spec.get("status") or "running",
        "cancel_after_timeout": spec.get("cancel_after_timeout"),
    }


def inputs_digest(inputs: dict[str, Any]) -> str:
    return digest(inputs)


def create_body(spec: dict[str, Any], address: str, inputs_sha: str, lineage: str,
                owner: Owner | None = None) -> dict[str, Any]:
    """The POST body: the spec's arguments as written (the API resolves aliases itself), the
    method in its modern form, and the tracking tags in metadata: the address, the input digest,
    the mark of the state's lineage, and (when the run knows it) the workspace's name and spec
    folder: whose workspace the job is."""
    body: dict[str, Any] = {}
    for field in CREATE_FIELDS:
        if field == "method":
            continue
        value = spec.get(field)
        if value is not None and value != {} and value != []:
            body[field] = copy.deepcopy(value)
    body["method"] = normalise_method(spec)
    body["metadata"] = {**(spec.get("metadata") or {}), TAG_ADDRESS: address, TAG_DIGEST: inputs_sha,
                        TAG_LINEAGE: mark(lineage)}
    if owner is not None:
        body["metadata"][TAG_WORKSPACE] = owner_tag(owner)
    return body


def changed_paths(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(path, before, after) for each leaf that differs; UNKNOWN after counts as a change. Both
    sides are compared in the canonical form (a state recorded by an older version may hold what
    it now spells absent)."""
    if before == after:
        return []  # the common case, 10,000 unchanged jobs: a state never records UNKNOWN
    old = dict(flatten(canonical_inputs(before)))
    new = dict(flatten(canonical_inputs(after)))
    changes = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path, MISSING), new.get(path, MISSING)
        if path == "model" and isinstance(a, str) and isinstance(b, str) and (
                same_model(a, b) or same_model(b, a)):
            continue
        if b is UNKNOWN or a != b:
            changes.append((path, a, b))
    return changes


def _suffix_of(fine_tuned_model: str | None) -> Any:
    # ft:<base>:<org>:<suffix>:<id>  — the suffix part may be empty.
    if not fine_tuned_model or not fine_tuned_model.startswith("ft:"):
        return MISSING
    parts = fine_tuned_model.split(":")
    return parts[3] if len(parts) >= 5 and parts[3] else None


def live_inputs(job: dict[str, Any]) -> dict[str, Any]:
    """A live job's create arguments in the canonical form (the suffix aside: the API keeps it only
    inside `fine_tuned_model`)."""
    return canonical_inputs({k: v for k, v in job.items() if k in CREATE_FIELDS or k == "hyperparameters"})


def mismatches_with_live(inputs: dict[str, Any], job: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """For a job adopted without recorded inputs (import): the spec's inputs that the live job
    contradicts, both in the canonical form. Lenient where the API fills in: "auto" and omitted
    values match anything, an alias matches its snapshot, the suffix is only known once the model
    exists."""
    problems: list[tuple[str, Any, Any]] = []
    live = live_inputs(job)
    for path, want in flatten(canonical_inputs(inputs)):
        if want is UNKNOWN:
            problems.append((path, MISSING, UNKNOWN))
            continue
        if path == "suffix":
            have = _suffix_of(job.get("fine_tuned_model"))
            if have is not MISSING and have != want:
                problems.append((path, have, want))
            continue
        have = get_path(live, path)
        if have is MISSING and path.startswith("method.supervised.hyperparameters."):
            have = get_path(job.get("hyperparameters") or {}, path.rsplit(".", 1)[1])
        if path == "model":
            if not same_model(want, have if isinstance(have, str) else None):
                problems.append((path, have, want))
            continue
        if isinstance(want, float) or isinstance(have, float):
            if have is MISSING or have is None or abs(float(have) - float(want)) > 1e-9:
                problems.append((path, have, want))
            continue
        if have != want:
            problems.append((path, have, want))
    return problems
