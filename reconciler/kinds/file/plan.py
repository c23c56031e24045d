"""Planning a File: upload, re-upload on new content, adopt an earlier upload, delete (pure)."""

from __future__ import annotations

from typing import Any

from reconciler.config.providers import DEFAULT_PROVIDER, declared_profile
from reconciler.errors import PlanError, SpecError
from reconciler.kinds.file import inputs as F
from reconciler.kinds.names import JOB as JOB_KIND
from reconciler.plan.model import Action, AttrChange, Change, Drift, Op, ReplaceMode, Step
from reconciler.plan.walk import Walk
from reconciler.resources.ownership import (
    file_owner,
    job_owner,
    legacy_adoptable,
    mark,
    marked_filename,
    owner_note,
)
from reconciler.values import UNKNOWN

UPLOADING = "uploading"  # state meta: an Upload in progress {id, sha256, part_bytes, parts: {index: part id}}


def plan_file(doc: Any, spec: dict[str, Any], walk: Walk) -> Change:
    address = doc.address
    try:
        inputs = F.inputs_from_spec(doc, spec)
    except OSError as exc:
        raise SpecError(doc.file, doc.line_of("spec.path"), f"cannot read {spec.get('path')}: {exc.strerror}",
                        address, "spec.path") from None
    rs = walk.state.resources.get(address)
    base = dict(address=address, kind=doc.type, config=doc.spec, depends_on=tuple(doc.depends_on),
                create_before_destroy=True)
    live = None
    interrupted = _interrupted_upload(rs)
    if rs is not None and rs.id is None:
        pass  # only an Upload a killed run began: no File yet, nothing to look for
    elif rs is not None:
        if walk.refreshed and walk.snapshot.files is not None:
            live = walk.snapshot.files.get(rs.id or "")
            if live is None:
                walk.drift.append(Drift(address, doc.type, "deleted", f"file {rs.id} no longer exists"))
        else:
            live = rs.attributes or None
    if live is not None:
        walk.live[address] = live

    def planned(file_id: Any, obj: dict[str, Any] | None) -> None:
        attrs = {"id": file_id, "filename": inputs["filename"], "bytes": inputs["bytes"],
                 "path": inputs["path"], "sha256": inputs["sha256"], "purpose": inputs["purpose"],
                 "created_at": (obj or {}).get("created_at", UNKNOWN), "status": (obj or {}).get("status", UNKNOWN)}
        walk.planned[address] = attrs

    if rs is None or live is None:
        candidate = _adoption_candidate(walk, inputs, declared_profile(doc))
        if candidate is not None:
            planned(candidate["id"], candidate)
            walk.live[address] = candidate
            older = "" if file_owner(candidate) else " (no workspace mark: uploaded by an older reconciler)"
            walk.drift.append(Drift(address, doc.type, "adopted",
                                    f"found {candidate['id']} with the same content, uploaded by an earlier "
                                    f"run that did not record it{older}"))
            return Change(action=Action.ADOPT, after=inputs, reasons=(f"adopt {candidate['id']} (same sha256)",),
                          steps=(Step(Op.ADOPT, candidate["id"], {"id": candidate["id"]}),),
                          prior_id=rs.id if rs else None, **base)
        planned(UNKNOWN, None)
        walk.waiting[address] = f"{address} is not uploaded yet"
        reason = "not in state" if rs is None else (interrupted or f"file {rs.id} no longer exists")
        return Change(action=Action.CREATE, after=inputs, reasons=(reason,),
                      steps=(upload_step(walk, inputs, str(F.local_path(doc, spec)), rs),),
                      prior_id=rs.id if rs else None, **base)

    recorded = rs.inputs or {}
    before = {**recorded, "id": rs.id}
    forced = address in walk.replace
    if forced or (recorded.get("sha256") and recorded.get("sha256") != inputs["sha256"]):
        if doc.lifecycle.prevent_destroy:
            raise PlanError(f"{address}: lifecycle.prevent_destroy is set, but the plan would replace file {rs.id}")
        planned(UNKNOWN, None)
        walk.waiting[address] = f"{address} is being re-uploaded"
        attrs = (AttrChange("sha256", recorded.get("sha256"), inputs["sha256"], forces_replacement=True),)
        reasons: tuple[str, ...] = (("replacement requested with --replace",) if forced
                                    else (f"the content of {inputs['path']} changed",))
        if interrupted:
            reasons = (*reasons, interrupted)
        upload = upload_step(walk, inputs, str(F.local_path(doc, spec)), rs)
        kept = used_elsewhere(walk, rs.id)
        move = walk.platform_moves.get(address)
        if move is not None:  # to another platform: the old upload stays there, it only leaves our state
            kept = f"moves from {move[0]} to {move[1]}: the {move[0]} file is kept, not deleted"
        if kept:  # the old upload stays for the job that uses it; it only leaves our state
            return Change(action=Action.REPLACE, before=before, after=inputs, attrs=attrs,
                          reasons=(*reasons, f"{kept}; the old {rs.id} only leaves our state"),
                          steps=(upload, Step(Op.FORGET, f"{rs.id} leaves state, not deleted", {"id": rs.id})),
                          prior_id=rs.id, replace=ReplaceMode.CREATE_THEN_FORGET, **base)
        return Change(action=Action.REPLACE, before=before, after=inputs, attrs=attrs, reasons=reasons,
                      steps=(upload, Step(Op.DELETE_FILE, f"delete {rs.id}", {"id": rs.id}),
                             *_deposed_steps(walk, rs)),
                      prior_id=rs.id, replace=ReplaceMode.CREATE_THEN_DESTROY, **base)
    planned(rs.id, live)
    leftover = _deposed_steps(walk, rs)
    if leftover:  # an earlier re-upload's old file, not deleted yet (its run stopped first)
        return Change(action=Action.UPDATE, before=before, after=inputs, prior_id=rs.id, steps=leftover,
                      reasons=(f"the old upload {', '.join(s.args['id'] for s in leftover)} of an earlier "
                               "re-upload was not deleted yet",), **base)
    return Change(action=Action.NOOP, before=before, after=inputs, prior_id=rs.id, **base)


