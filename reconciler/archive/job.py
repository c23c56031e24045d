"""What one job's folder of an archive holds: everything it takes to train the job again elsewhere.

`<address>/spec.json` (the document as written, and the resolved create body the state recorded),
`recipe.json` (base model, method with the hyperparameters the API resolved, seed, suffix, files
and their sha256), `job.json` (the live job as read), `training.jsonl` / `validation.jsonl` (copied
from the spec folder when the state's sha256 matches, else downloaded: GET /files/{id}/content),
`results/<file id>.csv` (the job's result files, base64-decoded: the API answers base64 of a CSV),
`events.jsonl` and `checkpoints.jsonl` (every page, as the API lists them: newest first)."""

from __future__ import annotations

import binascii
import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from reconciler.api.protocols import Downloader
from reconciler.archive.store import ArchiveDir
from reconciler.digests import sha256_file
from reconciler.errors import NotFoundError, ReconcilerError

__all__ = ["FINISHED", "JobArchive", "archive_job", "folder_name"]

FINISHED = ("succeeded", "failed", "cancelled")
_CHUNK = 1024 * 1024
_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n\t ")


@dataclass(frozen=True)
class JobArchive:
    address: str
    job_id: str
    folder: str
    status: str                # archived, skipped
    reason: str = ""


def folder_name(address: str) -> str:
    """`FineTuningJob.sweep["lr=0.1"]` -> a name safe on every filesystem (percent-encoded)."""
    return quote(address, safe="._-")


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _lines(items: Iterable[Mapping[str, Any]]) -> Any:
    def produce(sink: BinaryIO) -> None:
        for item in items:
            sink.write(json.dumps(item, sort_keys=True, ensure_ascii=False).encode() + b"\n")
    return produce


def _decoded(raw: BinaryIO, sink: BinaryIO) -> None:
    """Copy a result file's content: base64 (what the API answers) decoded in chunks, else as is."""
    head = raw.read(4096)
    raw.seek(0)
    if not head or not set(head) <= _B64:
        shutil.copyfileobj(raw, sink, _CHUNK)
        return
    rest = b""
    while chunk := raw.read(_CHUNK):
        data = rest + bytes(c for c in chunk if c not in b"\r\n\t ")
        cut = len(data) - len(data) % 4
        try:
            sink.write(binascii.a2b_base64(data[:cut]))
        except binascii.Error as exc:
            raise ReconcilerError(f"a result file is neither a CSV nor base64 of one ({exc})") from None
        rest = data[cut:]
    if rest:
        raise ReconcilerError("a result file's base64 content is cut short")


class _Job:
    def __init__(self, client: Downloader, store: ArchiveDir, folder: str, state_files: Mapping[str, Any],
                 local_paths: Mapping[str, Path]) -> None:
        self.client = client
        self.store = store
        self.folder = folder
        self.state_files = state_files      # file id -> its File record in state (sha256 of the upload)
        self.local_paths = local_paths      # file id -> the File's local path in the spec folder

    def _download(self, file_id: str) -> Any:
        def produce(sink: BinaryIO) -> None:
            self.client.download_file_to(file_id, sink)
        return produce

    def data_file(self, name: str, file_id: str) -> dict[str, Any]:
        record = self.state_files.get(file_id)
        expected = (record.inputs or {}).get("sha256") if record is not None else None
        local = self.local_paths.get(file_id)
        source = f"GET /files/{file_id}/content"
        produce = self._download(file_id)
        if local is not None and expected and local.is_file() and sha256_file(local)[0] == expected:
            source = f"copied from {local}"

            def produce(sink: BinaryIO, local: Path = local) -> None:
                with open(local, "rb") as fh:
                    shutil.copyfileobj(fh, sink, _CHUNK)
        sha = self.store.put(f"{self.folder}/{name}", produce, source=source)
        if expected and sha != expected:
            raise ReconcilerError(f"{self.folder}/{name}: the content of {file_id} has sha256 {sha[:12]}…, not the "
                                  f"{str(expected)[:12]}… the state recorded for its upload; check the file")
        return {"id": file_id, "sha256": sha, "path": name}

    def result_file(self, file_id: str) -> str:
        name = f"results/{file_id}.csv"

        def produce(sink: BinaryIO) -> None:
            with tempfile.TemporaryFile(dir=self.store.root) as raw:
                self.client.download_file_to(file_id, raw)
                raw.seek(0)
                _decoded(raw, sink)
        self.store.put(f"{self.folder}/{name}", produce, source=f"GET /files/{file_id}/content, base64-decoded")
        return name


def archive_job(client: Downloader, store: ArchiveDir, address: str, resource: Any, document: Any,
                state_files: Mapping[str, Any], local_paths: Mapping[str, Path]) -> JobArchive:
    folder = folder_name(address)
    try:
        job = dict(client.get_job(resource.id))
    except NotFoundError:
        return JobArchive(address, resource.id, folder, "skipped", f"{resource.id} no longer exists")
    status = str(job.get("status"))
    if status not in FINISHED:
        return JobArchive(address, resource.id, folder, "skipped",
                          f"{resource.id} is {status}: archive it once it has finished")
    work = _Job(client, store, folder, state_files, local_paths)
    spec = {"address": address, "kind": getattr(document, "kind", resource.kind),
            "spec": getattr(document, "spec", None), "inputs": resource.inputs or None}
    store.put_bytes(f"{folder}/spec.json", _json(spec), source="the spec document and the state's inputs")
    store.put_bytes(f"{folder}/job.json", _json(job), source=f"GET /fine_tuning/jobs/{resource.id}")
    files = {}
    for key, name in (("training_file", "training.jsonl"), ("validation_file", "validation.jsonl")):
        if isinstance(job.get(key), str) and job[key]:
            files[key] = work.data_file(name, job[key])
    results = [work.result_file(f) for f in job.get("result_files") or [] if isinstance(f, str)]
    store.put(f"{folder}/events.jsonl", _lines(client.list_events(resource.id)),
              source=f"GET /fine_tuning/jobs/{resource.id}/events (every page)")
    store.put(f"{folder}/checkpoints.jsonl", _lines(client.list_checkpoints(resource.id)),
              source=f"GET /fine_tuning/jobs/{resource.id}/checkpoints (every page)")
    recipe = {"job_id": resource.id, "status": status, "model": job.get("model"), "method": job.get("method"),
              "hyperparameters": job.get("hyperparameters"), "seed": job.get("seed"),
              "suffix": job.get("user_provided_suffix", (resource.inputs or {}).get("suffix")),
              "metadata": job.get("metadata"), "integrations": job.get("integrations"), "files": files,
              "result_files": results, "fine_tuned_model": job.get("fine_tuned_model"),
              "trained_tokens": job.get("trained_tokens")}
    store.put_bytes(f"{folder}/recipe.json", _json(recipe), source="the live job, resolved")
    store.note_job(address, {"job_id": resource.id, "status": status, "folder": folder})
    return JobArchive(address, resource.id, folder, "archived")
