"""Planning a FineTuningJob: create, replace, pause/resume, cancel on timeout, destroy (pure: all it
knows of the API comes from the walk's snapshot)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from reconciler.config.providers import DEFAULT_PROVIDER, declared_profile
from reconciler.config.refs import find_refs
from reconciler.display import fmt
from reconciler.errors import NotFoundError, PlanError
from reconciler.kinds.job import inputs as J
from reconciler.kinds.job.ends import create_refusal, model_health, serving_note
from reconciler.kinds.job.view import LiveJobView, duration, waiting_reason
from reconciler.lifecycle.dates import base_model
from reconciler.plan.model import Action, AttrChange, Change, Drift, Elsewhere, Health, Op, ReplaceMode, Step
from reconciler.plan.walk import Walk
from reconciler.resources.ownership import job_owner, job_workspace, legacy_adoptable, mark
from reconciler.sharing import share_equal
from reconciler.values import UNKNOWN, contains_unknown


def _ignored(path: str, ignore: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + ".") or p == "*" for p in ignore)


def _planned_attrs(inputs: dict[str, Any], live: dict[str, Any] | None, address: str) -> Mapping[str, Any]:
    if live is None:
        attrs: dict[str, Any] = {k: UNKNOWN for k in ("id", "status", "fine_tuned_model", "trained_tokens", "created_at",
                                      "finished_at", "estimated_finish", "organization_id", "result_files",
                                      "error", "hyperparameters")}
        attrs.update({k: v for k, v in inputs.items() if k != "metadata"})
        attrs["metadata"] = inputs.get("metadata") or {}
        return attrs
    return LiveJobView(live, inputs.get("suffix"))


def _adoption_candidate(walk: Walk, address: str, digest: str | None, exclude: str | None,
                        profile: str = DEFAULT_PROVIDER) -> dict[str, Any] | None:
    """A job an interrupted run of this workspace made for this address and inputs: it carries our
    lineage mark (or, in a state written before, no mark: an older reconciler made it). A job with
    another workspace's mark is never ours, whatever its address and digest; nor is one listed in
    another provider profile's project than the address's (the run that made it sent it there
    before the document moved: adopting it would keep the job where the specs no longer say)."""
    if not walk.refreshed or digest is None:
        return None
    ours = mark(walk.state.lineage)
    legacy = legacy_adoptable(walk.state.serial)
    found = [j for j in walk.snapshot.jobs_by_address.get(address, [])
             if (j.get("metadata") or {}).get(J.TAG_DIGEST) == digest and j["id"] != exclude
             and j.get("status") != "cancelled" and (job_owner(j) == ours or (legacy and job_owner(j) is None))
             and walk.snapshot.listed_for(j["id"], profile)]
    return max(found, key=lambda j: (j.get("created_at") or 0, j["id"])) if found else None


def _unmarked_twin(walk: Walk, address: str, inputs: Mapping[str, Any], profile: str) -> dict[str, Any] | None:
    """On a platform that keeps no job metadata (Azure: reconciler's marks may be dropped), a live
    job no state records, without marks, on the same training file, base model and suffix as the
    job about to be created: what an interrupted run leaves when it died between the create and
    its journal entry. None on OpenAI (its marks find such a job: `_adoption_candidate`)."""
    if walk.platform(address) == "openai" or not walk.refreshed:
        return None
    training_file = inputs.get("training_file")
    if not isinstance(training_file, str):   # UNKNOWN (the file is not uploaded yet): nothing to match
        return None
    managed = {r.id for r in walk.state.resources.values() if r.id}
    for job in walk.reads.all_jobs():
        if (job.get("id") in managed or (job.get("metadata") or {}).get(J.TAG_ADDRESS)
                or job.get("status") in _SPENT or job.get("training_file") != training_file
                or base_model(str(job.get("model") or "")) != base_model(str(inputs.get("model") or ""))
                or (job.get("user_provided_suffix") or None) != (inputs.get("suffix") or None)
                or not walk.snapshot.listed_for(str(job.get("id")), profile)):
            continue
        return dict(job)
    return None


# A job in these states cost nothing more and trains nothing: creating another is not paying twice.
_SPENT = ("cancelled", "failed")


def other_workspaces(walk: Walk, address: str) -> tuple[Elsewhere, ...]:
    """Live jobs for `address` that carry another workspace's mark (not cancelled or failed): a
    create at this address pays for the same job again, which after a lost state is never meant.
    Not counted: a job the state manages (an imported job of another lineage, perhaps recorded at
    another address after `state mv`)."""
    if not walk.refreshed:
        return ()
    ours = mark(walk.state.lineage)
    found = [j for j in walk.snapshot.jobs_by_address.get(address, [])
             if job_owner(j) not in (None, ours) and j.get("status") not in _SPENT]
    if found:
        if walk.managed_job_ids is None:
            walk.managed_job_ids = frozenset(r.id for r in walk.state.resources.values() if r.kind == J.KIND and r.id)
        found = [j for j in found if j["id"] not in walk.managed_job_ids]
    found.sort(key=lambda j: (j.get("created_at") or 0, j["id"]))
    others = []
    for j in found:
        marked = job_workspace(j)
        others.append(Elsewhere(str(job_owner(j)), j["id"], j.get("status"),
                                tuple((k, j[k]) for k in FILE_FIELDS if isinstance(j.get(k), str) and j[k]),
                                name=marked.workspace if marked else None,
                                folder=marked.folder if marked else None))
    return tuple(others)


def plan_job(doc: Any, spec: dict[str, Any], walk: Walk, unresolved: list[str]) -> Change:
    rebound: list[AttrChange] = []
    change = _plan_job(doc, spec, walk, rebound)
    if rebound and change.action is Action.NOOP:
        # Shown (plan JSON) and applied: the state records the new file id for the job it keeps.
        note = "; ".join(f"{a.path} {fmt(a.before)} -> {fmt(a.after)} holds the same content: the job is kept"
                         for a in rebound)
        change = dataclasses.replace(change, attrs=tuple(rebound), reasons=(note, *change.reasons))
    return change


def _same_content(doc: Any, walk: Walk, path: str, before: Any, after: Any) -> bool:
    """Whether a job's file input changed its id but not its content: the File was uploaded again
    with the same bytes (deleted outside, replaced on request, re-uploaded by another state).
    Training on the same bytes again would be paying twice for one job."""
    if path not in FILE_FIELDS or not isinstance(before, str) or before == after:
        return False
    old = _recorded_sha(walk, before)
    return old is not None and old == _wanted_sha(doc, walk, path, after)


def _recorded_sha(walk: Walk, file_id: str) -> str | None:
    for resource in walk.state.resources.values():
        if resource.id == file_id and isinstance((resource.inputs or {}).get("sha256"), str):
            return str(resource.inputs["sha256"])
    return None


def _wanted_sha(doc: Any, walk: Walk, path: str, after: Any) -> str | None:
    written = doc.spec.get(path)
    refs = find_refs(written)
    if len(refs) == 1 and refs[0].path == ("id",) and isinstance(written, str) and written.strip() == refs[0].text:
        sha = (walk.planned.get(refs[0].address) or {}).get("sha256")
        return sha if isinstance(sha, str) else None
    return _recorded_sha(walk, after) if isinstance(after, str) else None


@dataclasses.dataclass
class _Job:
    """One FineTuningJob document as its plan sees it: what the spec wants, and what was recorded."""

    doc: Any
    walk: Walk
    inputs: dict[str, Any]
    settings: dict[str, Any]
    digest: str | None
    rs: Any                          # its state record, or None
    after: dict[str, Any]            # the inputs and settings the plan shows
    base: dict[str, Any]             # the fields every Change for it carries

    @property
    def address(self) -> str:
        return str(self.doc.address)

    @classmethod
    def of(cls, doc: Any, spec: dict[str, Any], walk: Walk) -> _Job:
        inputs = J.inputs_from_spec(spec)
        settings = J.settings_from_spec(spec)
        base = dict(address=doc.address, kind=doc.type, config=doc.spec, depends_on=tuple(doc.depends_on),
                    create_before_destroy=doc.lifecycle.create_before_destroy)
        return cls(doc, walk, inputs, settings, None if contains_unknown(inputs) else J.inputs_digest(inputs),
                   walk.state.resources.get(doc.address), {**inputs, **{k: v for k, v in settings.items() if v is not None}},
                   base)


def _plan_job(doc: Any, spec: dict[str, Any], walk: Walk, rebound: list[AttrChange]) -> Change:
    job = _Job.of(doc, spec, walk)
    live = _read_live(job)
    if job.rs is None or live is None:  # not in state: create, or adopt a job an interrupted run already made
        return _absent(job)
    _note_status_drift(job, live)
    diffs = _input_diffs(job, live, rebound)
    forced = job.address in walk.replace
    cancelled_outside = live.get("status") == "cancelled" and not job.rs.meta.get("cancelled_by")
    if diffs or forced or cancelled_outside:
        return _replace(job, live, diffs, forced, cancelled_outside)
    return _kept(job, live)


def _read_live(job: _Job) -> dict[str, Any] | None:
    """The job as refreshed (or as recorded, without a refresh); a recorded job the refresh no
    longer finds is drift."""
    rs, walk = job.rs, job.walk
    if rs is None:
        return None
    live: dict[str, Any] | None = walk.snapshot.job(rs.id) if walk.refreshed else (rs.attributes or None)
    if walk.refreshed and walk.snapshot.jobs is not None and live is None:
        walk.drift.append(Drift(job.address, job.doc.type, "deleted", f"job {rs.id} no longer exists",
                                before=rs.attributes.get("status"), after=None))
    if live is not None:
        walk.live[job.address] = live
    return live


def _create(job: _Job, reason: str, prior: str | None = None) -> Change:
    inputs, walk = job.inputs, job.walk
    refused = create_refusal(job.doc, inputs.get("model"), walk)
    if refused:
        raise PlanError(refused)
    check_written_files(job.doc, walk)
    steps = [Step(Op.CREATE_JOB, f"create a {inputs['method']['type']} job on {inputs.get('model')}")]
    if job.settings["status"] == "paused":
        steps.append(Step(Op.PAUSE_JOB, "pause once it is running"))
    walk.planned[job.address] = _planned_attrs(inputs, None, job.address)
    walk.waiting[job.address] = f"{job.address} is not created yet"
    return Change(action=Action.CREATE, reasons=(reason,), before=None, after=job.after, steps=tuple(steps),
                  prior_id=prior, elsewhere=other_workspaces(walk, job.address),
                  serving_end=serving_note(inputs.get("model"), walk, job.address), **job.base)


def _absent(job: _Job) -> Change:
    """Not in state, or gone: adopt the job an interrupted run made for this address, else create."""
    rs, walk, address = job.rs, job.walk, job.address
    candidate = _adoption_candidate(walk, address, job.digest, rs.id if rs else None, declared_profile(job.doc))
    if candidate is None:
        _refuse_unmarked_twin(job)
        return _create(job, "not in state") if rs is None else _create(job, f"job {rs.id} no longer exists",
                                                                       prior=rs.id)
    walk.planned[address] = _planned_attrs(job.inputs, candidate, address)
    walk.live[address] = candidate
    note_waiting(walk, address, candidate)
    older = "" if job_owner(candidate) else " (no workspace mark: made by an older reconciler)"
    walk.drift.append(Drift(address, job.doc.type, "adopted",
                            f"found {candidate['id']} ({candidate.get('status')}) created for this "
                            f"address by an earlier run that did not record it{older}"))
    return Change(action=Action.ADOPT, reasons=(f"adopt {candidate['id']} instead of creating a duplicate",),
                  after=job.after, steps=(Step(Op.ADOPT, candidate["id"], {"id": candidate["id"]}),),
                  prior_id=rs.id if rs else None, **job.base)


def _refuse_unmarked_twin(job: _Job) -> None:
    twin = _unmarked_twin(job.walk, job.address, job.inputs, declared_profile(job.doc))
    if twin is not None:
        platform = job.walk.platform(job.address)
        raise PlanError(
            f"{job.doc.file}:{job.doc.line}: {job.address}: job {twin['id']} ({twin.get('status')}) on {platform} "
            f"trains {twin.get('model')} on {twin.get('training_file')} like this document, and nothing records "
            f"it: an interrupted run may have made it ({platform} keeps no job metadata to tell); run `reconciler "
            f"import {job.address} {twin['id']}` to keep it, or cancel it, then plan again; nothing was sent")


def _note_status_drift(job: _Job, live: Mapping[str, Any]) -> None:
    status = live.get("status")
    prev_status = (job.rs.attributes or {}).get("status")
    outside = _status_drift(prev_status, status, job.rs.meta)
    if outside:
        job.walk.drift.append(Drift(job.address, job.doc.type, outside.replace(" ", "_").replace("_reconciler", ""),
                                    f"{outside} ({prev_status} → {status})", before=prev_status, after=status))


def _input_diffs(job: _Job, live: dict[str, Any], rebound: list[AttrChange]) -> list[tuple[str, Any, Any]]:
    """What changed in the inputs: against the recorded inputs; for an imported job (none
    recorded), against live. A file input whose id changed but not its content goes to `rebound`."""
    recorded = job.rs.inputs or {}
    diffs = J.changed_paths(recorded, job.inputs) if recorded else J.mismatches_with_live(job.inputs, live)
    diffs = [d for d in diffs if not _ignored(d[0], job.doc.lifecycle.ignore_changes)]
    rebound.extend(AttrChange(p, b, a) for p, b, a in diffs if _same_content(job.doc, job.walk, p, b, a))
    return [d for d in diffs if d[0] not in {a.path for a in rebound}]


def _replace(job: _Job, live: dict[str, Any], diffs: list[tuple[str, Any, Any]], forced: bool,
             cancelled_outside: bool) -> Change:
    """A job cannot be updated: a new one, and the old one cancelled (or forgotten once finished)."""
    rs, walk, lifecycle, inputs = job.rs, job.walk, job.doc.lifecycle, job.inputs
    status = live.get("status")
    if lifecycle.prevent_destroy:
        raise PlanError(f"{job.address}: lifecycle.prevent_destroy is set, but the plan would replace job "
                        f"{rs.id} ({_describe(diffs, forced, cancelled_outside)}). Remove prevent_destroy "
                        "or undo the change.")
    reasons = []
    if forced:
        reasons.append("replacement requested with --replace")
    if cancelled_outside:
        reasons.append(f"job {rs.id} was cancelled outside reconciler and the spec still wants it")
    if diffs:
        reasons.append("changed: " + ", ".join(p for p, _, _ in diffs) + " (a job cannot be updated)")
    refused = create_refusal(job.doc, inputs.get("model"), walk)
    if refused:
        raise PlanError(refused)
    check_written_files(job.doc, walk)
    active = J.is_active(status)
    cancel = Step(Op.CANCEL_JOB, f"cancel {rs.id} ({status})", {"id": rs.id})
    forget = Step(Op.FORGET, f"{rs.id} has {status} and keeps existing; it leaves state", {"id": rs.id})
    create_step = Step(Op.CREATE_JOB, f"create a {inputs['method']['type']} job on {inputs.get('model')}")
    delete_model = model_deletion(lifecycle.delete_model_on_destroy, rs, live)
    move = walk.platform_moves.get(job.address)
    if move is not None:
        # to another platform: the old job (running or done) and its model stay there, serving
        # until that platform shuts them down; the state forgets it
        active, delete_model = False, None
        forget = Step(Op.FORGET, f"{rs.id} ({status}) stays on {move[0]}, its model serving until {move[0]} "
                      "shuts it down; it leaves state", {"id": rs.id})
        reasons.append(f"moves from {move[0]} to {move[1]}: trained again there, the {move[0]} job is kept")
    old = [cancel] if active else [delete_model, forget] if delete_model else [forget]
    steps = [create_step, *old] if lifecycle.create_before_destroy else [*old, create_step]
    mode = ReplaceMode.of(create_first=lifecycle.create_before_destroy, forget=not active and delete_model is None)
    if job.settings["status"] == "paused":
        steps.append(Step(Op.PAUSE_JOB, "pause once it is running"))
    walk.planned[job.address] = _planned_attrs(inputs, None, job.address)
    walk.waiting[job.address] = f"{job.address} is being replaced"
    return Change(action=Action.REPLACE, reasons=tuple(reasons), before=_before(rs), after=job.after,
                  attrs=tuple(AttrChange(p, b, a, forces_replacement=True) for p, b, a in diffs),
                  steps=tuple(steps), prior_id=rs.id, replace=mode,
                  serving_end=serving_note(inputs.get("model"), walk, job.address), **job.base)


def _kept(job: _Job, live: dict[str, Any]) -> Change:
    """The same job stays: its health, and a cancel (past cancel_after_timeout), pause or resume."""
    rs, walk, address = job.rs, job.walk, job.address
    walk.planned[address] = _planned_attrs(job.inputs, live, address)
    note_waiting(walk, address, live)
    before = _before(rs)
    # Unchanged: what the spec wants is what the state recorded, so hold those values once
    # (10,000 no-op jobs would otherwise keep two equal copies of every input).
    after = share_equal(job.after, before)
    noop = Change(action=Action.NOOP, before=before, after=after, prior_id=rs.id, **job.base)
    status = live.get("status")
    if status == "failed":
        error = live.get("error") or {}
        walk.health.append(Health(address, job.doc.type, "failed",
                                  f"job {rs.id} failed: {error.get('message') or 'no error message'}"
                                  " (not retried automatically; run with --replace to try again)", error))
        return noop
    ending = model_health(address, job.doc.type, live, walk)
    if ending is not None:
        walk.health.append(ending)
    if status == "cancelled":
        walk.health.append(Health(address, job.doc.type, "cancelled",
                                  f"job {rs.id} was cancelled by reconciler ({rs.meta.get('cancelled_by')}); "
                                  "run with --replace to train again"))
        return noop
    return _timed_out(job, live, noop) or _paused_or_resumed(job, status, noop) or noop


def _timed_out(job: _Job, live: dict[str, Any], noop: Change) -> Change | None:
    """cancel_after_timeout: a job running longer than allowed is cancelled."""
    timeout = job.settings.get("cancel_after_timeout")
    status = live.get("status")
    if not (timeout and J.is_active(status) and live.get("created_at")):
        return None
    elapsed = job.walk.now - float(live["created_at"])
    if elapsed <= float(timeout):
        return None
    reason = f"running for {duration(elapsed)}, longer than cancel_after_timeout {duration(float(timeout))}"
    job.walk.health.append(Health(job.address, job.doc.type, "timed_out", f"job {job.rs.id} {reason}"))
    return dataclasses.replace(noop, action=Action.UPDATE, reasons=(reason,),
                               attrs=(AttrChange("status", status, "cancelled"),),
                               steps=(Step(Op.CANCEL_JOB, f"cancel {job.rs.id}: {reason}",
                                           {"id": job.rs.id, "cancelled_by": "cancel_after_timeout"}),))


def _paused_or_resumed(job: _Job, status: str | None, noop: Change) -> Change | None:
    """The spec's `status` (running or paused) against the job's, unless its changes are ignored."""
    want, job_id = job.settings["status"], job.rs.id
    if _ignored("status", job.doc.lifecycle.ignore_changes):
        return None
    if want == "paused" and status == "running":
        return dataclasses.replace(noop, action=Action.UPDATE, reasons=("spec status is paused",),
                                   attrs=(AttrChange("status", "running", "paused"),),
                                   steps=(Step(Op.PAUSE_JOB, f"pause {job_id}", {"id": job_id}),))
    if want == "running" and status == "paused":
        return dataclasses.replace(noop, action=Action.UPDATE, reasons=("spec status is running",),
                                   attrs=(AttrChange("status", "paused", "running"),),
                                   steps=(Step(Op.RESUME_JOB, f"resume {job_id}", {"id": job_id}),))
    if want == "paused" and status in ("validating_files", "queued"):
        return dataclasses.replace(noop, pending=f"will pause once running (now {status})")
    return None


FILE_FIELDS = ("training_file", "validation_file")
UNUSABLE_FILE_STATUSES = ("error", "deleted")


def check_written_files(doc: Any, walk: Walk) -> None:
    """A job about to be created (or re-created) on a file id written in its spec — not a
    `${File…}` reference, which this plan uploads and checks itself — must train on a file that
    exists, has purpose fine-tune and was processed; otherwise the job is refused at plan time
    instead of being created, paid for, and failed. The file is read in refresh (one listing, or
    one GET per id the listing lacks: a 404 is kept in the snapshot and raised here)."""
    if not walk.refreshed:
        return  # --refresh=false trusts the state: nothing is read
    for key in FILE_FIELDS:
        written = doc.spec.get(key)
        if not isinstance(written, str) or not written or "${" in written:
            continue
        where = f"{doc.file}:{doc.line_of('spec.' + key)}: {doc.address}: spec.{key}"
        try:
            found = walk.reads.file(written)
        except NotFoundError:
            raise PlanError(f"{where}: file {written} does not exist in this project; upload it (or declare a "
                            "File and use ${File.NAME.id}) before the job is created") from None
        purpose = found.get("purpose")
        if purpose is not None and purpose != "fine-tune":
            raise PlanError(f"{where}: file {written} has purpose {purpose!r}, not 'fine-tune'; a job cannot "
                            "train on it — upload the data with purpose fine-tune")
        status = found.get("status")
        if status in UNUSABLE_FILE_STATUSES:
            detail = found.get("status_details")
            raise PlanError(f"{where}: file {written} is {status}" + (f" ({detail})" if detail else "") +
                            "; a job on it would fail — upload the data again")


def _status_drift(before: str | None, after: str | None, meta: dict[str, Any]) -> str | None:
    """A status change that the job's own lifecycle does not explain, or None.

    validating_files → queued → running → succeeded/failed is the job doing its work, not drift;
    a cancel, pause or resume that reconciler did not make is."""
    if not before or before == after:
        return None
    if after == "cancelled" and before in J.ACTIVE and not meta.get("cancelled_by"):
        return "cancelled outside reconciler"
    if after == "paused" and before != "paused":
        return "paused outside reconciler"
    if before == "paused" and after in ("running", "queued"):
        return "resumed outside reconciler"
    return None


def _describe(diffs: list[tuple[str, Any, Any]], forced: bool, cancelled: bool) -> str:
    if forced:
        return "--replace"
    if cancelled:
        return "it was cancelled outside reconciler"
    return "changed " + ", ".join(p for p, _, _ in diffs)


def _before(rs: Any) -> dict[str, Any]:
    before = dict(rs.inputs or {})
    settings = (rs.meta or {}).get("settings") or {}
    before.update({k: v for k, v in settings.items() if v is not None})
    before["id"] = rs.id
    return before


def note_waiting(walk: Walk, address: str, live: Mapping[str, Any]) -> None:
    reason = waiting_reason(address, live, walk.now)
    if reason is not None:
        walk.waiting[address] = reason


def model_deletion(wanted: bool, rs: Any, live: Mapping[str, Any] | None) -> Step | None:
    """The step deleting a finished job's fine-tuned model, when its lifecycle asks for it and the
    model exists (not already deleted by an earlier run: `meta.model_deleted`)."""
    if not wanted:
        return None
    model = (live or {}).get("fine_tuned_model") or (rs.attributes or {}).get("fine_tuned_model")
    if not isinstance(model, str) or not model or (rs.meta or {}).get("model_deleted") == model:
        return None
    return Step(Op.DELETE_MODEL, f"delete fine-tuned model {model} (lifecycle.delete_model_on_destroy): "
                                 "it stops serving for good", {"id": rs.id, "model": model})


def plan_job_destroy(address: str, rs: Any, walk: Walk, *, prevent_destroy: bool = False,
                     delete_model: bool = False) -> Change:
    live = walk.snapshot.job(rs.id) if walk.refreshed else (rs.attributes or None)
    status = (live or {}).get("status")
    if live is not None:
        walk.live[address] = live
    if prevent_destroy:
        raise PlanError(f"{address}: lifecycle.prevent_destroy is set, but the plan would destroy job {rs.id}")
    if live is not None and J.is_active(status):
        return Change(address=address, kind=rs.kind, action=Action.DELETE, before=_before(rs),
                      reasons=(f"not in the specs; {rs.id} is {status} and will be cancelled",),
                      steps=(Step(Op.CANCEL_JOB, f"cancel {rs.id} ({status})", {"id": rs.id}),
                             Step(Op.FORGET, "remove from state", {"id": rs.id})),
                      prior_id=rs.id)
    why = "no longer exists" if live is None else f"has {status}"
    deletion = model_deletion(delete_model, rs, live) if live is not None else None
    if deletion is not None:
        return Change(address=address, kind=rs.kind, action=Action.DELETE, before=_before(rs),
                      reasons=(f"not in the specs; {rs.id} {why}: its fine-tuned model {deletion.args['model']} "
                               "is deleted (lifecycle.delete_model_on_destroy) and the job leaves state",),
                      steps=(deletion, Step(Op.FORGET, "remove from state", {"id": rs.id})), prior_id=rs.id)
    return Change(address=address, kind=rs.kind, action=Action.FORGET, before=_before(rs),
                  reasons=(f"not in the specs; {rs.id} {why}: a finished job cannot be deleted, "
                           "it keeps existing and only leaves state",),
                  steps=(Step(Op.FORGET, "remove from state", {"id": rs.id}),), prior_id=rs.id)


__all__ = ["check_written_files", "model_deletion", "plan_job", "plan_job_destroy"]