def _interrupted_upload(rs: Any) -> str | None:
    """Why the plan mentions an Upload a killed run left half sent (state meta `uploading`)."""
    progress = (rs.meta or {}).get(UPLOADING) if rs is not None else None
    if not isinstance(progress, dict) or not progress.get("id"):
        return None
    sent = progress.get("parts")
    return f"an earlier run was stopped while sending Upload {progress['id']} ({len(sent) if isinstance(sent, dict) else 0} parts sent)"


def upload_step(walk: Walk, inputs: dict[str, Any], local: str, rs: Any = None) -> Step:
    """The upload, as the plan shows it: one Files API request, or an Upload in parts (a file over
    Settings `uploads.threshold_bytes`, 512 MiB by default: the Files API's limit)."""
    size = int(inputs["bytes"])
    settings = walk.uploads
    if not settings.via_uploads(size):
        return Step(Op.UPLOAD, f"upload {inputs['path']} ({size} bytes)", {"path": local})
    count = settings.parts(size)
    progress = (rs.meta or {}).get(UPLOADING) if rs is not None else None
    resumable = (isinstance(progress, dict) and progress.get("sha256") == inputs["sha256"]
                 and progress.get("part_bytes") == settings.part_bytes and isinstance(progress.get("parts"), dict))
    left = count - len(progress["parts"]) if resumable and isinstance(progress, dict) else count
    how = (f" (continuing Upload {progress['id']}: {left} parts left)"  # type: ignore[index]
           if resumable else "")
    return Step(Op.UPLOAD, f"upload {inputs['path']} ({size} bytes) through the Uploads API in {count} parts of "
                           f"at most {settings.part_bytes} bytes, {settings.parallel_parts} at a time{how}",
                {"path": local, "via": "uploads", "part_bytes": settings.part_bytes,
                 "parallel": settings.parallel_parts})


def _deposed_steps(walk: Walk, rs: Any) -> tuple[Step, ...]:
    """Delete steps for the earlier uploads of this address a re-upload left to delete later
    (state meta `deposed`, kinds/file/apply.py), unless a job of ours still trains on one (its
    replacement did not happen yet), another's job uses it, or it is gone already."""
    recorded = (rs.meta or {}).get("deposed")
    ids = [i for i in recorded if isinstance(i, str) and i] if isinstance(recorded, list) else []
    if not ids:
        return ()
    ours = {(r.inputs or {}).get(k) for r in walk.state.resources.values() if r.kind == JOB_KIND
            for k in ("training_file", "validation_file")}
    files = walk.snapshot.files if walk.refreshed else None
    return tuple(Step(Op.DELETE_FILE, f"delete {i} (the old upload)", {"id": i}) for i in ids
                 if i not in ours and not used_elsewhere(walk, i) and (files is None or i in files))


