"""The Uploads API: a large file sent as parts, then made one File (`/v1/uploads…`).

As the contract (openai/openai-openapi `createUpload`, `addUploadPart`, `completeUpload`,
`cancelUpload`) says: an Upload takes at most 8 GB, each Part at most 64 MB, expires an hour after
it is created, and becomes a File on completion from the Parts in the order the client lists them,
the total checked against the `bytes` announced and, if given, an md5 of the content. Parts stream
to disk as they arrive (BlobStore.stage) and stay there until completion joins them into the
File's content, streamed again: the sandbox holds a 1.5 GB upload without 1.5 GB of memory.

The real API's error texts for these checks are not published; the sandbox's own are marked so
in docs/SANDBOX.md.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from reconciler_sandbox.errors import bad_request, not_found
from reconciler_sandbox.multipart import stream_multipart
from reconciler_sandbox.persist import Staged
from reconciler_sandbox.projects import listing_filter

if TYPE_CHECKING:
    from reconciler_sandbox.routes import Handler, Request
    from reconciler_sandbox.world import World

UPLOAD_MAX_BYTES = 8 * 1024 ** 3           # "an Upload can accept at most 8 GB in total"
PART_MAX_BYTES = 64 * 1024 ** 2            # "Each Part can be at most 64 MB"
PART_BODY_LIMIT = PART_MAX_BYTES + 64 * 1024   # a part plus its multipart framing
EXPIRES_SECONDS = 3600                     # "expires after an hour after you create it"
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision")   # CreateUploadRequest.purpose
CREATE_FIELDS = ("filename", "purpose", "bytes", "mime_type")
PARTS_PATH = "/v1/uploads/{upload_id}/parts"


def upload_view(record: dict[str, Any], now: float) -> dict[str, Any]:
    """An Upload as the API answers it: `expired` once its hour has passed while pending."""
    view = {k: v for k, v in record.items() if not k.startswith("_")}
    if view["status"] == "pending" and now >= view["expires_at"]:
        view["status"] = "expired"
    return view


def _pending(world: World, upload_id: str, doing: str) -> dict[str, Any]:
    record = world.uploads.get(upload_id)
    if record is None:
        raise not_found(f"No such Upload object: {upload_id}", param="upload_id")
    status = upload_view(record, world.now())["status"]
    if status != "pending":
        raise bad_request(f"Cannot {doing} an Upload with status {status}: {upload_id}.",
                          param="upload_id", code="invalid_upload_status")
    return record


def _drop_parts(world: World, record: dict[str, Any]) -> None:
    for part_id in record["_parts"]:
        world.blobs.delete(part_id)
    record["_parts"] = {}


def _check_create_fields(body: Any) -> None:
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: expected a JSON object.")
    for name in CREATE_FIELDS:
        if name not in body:
            raise bad_request(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    extra = sorted(set(body) - {*CREATE_FIELDS, "expires_after"})
    if extra:
        raise bad_request(f"Unrecognized request argument supplied: {extra[0]}", param=extra[0],
                          code="unknown_parameter")


def _check_create_values(filename: Any, purpose: Any, size: Any, mime: Any) -> None:
    if not isinstance(filename, str) or not filename:
        raise bad_request("Invalid 'filename': expected a non-empty string.", param="filename", code="invalid_type")
    if purpose not in UPLOAD_PURPOSES:
        raise bad_request(f"'{purpose}' is not one of {', '.join(UPLOAD_PURPOSES)} - 'purpose'",
                          param="purpose", code="invalid_value")
    if not isinstance(mime, str) or not mime:
        raise bad_request("Invalid 'mime_type': expected a non-empty string.", param="mime_type", code="invalid_type")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise bad_request("Invalid 'bytes': expected a positive integer.", param="bytes", code="invalid_value")
    if size > UPLOAD_MAX_BYTES:
        raise bad_request(f"Invalid 'bytes': an Upload can accept at most {UPLOAD_MAX_BYTES} bytes "
                          f"(8 GB), got {size}.", param="bytes", code="invalid_value")
    if purpose == "fine-tune" and not filename.endswith(".jsonl"):
        raise bad_request(f"Invalid file format for Fine-Tuning API. Must be .jsonl (got {filename!r}).",
                          param="filename", code="invalid_file_format")


def _check_expires_after(expires_after: Any) -> None:
    if expires_after is None:
        return
    seconds = expires_after.get("seconds") if isinstance(expires_after, dict) else None
    if (not isinstance(expires_after, dict) or expires_after.get("anchor") != "created_at"
            or isinstance(seconds, bool) or not isinstance(seconds, int) or not 3600 <= seconds <= 2592000):
        raise bad_request("Invalid 'expires_after': expected {\"anchor\": \"created_at\", \"seconds\": "
                          "3600..2592000}.", param="expires_after", code="invalid_value")


def create_upload(world: World, req: Request) -> dict[str, Any]:
    body = req.json()
    _check_create_fields(body)
    filename, purpose, size, mime = body["filename"], body["purpose"], body["bytes"], body["mime_type"]
    _check_create_values(filename, purpose, size, mime)
    expires_after = body.get("expires_after")
    _check_expires_after(expires_after)

    def create() -> dict[str, Any]:
        with world.lock:
            upload_id = world._new_id("upload_", "upload")
            created = int(world.now())
            record: dict[str, Any] = {
                "object": "upload", "id": upload_id, "bytes": size, "created_at": created,
                "filename": filename, "purpose": purpose, "status": "pending",
                "expires_at": created + EXPIRES_SECONDS, "file": None,
                "_mime_type": mime, "_expires_after": expires_after, "_project": listing_filter(req),
                "_parts": {},
            }
            world.uploads[upload_id] = record
            world.changed()
            return upload_view(record, world.now())

    return world.idempotent(req.headers.get("idempotency-key"), "POST /uploads", create)


def add_part(world: World, req: Request) -> dict[str, Any]:
    upload_id = req.params["upload_id"]
    with world.lock.read():
        _pending(world, upload_id, "add a Part to")
    ctype = req.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise bad_request("A Part must be multipart/form-data with the field 'data'.", code="invalid_content_type")
    staged: list[tuple[BinaryIO, Path]] = []

    def sink() -> BinaryIO:
        staged.append(world.blobs.stage())
        return staged[-1][0]

    try:
        parts = stream_multipart(ctype, req.stream or io.BytesIO(req.body).read, sink)
        data = parts.get("data")
        if data is None or data.sink is None:
            raise bad_request("Missing required parameter: 'data'.", param="data", code="missing_required_parameter")
        if data.size > PART_MAX_BYTES:
            raise bad_request(f"Invalid 'data': a Part can be at most {PART_MAX_BYTES} bytes (64 MB), got "
                              f"{data.size}.", param="data", code="invalid_value")
        fh = data.sink
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        path = next(p for f, p in staged if f is fh)
        with world.lock:
            record = _pending(world, upload_id, "add a Part to")   # cancelled while the part streamed in
            received = sum(record["_parts"].values()) + data.size
            if received > UPLOAD_MAX_BYTES:
                raise bad_request(f"The Parts of Upload {upload_id} would exceed the Upload maximum of 8 GB.",
                                  param="data", code="invalid_value")
            part_id = world._new_id("part_", "part")
            world.blobs.put(part_id, Staged(path, data.size))
            record["_parts"] = {**record["_parts"], part_id: data.size}
            world.changed()
            return {"id": part_id, "object": "upload.part", "created_at": int(world.now()), "upload_id": upload_id}
    finally:
        for fh, path in staged:   # what was not adopted: an error, a second file part
            fh.close()
            path.unlink(missing_ok=True)


def _join(world: World, part_ids: list[str]) -> tuple[Staged, str]:
    """The parts' bytes, in order, copied to one staged file; and their md5 (hex)."""
    digest = hashlib.md5(usedforsecurity=False)
    out, path = world.blobs.stage()
    size = 0
    try:
        with out:
            for part_id in part_ids:
                source = world.blobs.reader(part_id)
                reader: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else source
                with reader:
                    while chunk := reader.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Staged(path, size), digest.hexdigest()


