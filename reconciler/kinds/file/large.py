"""Uploading a large File through the Uploads API, resumable from the state journal.

The plan's upload step says `via: uploads` (kinds/file/plan.py `upload_step`). The Upload's id,
and each Part's id as it is acknowledged, are journaled on the address (state meta `uploading`,
fsync'd before the next Part is counted as sent): a run killed half way leaves them in the state,
and the next apply sends only the Parts that are missing, then completes the same Upload. The
file is still named with the workspace's mark and checked against the planned sha256, as an
ordinary upload.

A failure the API answered (not a crash) cancels the Upload and takes the mark off the state. A
lost answer to `complete` (it may have made the File) looks the File up by name, size and sha256
first, as an ordinary upload does. An earlier Upload that can no longer be continued (expired
after its hour, or cancelled) is looked up the same way, then replaced by a new one."""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

from reconciler.api.clock import server_now
from reconciler.api.uploads import PartSender, file_md5, send_in_parts
from reconciler.errors import ApiError, ReconcilerError
from reconciler.kinds.base import ApplyContext
from reconciler.kinds.file.plan import UPLOADING
from reconciler.kinds.file.uploaded import CLOCK_SKEW, ambiguous, find_uploaded
from reconciler.plan.model import Change, Step
from reconciler.state import ResourceState

__all__ = ["upload_in_parts"]


def _resumable(before: ResourceState | None, sha: str, part_bytes: int) -> dict[str, Any] | None:
    progress = before.meta.get(UPLOADING) if before is not None else None
    if (isinstance(progress, dict) and isinstance(progress.get("id"), str) and progress.get("sha256") == sha
            and progress.get("part_bytes") == part_bytes and isinstance(progress.get("parts"), dict)):
        return progress
    return None


def upload_in_parts(ctx: ApplyContext, change: Change, step: Step, path: Path, name: str, purpose: str,
                    sha: str) -> dict[str, Any]:
    """The File made from `path` by an Upload (continued if a killed run began it)."""
    client = ctx.client
    address = change.address
    if not isinstance(client, PartSender):
        raise ReconcilerError(f"{address}: this API client cannot send an Upload in parts; plan again with a "
                              "larger Settings uploads.threshold_bytes to upload it in one request")
    size = path.stat().st_size
    part_bytes, parallel = int(step.args["part_bytes"]), int(step.args["parallel"])
    before = ctx.state.resources.get(address)
    base = before or ResourceState(address=address, kind=change.kind, id=None, depends_on=list(change.depends_on))
    earlier = _resumable(before, sha, part_bytes)
    stale = before.meta.get(UPLOADING) if before is not None else None
    if earlier is None and isinstance(stale, dict) and isinstance(stale.get("id"), str):
        _cancel(ctx, client, address, stale["id"])   # another content or part size: it cannot be continued
    progress: dict[str, Any] = {"id": None, "sha256": sha, "part_bytes": part_bytes, "parts": {}}
    if earlier is not None:
        progress.update(id=earlier["id"], parts=dict(earlier["parts"]))
    lock = threading.Lock()

    def save() -> None:
        marked = copy.copy(base)
        marked.meta = {**base.meta, UPLOADING: copy.deepcopy(progress)}
        ctx.record(address, marked)

    def on_started(upload_id: str) -> None:
        with lock:
            progress.update(id=upload_id, parts={})
            save()
        ctx.announce(address, f"sending {path.name} as Upload {upload_id}")

    def on_part(index: int, part_id: str) -> None:
        with lock:
            progress["parts"][str(index)] = part_id
            save()

    def send(upload_id: str | None) -> dict[str, Any]:
        sent = {int(k): str(v) for k, v in progress["parts"].items()} if upload_id else {}
        return send_in_parts(client, path, filename=name, purpose=purpose, size=size, part_bytes=part_bytes,
                             parallel=parallel, md5=md5, upload_id=upload_id, sent=sent,
                             on_started=on_started, on_part=on_part)

    md5 = file_md5(path)
    began = server_now(ctx.client)
    try:
        try:
            done = send(progress["id"])
        except ApiError as exc:
            if earlier is None or exc.status not in (400, 404) or ambiguous(exc):
                raise
            found, _ = find_uploaded(ctx, name, size, purpose, sha, since=0)
            if found is not None:   # the earlier run completed it, then died before recording the File
                return found
            ctx.note(address, f"Upload {earlier['id']} cannot be continued ({exc.message}): starting a new one")
            done = send(None)
    except ApiError as exc:
        upload_id = progress["id"]
        if ambiguous(exc):
            found, _ = find_uploaded(ctx, name, size, purpose, sha, since=began - CLOCK_SKEW)
            if found is not None:
                return found
            raise ReconcilerError(f"the Upload {upload_id} of {path} may not have finished ({exc}); its parts are "
                                  "recorded: apply again to continue it") from None
        if upload_id:
            _cancel(ctx, client, address, upload_id)
        ctx.record(address, before)
        raise
    file = done.get("file")
    if not isinstance(file, dict) or not file.get("id"):
        raise ReconcilerError(f"the Upload {progress['id']} of {path} completed without a File in its answer")
    return dict(file)


def _cancel(ctx: ApplyContext, client: PartSender, address: str, upload_id: str) -> None:
    """Best effort: an Upload nobody completes expires within its hour anyway."""
    try:
        client.cancel_upload(upload_id)
        ctx.announce(address, f"cancelled Upload {upload_id}")
    except ApiError as exc:
        ctx.note(address, f"could not cancel Upload {upload_id} ({exc.message}); it expires within the hour")