def _adoption_candidate(walk: Walk, inputs: dict[str, Any], profile: str = DEFAULT_PROVIDER) -> dict[str, Any] | None:
    """An upload an interrupted run of this workspace made: the name carries our lineage mark (or,
    in a state written before, is the plain name an older reconciler uploaded), the size matches,
    no address owns it, and its content hashes the same (downloaded only in that rare case: the
    hash is a read refresh makes when asked). Another workspace's upload is never adopted."""
    if not walk.refreshed or walk.snapshot.files is None:
        return None
    names = {marked_filename(inputs["filename"], walk.state.lineage)}
    if legacy_adoptable(walk.state.serial):
        names.add(inputs["filename"])
    owned = {r.id for r in walk.state.resources.values() if r.kind == F.KIND}
    for file in sorted(walk.snapshot.files.values(), key=lambda f: -(f.get("created_at") or 0)):
        if file["id"] in owned or file.get("filename") not in names or not walk.snapshot.listed_for(file["id"], profile):
            continue  # (another profile's project: a job of this address could not train on it)
        if file.get("bytes") != inputs["bytes"]:
            continue
        if walk.reads.file_sha256(file["id"]) == inputs["sha256"]:
            return file
    return None


def used_elsewhere(walk: Walk, file_id: str | None) -> str | None:
    """Why `file_id` must not be deleted, or None: a job that is not ours (not in our state, not
    carrying our lineage mark) trains on it — another workspace's, or one made by hand. Without a
    refresh nothing is known, and the file is deleted as planned."""
    if not walk.refreshed or not file_id:
        return None
    ours = {r.id for r in walk.state.resources.values() if r.kind == JOB_KIND}
    lineage = mark(walk.state.lineage)
    users = sorted((str(j.get("id")), job_owner(j)) for j in walk.reads.all_jobs()
                   if file_id in (j.get("training_file"), j.get("validation_file"))
                   and j.get("id") not in ours and job_owner(j) != lineage)
    if not users:
        return None
    job_id, owner = users[0]
    more = f" and {len(users) - 1} more" if len(users) > 1 else ""
    return f"kept: used by job {job_id}{more} {owner_note(owner)}"


def plan_file_destroy(address: str, rs: Any, walk: Walk, *, prevent_destroy: bool = False) -> Change:
    if rs.id is None:   # only an Upload a killed run began (it expires within its hour): no File to delete
        return Change(address=address, kind=rs.kind, action=Action.FORGET, before={**(rs.inputs or {}), "id": None},
                      reasons=(f"not in the specs; {_interrupted_upload(rs) or 'no file was made'}",),
                      steps=(Step(Op.FORGET, "remove from state", {"id": None}),), prior_id=None)
    if prevent_destroy:
        raise PlanError(f"{address}: lifecycle.prevent_destroy is set, but the plan would delete file {rs.id}")
    live = walk.snapshot.files.get(rs.id) if walk.refreshed and walk.snapshot.files is not None else rs.attributes
    before = {**(rs.inputs or {}), "id": rs.id}
    kept = used_elsewhere(walk, rs.id) if live else None
    if kept:
        return Change(address=address, kind=rs.kind, action=Action.FORGET, before=before,
                      reasons=(f"{kept}; not in the specs, so {rs.id} only leaves our state",),
                      steps=(Step(Op.FORGET, "remove from state", {"id": rs.id}),), prior_id=rs.id)
    if live:
        return Change(address=address, kind=rs.kind, action=Action.DELETE, before=before,
                      reasons=("not in the specs",),
                      steps=(*_deposed_steps(walk, rs), Step(Op.DELETE_FILE, f"delete {rs.id}", {"id": rs.id})),
                      prior_id=rs.id)
    return Change(address=address, kind=rs.kind, action=Action.FORGET, before=before,
                  reasons=(f"not in the specs; {rs.id} no longer exists",),
                  steps=(Step(Op.FORGET, "remove from state", {"id": rs.id}),), prior_id=rs.id)
