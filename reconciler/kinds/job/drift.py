"""Jobs nobody manages: reported as drift (active ones, or all with --include-finished), and
cancelled by `sync --prune` when active.

Only what is ours or nobody's is reported: a job carrying another workspace's lineage mark
belongs to that workspace (another state file on the same organisation) and is neither reported
as our drift nor pruned. A job an older reconciler made (an address tag, no lineage mark) is
reported but never pruned: it may be another workspace's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.kinds.job.inputs import ACTIVE, KIND, TAG_ADDRESS
from reconciler.plan.finding import DRIFT, Finding
from reconciler.plan.model import Action, Change, Op, Plan, Step
from reconciler.resources.ownership import job_owner, mark

__all__ = ["prune", "unmanaged"]


def unmanaged(plan: Plan, snapshot: Any, specs: Any, state: Any, selector: Mapping[str, str],
              include_finished: bool) -> Iterable[Finding]:
    if snapshot is None or snapshot.jobs is None:
        return
    managed_ids = {r.id for r in state.resources.values() if r.kind == KIND}
    managed_ids |= {c.prior_id for c in plan.changes if c.prior_id}
    declared = set(specs.documents)
    ours = mark(state.lineage)
    for job in sorted(snapshot.jobs.values(), key=lambda j: j["id"]):
        if job["id"] in managed_ids:
            continue
        owner = job_owner(job)
        if owner is not None and owner != ours:
            continue  # another workspace's job: not drift of ours
        metadata = job.get("metadata") or {}
        if metadata.get(TAG_ADDRESS) in declared:
            continue  # made by reconciler for a declared address: an adoption candidate, not unmanaged
        if selector and any(metadata.get(k) != v for k, v in selector.items()):
            continue
        status = job.get("status")
        if status not in ACTIVE and not include_finished:
            continue
        tag = ""
        if metadata.get(TAG_ADDRESS):
            tag = f", made by reconciler for {metadata[TAG_ADDRESS]} which no spec declares"
            if owner is None:
                tag += " (no workspace mark: an older reconciler made it, perhaps for another workspace; never pruned)"
        yield Finding(f"unmanaged.{KIND}.{job['id']}", KIND, DRIFT, "unmanaged_job",
                      f"job {job['id']} ({status}, {job.get('model')}) is not declared in any spec{tag}",
                      "*", after=status)


def prune(finding: Finding, plan: Plan, snapshot: Any) -> Change | None:
    if finding.category != "unmanaged_job" or finding.after not in ACTIVE:
        return None
    job_id = finding.address.rsplit(".", 1)[1]
    job = snapshot.job(job_id) if snapshot is not None else None
    if job is not None and (job.get("metadata") or {}).get(TAG_ADDRESS) and job_owner(job) != mark(plan.lineage):
        return None  # made by reconciler, but not with our mark: perhaps another workspace's
    return Change(address=finding.address, kind=KIND, action=Action.DELETE,
                  reasons=("--prune: active job not declared in any spec",),
                  steps=(Step(Op.CANCEL_JOB, f"cancel {job_id} (unmanaged)", {"id": job_id}),), prior_id=job_id)
