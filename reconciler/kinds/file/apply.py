"""Applying a File change: upload (checked against the planned content), delete, adopt, forget.

The upload is named for its workspace: `train.jsonl` is sent as `train.reconciler-<lineage>.jsonl`
(reconciler/resources/ownership.py), so another state on the same organisation never takes it for
its own.

An upload that may have had its effect (the client raises `AmbiguousCreateError`: a timeout, a
dropped connection, a 5xx after sending) is never re-sent blindly. The files listing is searched
for one this run could have made: the same filename, size and purpose, uploaded since the attempt
began (less a margin for clock skew), not already managed by any address, and with the same
sha256 (downloaded). Found: it is the upload. The listing answered and nothing of that name and
size is there: the upload is sent again (at most `UPLOAD_ATTEMPTS` in all). A candidate whose
content cannot be read, or a failed listing: the change fails with one line naming the file and
how to check it; nothing is uploaded again."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from reconciler.api.clock import server_now
from reconciler.errors import ApiError, NotFoundError, ReconcilerError
from reconciler.kinds.base import ApplyContext, Kind
from reconciler.kinds.file.inputs import sha256_of
from reconciler.kinds.file.large import upload_in_parts
from reconciler.kinds.file.uploaded import CLOCK_SKEW, ambiguous, find_uploaded
from reconciler.plan.model import Action, Change, Op, ReplaceMode, Step
from reconciler.resources.ownership import marked_filename
from reconciler.state import ResourceState

__all__ = ["DEPOSED", "UPLOAD_ATTEMPTS", "apply_file"]

DEPOSED = "deposed"  # meta: ids of earlier uploads of this address not deleted yet (a re-upload's old file)

UPLOAD_ATTEMPTS = 3


def apply_file(ctx: ApplyContext, change: Change) -> str | None:
    object_id: str | None = None
    resource: ResourceState | None = ctx.state.resources.get(change.address)
    for step in change.steps:
        if step.op is Op.UPLOAD:
            resource = _upload(ctx, change, step)
            object_id = resource.id
        elif step.op is Op.DELETE_FILE:
            resource = _delete(ctx, change, step, resource)
        elif step.op is Op.FORGET:
            resource = Kind.forget(ctx, change, step)
        elif step.op is Op.ADOPT:
            obj = dict(ctx.observed(change.address) or {})
            resource = ResourceState(address=change.address, kind=change.kind, id=step.args["id"],
                                     inputs=dict(change.after or {}),
                                     digest=str((change.after or {}).get("sha256", "")), attributes=obj,
                                     depends_on=list(change.depends_on), meta={"adopted": True})
            ctx.record(change.address, resource)
            ctx.remember(change, obj)
            object_id = resource.id
        else:  # pragma: no cover - the planner makes no other step for a file
            raise AssertionError(f"{change.address}: a file has no step {step.op.value}")
    return object_id


def _upload(ctx: ApplyContext, change: Change, step: Step) -> ResourceState:
    after = change.after or {}
    path = Path(step.args["path"])
    sha, _ = sha256_of(path)
    if sha != after.get("sha256"):
        raise ReconcilerError(f"{path} changed since the plan was made (sha256 {sha[:12]}…, "
                              f"planned {str(after.get('sha256'))[:12]}…); plan again")
    name = marked_filename(path.name, ctx.state.lineage)
    purpose = str(after.get("purpose") or "fine-tune")
    if step.args.get("via") == "uploads":
        obj = upload_in_parts(ctx, change, step, path, name, purpose, sha)
    else:
        obj = _upload_or_find(ctx, change.address, path, name, purpose, sha, ctx.key(change.address, sha, "upload"))
    # A re-upload: the old file is deleted later (after the jobs trained on it were replaced, see
    # the executor's deposed nodes); until then the state names it, so no crash loses track of it.
    before = ctx.state.resources.get(change.address)
    recorded = before.meta.get(DEPOSED) if before is not None else None
    old = [i for i in recorded if isinstance(i, str) and i] if isinstance(recorded, list) else []
    if change.replace is ReplaceMode.CREATE_THEN_DESTROY and change.prior_id and change.prior_id not in old:
        old.append(change.prior_id)
    resource = ResourceState(address=change.address, kind=change.kind, id=obj["id"], inputs=dict(after),
                             digest=sha, attributes=obj, depends_on=list(change.depends_on),
                             meta={DEPOSED: old} if old else {})
    ctx.record(change.address, resource)
    ctx.remember(change, obj)
    return resource


def _delete(ctx: ApplyContext, change: Change, step: Step, resource: ResourceState | None) -> ResourceState | None:
    # a destroy deletes the recorded file last; an old upload it still names (deposed) goes first
    gone = change.action is Action.DELETE and (resource is None or resource.id == step.args["id"])
    if gone and resource is not None:
        # Write-ahead: if this run dies after the DELETE but before recording it, the next plan
        # knows the file may be gone by our own hand (see plan.refresh.check_listing_sanity).
        marked = copy.copy(resource)
        marked.meta = {**resource.meta, "deleting": True}
        ctx.record(change.address, marked)
    ctx.announce(change.address, f"deleting {step.args['id']}")
    try:
        ctx.client.delete_file(step.args["id"])
    except NotFoundError:
        pass
    if gone:
        ctx.record(change.address, None)
        return None
    current = ctx.state.resources.get(change.address)
    if current is not None and isinstance(current.meta.get(DEPOSED), list) and step.args["id"] in current.meta[DEPOSED]:
        left = [i for i in current.meta[DEPOSED] if i != step.args["id"]]
        cleared = copy.copy(current)
        cleared.meta = {k: v for k, v in current.meta.items() if k != DEPOSED} | ({DEPOSED: left} if left else {})
        ctx.record(change.address, cleared)
        return cleared
    return resource


def _upload_or_find(ctx: ApplyContext, address: str, path: Path, name: str, purpose: str, sha: str,
                    key: str) -> dict[str, Any]:
    """Upload `path` as `name` (the filename carries our lineage mark), never twice."""
    size = path.stat().st_size
    check = (f"look for {name!r} ({size} bytes, purpose {purpose}) in the files list (GET /files), delete "
             "any stray copy or leave it (a file with the same name, size and content is adopted), then apply again")
    for attempt in range(1, UPLOAD_ATTEMPTS + 1):
        started = server_now(ctx.client)  # file times are the API's
        try:
            return ctx.client.upload_file(path, purpose=purpose, filename=name, idempotency_key=key)
        except ApiError as exc:
            if not ambiguous(exc):
                raise
            failure = exc
        try:
            found, unverified = find_uploaded(ctx, name, size, purpose, sha, since=started - CLOCK_SKEW)
        except ApiError as lookup:
            raise ReconcilerError(f"the upload of {path} may have succeeded ({failure}) and listing the "
                                  f"files to check failed ({lookup}); not uploading it again: {check}") from None
        if found is not None:
            return found
        if unverified:
            raise ReconcilerError(f"the upload of {path} may have succeeded ({failure}) and the content of "
                                  f"{', '.join(unverified[:3])} (same name and size) could not be read to tell; not "
                                  f"uploading it again: {check}")
        if attempt == UPLOAD_ATTEMPTS:
            raise ReconcilerError(f"the upload of {path} failed {attempt} times, each time without making "
                                  f"a file (looked up by name and size), last: {failure}")
        ctx.note(address, f"the upload failed ({failure.status or 'connection'}) and no file was made "
                          "(looked up by name and size): sending it again")
    raise AssertionError("unreachable")  # pragma: no cover