def _complete_body(body: Any) -> tuple[list[str], str | None]:
    """The part ids and md5 a complete request names, checked."""
    if not isinstance(body, dict) or "part_ids" not in body:
        raise bad_request("Missing required parameter: 'part_ids'.", param="part_ids",
                          code="missing_required_parameter")
    extra = sorted(set(body) - {"part_ids", "md5"})
    if extra:
        raise bad_request(f"Unrecognized request argument supplied: {extra[0]}", param=extra[0],
                          code="unknown_parameter")
    part_ids, md5 = body["part_ids"], body.get("md5")
    if not isinstance(part_ids, list) or not all(isinstance(p, str) for p in part_ids):
        raise bad_request("Invalid 'part_ids': expected a list of Part ids.", param="part_ids", code="invalid_type")
    if md5 is not None and not isinstance(md5, str):
        raise bad_request("Invalid 'md5': expected a string.", param="md5", code="invalid_type")
    return part_ids, md5


def _check_parts(record: dict[str, Any], upload_id: str, part_ids: list[str]) -> None:
    """The listed parts are this Upload's, each once, and hold exactly the bytes it was created for."""
    known = record["_parts"]
    for part_id in part_ids:
        if part_id not in known:
            raise bad_request(f"Part {part_id} does not belong to Upload {upload_id}.", param="part_ids",
                              code="invalid_value")
    if len(set(part_ids)) != len(part_ids):
        raise bad_request("Invalid 'part_ids': a Part is listed more than once.", param="part_ids",
                          code="invalid_value")
    total = sum(known[p] for p in part_ids)
    if total != record["bytes"]:
        raise bad_request(f"The Parts listed hold {total} bytes; the Upload was created for "
                          f"{record['bytes']} bytes.", param="part_ids", code="invalid_value")


