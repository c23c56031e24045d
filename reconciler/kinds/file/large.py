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


class _Upload:
    """One file's Upload: what it sends, and its progress journaled on the address in the state
    (recorded as each Part is acknowledged, so a killed run can continue it)."""

    def __init__(self, ctx: ApplyContext, client: PartSender, change: Change, step: Step, path: Path,
                 name: str, purpose: str, sha: str) -> None:
        self.ctx, self.client, self.address = ctx, client, change.address
        self.path, self.name, self.purpose, self.sha = path, name, purpose, sha
        self.size = path.stat().st_size
        self.part_bytes, self.parallel = int(step.args["part_bytes"]), int(step.args["parallel"])
        self.before = ctx.state.resources.get(self.address)
        self.base = self.before or ResourceState(address=self.address, kind=change.kind, id=None,
                                                 depends_on=list(change.depends_on))
        self.earlier = _resumable(self.before, sha, self.part_bytes)
        self.progress: dict[str, Any] = {"id": None, "sha256": sha, "part_bytes": self.part_bytes, "parts": {}}
        if self.earlier is not None:
            self.progress.update(id=self.earlier["id"], parts=dict(self.earlier["parts"]))
        self.lock = threading.Lock()
        self.md5 = ""

    def stale_id(self) -> str | None:
        """The id of an earlier Upload that cannot be continued (another content or part size)."""
        stale = self.before.meta.get(UPLOADING) if self.before is not None else None
        if self.earlier is None and isinstance(stale, dict) and isinstance(stale.get("id"), str):
            return str(stale["id"])
        return None

    def save(self) -> None:
        marked = copy.copy(self.base)
        marked.meta = {**self.base.meta, UPLOADING: copy.deepcopy(self.progress)}
        self.ctx.record(self.address, marked)

    def on_started(self, upload_id: str) -> None:
        with self.lock:
            self.progress.update(id=upload_id, parts={})
            self.save()
        self.ctx.announce(self.address, f"sending {self.path.name} as Upload {upload_id}")

    def on_part(self, index: int, part_id: str) -> None:
        with self.lock:
            self.progress["parts"][str(index)] = part_id
            self.save()

    def send(self, upload_id: str | None) -> dict[str, Any]:
        sent = {int(k): str(v) for k, v in self.progress["parts"].items()} if upload_id else {}
        return send_in_parts(self.client, self.path, filename=self.name, purpose=self.purpose, size=self.size,
                             part_bytes=self.part_bytes, parallel=self.parallel, md5=self.md5,
                             upload_id=upload_id, sent=sent, on_started=self.on_started, on_part=self.on_part)

    def find(self, since: float) -> dict[str, Any] | None:
        found, _ = find_uploaded(self.ctx, self.name, self.size, self.purpose, self.sha, since=since)
        return found

    def file_of(self, done: dict[str, Any]) -> dict[str, Any]:
        file = done.get("file")
        if not isinstance(file, dict) or not file.get("id"):
            raise ReconcilerError(f"the Upload {self.progress['id']} of {self.path} completed without a File in "
                                  "its answer")
        return dict(file)


def _continue_or_restart(upload: _Upload) -> dict[str, Any]:
    """The File: the earlier Upload continued, or, when the API says it cannot be, the File it
    already made (found by name, size and sha256) or a new Upload's."""
    try:
        return upload.file_of(upload.send(upload.progress["id"]))
    except ApiError as exc:
        earlier = upload.earlier
        if earlier is None or exc.status not in (400, 404) or ambiguous(exc):
            raise
        found = upload.find(since=0)
        if found is not None:   # the earlier run completed it, then died before recording the File
            return found
        upload.ctx.note(upload.address, f"Upload {earlier['id']} cannot be continued ({exc.message}): "
                        "starting a new one")
        return upload.file_of(upload.send(None))


def _after_failure(upload: _Upload, exc: ApiError, began: float) -> dict[str, Any] | None:
    """After an error answer: the File if a lost answer made it; None once the Upload is cancelled
    and the mark taken off the state (the caller raises the error); raises when it may still be
    running."""
    upload_id = upload.progress["id"]
    if ambiguous(exc):
        found = upload.find(since=began - CLOCK_SKEW)
        if found is not None:
            return found
        raise ReconcilerError(f"the Upload {upload_id} of {upload.path} may not have finished ({exc}); its parts "
                              "are recorded: apply again to continue it") from None
    if upload_id:
        _cancel(upload.ctx, upload.client, upload.address, upload_id)
    upload.ctx.record(upload.address, upload.before)
    return None


def upload_in_parts(ctx: ApplyContext, change: Change, step: Step, path: Path, name: str, purpose: str,
                    sha: str) -> dict[str, Any]:
    """The File made from `path` by an Upload (continued if a killed run began it)."""
    client = ctx.client
    if not isinstance(client, PartSender):
        raise ReconcilerError(f"{change.address}: this API client cannot send an Upload in parts; plan again with "
                              "a larger Settings uploads.threshold_bytes to upload it in one request")
    upload = _Upload(ctx, client, change, step, path, name, purpose, sha)
    stale = upload.stale_id()
    if stale is not None:
        _cancel(ctx, client, change.address, stale)
    upload.md5 = file_md5(path)
    began = server_now(ctx.client)
    try:
        return _continue_or_restart(upload)
    except ApiError as exc:
        found = _after_failure(upload, exc, began)
        if found is None:
            raise
        return found


def _cancel(ctx: ApplyContext, client: PartSender, address: str, upload_id: str) -> None:
    """Best effort: an Upload nobody completes expires within its hour anyway."""
    try:
        client.cancel_upload(upload_id)
        ctx.announce(address, f"cancelled Upload {upload_id}")
    except ApiError as exc:
        ctx.note(address, f"could not cancel Upload {upload_id} ({exc.message}); it expires within the hour")
