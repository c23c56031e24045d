"""The Uploads API: a large file sent as an Upload in Parts, each streamed from its slice of the file.

`UploadsApi` is the four calls (`POST /uploads`, `/uploads/{id}/parts`, `/complete`, `/cancel`),
mixed into `ApiClient` over its public `request`. `send_in_parts` sends a file: it starts an
Upload (or continues a known one), sends the Parts not sent yet, at most `parallel` at a time,
and completes the Upload with the Part ids in file order and the file's md5. Memory stays bounded
whatever the file's size: a Part is read from disk in 64 KiB pieces as it is sent, never whole.
Every Part sent is reported (`on_part`) as it is acknowledged, so a caller can journal it and a
run killed half way continues where it stopped instead of sending everything again."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable
from urllib.parse import quote

__all__ = ["TRANSFER_RATE_FLOOR", "PartSender", "SliceReader", "UploadsApi", "file_md5", "mime_type_for",
           "send_in_parts"]

TRANSFER_RATE_FLOOR = 256 * 1024    # bytes/s: uploads and downloads get deadline + size / this

Obj = dict[str, Any]
READ_PIECE = 1 << 20


class SliceReader(io.RawIOBase):
    """`length` bytes of `fh` from `offset`, as a file of its own: `seek(0, SEEK_END)` is its
    length (so the multipart body has a Content-Length) and reads never pass its end."""

    def __init__(self, fh: BinaryIO, offset: int, length: int) -> None:
        super().__init__()
        self._fh = fh
        self._offset = offset
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = max(0, min(self._length, base + pos))
        return self._pos

    def read(self, size: int = -1) -> bytes:
        left = self._length - self._pos
        if size is None or size < 0 or size > left:
            size = left
        if size == 0:
            return b""
        self._fh.seek(self._offset + self._pos)
        data = self._fh.read(size)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def mime_type_for(filename: str) -> str:
    return "text/jsonl" if filename.endswith(".jsonl") else "application/octet-stream"


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(READ_PIECE):
            digest.update(chunk)
    return digest.hexdigest()


class _Requester(Protocol):
    deadline: float

    def request(self, method: str, path: str, **kwargs: Any) -> Any: ...


class UploadsApi:
    """The Uploads API's calls; the class they are mixed into provides `request` and `deadline`."""

    def create_upload(self: _Requester, *, filename: str, purpose: str, size: int, mime_type: str) -> Obj:
        # A lost answer costs nothing: an Upload nobody completes expires within the hour, no File.
        result: Obj = self.request("POST", "/uploads", json_body={"filename": filename, "purpose": purpose,
                                                                  "bytes": size, "mime_type": mime_type},
                                   operation=f"start an Upload of {filename}")
        return result

    def add_upload_part(self: _Requester, upload_id: str, path: Path, offset: int, length: int) -> Obj:
        """One Part: `length` bytes of `path` from `offset`, streamed (the file is reopened for every
        retry). Sending a Part again is harmless: only the ids listed on completion count."""
        @contextlib.contextmanager
        def fields() -> Iterator[dict[str, Any]]:
            with open(path, "rb") as fh:
                yield {"data": ("part", SliceReader(fh, offset, length), "application/octet-stream")}

        result: Obj = self.request("POST", f"/uploads/{quote(upload_id, safe='')}/parts", files=fields,
                                   operation=f"send a Part of {upload_id}",
                                   deadline=self.deadline + length / TRANSFER_RATE_FLOOR)
        return result

    def complete_upload(self: _Requester, upload_id: str, part_ids: list[str], md5: str | None = None) -> Obj:
        body: Obj = {"part_ids": part_ids}
        if md5:
            body["md5"] = md5
        result: Obj = self.request("POST", f"/uploads/{quote(upload_id, safe='')}/complete", json_body=body,
                                   operation=f"complete {upload_id}", creating=True)
        return result

    def cancel_upload(self: _Requester, upload_id: str) -> Obj:
        result: Obj = self.request("POST", f"/uploads/{quote(upload_id, safe='')}/cancel",
                                   operation=f"cancel {upload_id}")
        return result


@runtime_checkable
class PartSender(Protocol):
    """A client that can send a file as an Upload in Parts (`ApiClient`; test doubles may not)."""

    def create_upload(self, *, filename: str, purpose: str, size: int, mime_type: str) -> Obj: ...
    def add_upload_part(self, upload_id: str, path: Path, offset: int, length: int) -> Obj: ...
    def complete_upload(self, upload_id: str, part_ids: list[str], md5: str | None = None) -> Obj: ...
    def cancel_upload(self, upload_id: str) -> Obj: ...


def send_in_parts(client: PartSender, path: Path, *, filename: str, purpose: str, size: int, part_bytes: int,
                  parallel: int, md5: str, upload_id: str | None = None, sent: Mapping[int, str] | None = None,
                  on_started: Callable[[str], None] = lambda _id: None,
                  on_part: Callable[[int, str], None] = lambda _i, _id: None) -> Obj:
    """Send `path` as an Upload and complete it; the completed Upload (its `file` is the File).

    `upload_id` and `sent` (Part index -> Part id): an Upload begun earlier and the Parts it has;
    only the others are sent. `on_started(id)` is called once a new Upload exists, `on_part(i, id)`
    as each Part is acknowledged (from one thread at a time)."""
    count = max(1, -(-size // part_bytes))
    parts: dict[int, str] = dict(sent or {})
    if upload_id is None:
        upload_id = str(client.create_upload(filename=filename, purpose=purpose, size=size,
                                             mime_type=mime_type_for(filename))["id"])
        parts = {}
        on_started(upload_id)
    missing = [i for i in range(count) if i not in parts]
    lock = threading.Lock()

    def send(index: int) -> None:
        offset = index * part_bytes
        answer = client.add_upload_part(upload_id, path, offset, min(part_bytes, size - offset))
        with lock:
            parts[index] = str(answer["id"])
            on_part(index, parts[index])

    if missing:
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(missing))),
                                thread_name_prefix="upload-part") as pool:
            futures: list[Future[None]] = [pool.submit(send, i) for i in missing]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in done if f.exception() is not None), None)
            if failed is not None:
                for future in futures:
                    future.cancel()
                pool.shutdown(wait=True, cancel_futures=True)
                raise failed.exception()  # type: ignore[misc]
    result: Obj = client.complete_upload(upload_id, [parts[i] for i in range(count)], md5)
    return result