def _reopen(world: World, record: dict[str, Any], staged: Staged | None = None) -> None:
    """A complete that failed: the joined bytes dropped, the Upload pending again."""
    if staged is not None:
        staged.path.unlink(missing_ok=True)
    with world.lock:
        record["status"] = "pending"


def _make_file(world: World, record: dict[str, Any], part_ids: list[str], md5: str | None) -> dict[str, Any]:
    """The File the parts make, joined in order and checked against the md5 if one was given."""
    try:
        staged, digest = _join(world, part_ids)
    except BaseException:
        _reopen(world, record)
        raise
    if md5 is not None and md5.strip().lower() != digest:
        _reopen(world, record, staged)
        raise bad_request(f"The md5 of the uploaded content is {digest}, not {md5}.", param="md5",
                          code="md5_mismatch")
    try:
        file: dict[str, Any] = world.upload_file(filename=record["filename"], purpose=record["purpose"],
                                                 content=staged, expires_after=record["_expires_after"],
                                                 project=record["_project"])
    except BaseException:
        _reopen(world, record, staged)
        raise
    return file


def complete_upload(world: World, req: Request) -> dict[str, Any]:
    upload_id = req.params["upload_id"]
    part_ids, md5 = _complete_body(req.json())
    with world.lock:
        record = _pending(world, upload_id, "complete")
        _check_parts(record, upload_id, part_ids)
        record["status"] = "completing"   # no other part, complete or cancel while the parts are joined
    file = _make_file(world, record, part_ids, md5)
    with world.lock:
        _drop_parts(world, record)
        record["status"] = "completed"
        record["file"] = file
        world.changed()
        return upload_view(record, world.now())


def cancel_upload(world: World, req: Request) -> dict[str, Any]:
    upload_id = req.params["upload_id"]
    with world.lock:
        record = _pending(world, upload_id, "cancel")
        _drop_parts(world, record)
        record["status"] = "cancelled"
        world.changed()
        return upload_view(record, world.now())


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/v1/uploads", create_upload),
    ("POST", PARTS_PATH, add_part),
    ("POST", "/v1/uploads/{upload_id}/complete", complete_upload),
    ("POST", "/v1/uploads/{upload_id}/cancel", cancel_upload),
]


def is_part(method: str, path: str) -> bool:
    parts = path.rstrip("/").split("/")
    return method == "POST" and len(parts) == 5 and parts[1:3] == ["v1", "uploads"] and parts[4] == "parts"

