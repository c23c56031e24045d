"""Which jobs a refresh lists, and why.

An organisation can hold years of experiments: listing every job to plan ten managed ones costs a
list call per 100 jobs of history. Every job reconciler creates carries its workspace's mark in its
metadata (`reconciler_lineage`), and the jobs list filters on metadata (`metadata[k]=v`), so a
refresh lists only this workspace's jobs — unless something needs the whole organisation:

- a caller that reports objects no spec manages (`reconciler drift`) asks for every job;
- import blocks adopt objects made elsewhere, which carry no mark of this workspace;
- an interrupted run was replayed from the journal in a state an older reconciler may have
  written: what it made may carry no mark, and adoption must see it;
- jobs to create in such a state: an unmarked job an older reconciler made for the same address
  is found by listing that address's tag (a few addresses), or by listing everything (many);
- managed jobs the filtered listing does not show (made before marks existed) are more than a few:
  listing everything is then cheaper than reading them one by one (see `widen`).

A plan that needs every job for another reason (a data source over all jobs, a file still used by
another workspace's job) reads the full listing in a later round: a filtered snapshot answers
`all_jobs()` with a MissingRead.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.config.documents import SpecSet
from reconciler.kinds.base import KindTable
from reconciler.plan.walk import WorkingState
from reconciler.resources.ownership import TAG_ADDRESS, TAG_LINEAGE, legacy_adoptable, mark

__all__ = ["MAX_ADDRESS_LISTINGS", "MAX_UNMARKED", "JobScope", "job_scope"]

MAX_ADDRESS_LISTINGS = 10   # jobs to create in an older state, looked up by address tag one by one
MAX_UNMARKED = 20           # managed jobs missing from the filtered listing read by id before listing all


@dataclass(frozen=True)
class JobScope:
    """`filters` None: list every job; otherwise one listing per metadata filter, merged."""

    filters: tuple[dict[str, str], ...] | None
    reason: str

    @property
    def complete(self) -> bool:
        return self.filters is None


def job_scope(specs: SpecSet, work: WorkingState, kinds: KindTable, *, recovered: int = 0,
              full_listing: str | None = None) -> JobScope:
    """How to list jobs for a plan of `specs` against `work` (see the module docstring)."""
    if full_listing:
        return JobScope(None, full_listing)
    if work.imports:
        return JobScope(None, f"{len(work.imports)} import block(s): what they adopt was made elsewhere and "
                              "carries no mark of this workspace")
    legacy = legacy_adoptable(work.serial)
    if recovered and legacy:
        return JobScope(None, f"an interrupted run was replayed from the journal ({recovered} action(s)); "
                              "jobs it made without a workspace mark must be seen to be adopted")
    ours = {TAG_LINEAGE: mark(work.lineage)}
    filters = [ours]
    reason = f"only this workspace's jobs (metadata[{TAG_LINEAGE}]={ours[TAG_LINEAGE]})"
    # Jobs to create: a job of the same address is adopted (an unmarked one, in a state written
    # before) or, with another workspace's mark, shown on the create and, when its mark is this
    # very workspace's (a lost or replaced state), refused: planner/elsewhere.py.
    creates = sorted(doc.address for doc in specs.documents.values()
                     if kinds.get(doc.kind).job and doc.address not in work.resources)
    if len(creates) > MAX_ADDRESS_LISTINGS:
        if legacy:
            return JobScope(None, f"{len(creates)} jobs to create in a state written before: an unmarked "
                                  "job an older reconciler made for one of them must be seen to be adopted")
        return JobScope(None, f"{len(creates)} jobs to create in a state never written: jobs another state "
                              "of this workspace made for these addresses (a lost or replaced state) must be "
                              "seen before any is bought")
    filters += [{TAG_ADDRESS: address} for address in creates]
    if creates:
        reason += (f", and the jobs tagged with the {len(creates)} address(es) to create "
                   f"({'unmarked ones may be adopted' if legacy else 'another workspace may hold them'})")
    return JobScope(tuple(filters), reason)
