"""Planning a File: upload, re-upload on new content, adopt an earlier upload, delete (pure)."""

from __future__ import annotations

from typing import Any

from reconciler.errors import PlanError, SpecError
from reconciler.kinds.file import inputs as F
from reconciler.plan.model import Action, AttrChange, Change, Drift, Op, ReplaceMode, Step
from reconciler.plan.walk import Walk
from reconciler.values import UNKNOWN


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
    if rs is not None:
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
        candidate = _adoption_candidate(walk, inputs)
        if candidate is not None:
            planned(candidate["id"], candidate)
            walk.live[address] = candidate
            walk.drift.append(Drift(address, doc.type, "adopted",
                                    f"found {candidate['id']} with the same content, uploaded by an earlier "
                                    "run that did not record it"))
            return Change(action=Action.ADOPT, after=inputs, reasons=(f"adopt {candidate['id']} (same sha256)",),
                          steps=(Step(Op.ADOPT, candidate["id"], {"id": candidate["id"]}),),
                          prior_id=rs.id if rs else None, **base)
        planned(UNKNOWN, None)
        walk.waiting[address] = f"{address} is not uploaded yet"
        reason = "not in state" if rs is None else f"file {rs.id} no longer exists"
        return Change(action=Action.CREATE, after=inputs, reasons=(reason,),
                      steps=(Step(Op.UPLOAD, f"upload {inputs['path']} ({inputs['bytes']} bytes)",
                                   {"path": str(F.local_path(doc, spec))}),),
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
        return Change(action=Action.REPLACE, before=before, after=inputs, attrs=attrs,
                      reasons=("replacement requested with --replace",) if forced else
                      (f"the content of {inputs['path']} changed",),
                      steps=(Step(Op.UPLOAD, f"upload {inputs['path']} ({inputs['bytes']} bytes)",
                                   {"path": str(F.local_path(doc, spec))}),
                             Step(Op.DELETE_FILE, f"delete {rs.id}", {"id": rs.id})),
                      prior_id=rs.id, replace=ReplaceMode.CREATE_THEN_DESTROY, **base)
    planned(rs.id, live)
    return Change(action=Action.NOOP, before=before, after=inputs, prior_id=rs.id, **base)


def _adoption_candidate(walk: Walk, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """An uploaded file with the same name and size that no address owns, whose content hashes the
    same (downloaded only in that rare case: the hash is a read refresh makes when asked)."""
    if not walk.refreshed or walk.snapshot.files is None:
        return None
    owned = {r.id for r in walk.state.resources.values() if r.kind == F.KIND}
    for file in sorted(walk.snapshot.files.values(), key=lambda f: -(f.get("created_at") or 0)):
        if file["id"] in owned or file.get("filename") != inputs["filename"]:
            continue
        if file.get("bytes") != inputs["bytes"]:
            continue
        if walk.reads.file_sha256(file["id"]) == inputs["sha256"]:
            return file
    return None


def plan_file_destroy(address: str, rs: Any, walk: Walk, *, prevent_destroy: bool = False) -> Change:
    if prevent_destroy:
        raise PlanError(f"{address}: lifecycle.prevent_destroy is set, but the plan would delete file {rs.id}")
    live = walk.snapshot.files.get(rs.id) if walk.refreshed and walk.snapshot.files is not None else rs.attributes
    before = {**(rs.inputs or {}), "id": rs.id}
    if live:
        return Change(address=address, kind=rs.kind, action=Action.DELETE, before=before,
                      reasons=("not in the specs",),
                      steps=(Step(Op.DELETE_FILE, f"delete {rs.id}", {"id": rs.id}),), prior_id=rs.id)
    return Change(address=address, kind=rs.kind, action=Action.FORGET, before=before,
                  reasons=(f"not in the specs; {rs.id} no longer exists",),
                  steps=(Step(Op.FORGET, "remove from state", {"id": rs.id}),), prior_id=rs.id)
