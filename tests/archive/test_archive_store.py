"""The archive's pure parts, table-driven, on a real filesystem: folder names, result-file decoding,
and the store's keep / write / refuse rules (reconciler/archive/store.py)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import BinaryIO

import pytest

from reconciler.archive.job import _decoded, folder_name
from reconciler.archive.store import ArchiveConflict, ArchiveDir
from reconciler.errors import ReconcilerError

CSV = b"step,train_loss\n1,0.5\n2,0.4\n"


@pytest.mark.parametrize(("address", "folder"), [
    ("FineTuningJob.bot", "FineTuningJob.bot"),
    ("FineTuningJob.sweep-1_a", "FineTuningJob.sweep-1_a"),
    ('FineTuningJob.sweep["lr=0.1"]', "FineTuningJob.sweep%5B%22lr%3D0.1%22%5D"),
    ('FineTuningJob.x["a/b"]', "FineTuningJob.x%5B%22a%2Fb%22%5D"),
    ('FineTuningJob.x[".."]', "FineTuningJob.x%5B%22..%22%5D"),
])
def test_folder_names_are_safe_and_one_to_one(address: str, folder: str) -> None:
    assert folder_name(address) == folder and "/" not in folder


@pytest.mark.parametrize(("raw", "expected"), [
    (base64.b64encode(CSV), CSV),                                   # what the API answers
    (base64.encodebytes(CSV * 2000), CSV * 2000),                   # wrapped in lines, several chunks
    (CSV, CSV),                                                     # already a CSV: kept as is
    (b"", b""),
])
def test_result_files_are_decoded(raw: bytes, expected: bytes) -> None:
    sink = io.BytesIO()
    _decoded(io.BytesIO(raw), sink)
    assert sink.getvalue() == expected


def test_cut_base64_is_an_error() -> None:
    with pytest.raises(ReconcilerError, match="cut short"):
        _decoded(io.BytesIO(base64.b64encode(CSV)[:-3]), io.BytesIO())


def _writer(data: bytes, calls: list[int]):  # type: ignore[no-untyped-def]
    def produce(sink: BinaryIO) -> None:
        calls.append(1)
        sink.write(data)
    return produce


def test_write_then_keep_without_making_it_again(tmp_path: Path) -> None:
    calls: list[int] = []
    store = ArchiveDir(tmp_path)
    store.put("a/x.json", _writer(b"one", calls), source="test")
    again = ArchiveDir(tmp_path)
    again.put("a/x.json", _writer(b"one", calls), source="test")
    assert calls == [1] and store.done.written == ["a/x.json"] and again.done.kept == ["a/x.json"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["files"]["a/x.json"]["bytes"] == 3 and not list(tmp_path.rglob("*.part"))


@pytest.mark.parametrize(("on_disk", "recorded", "new", "outcome"), [
    (b"one", False, b"one", "kept"),       # renamed, then killed before the manifest: same bytes
    (b"one", False, b"two", "refused"),    # not ours
    (b"edited", True, b"one", "refused"),  # ours, then edited by hand
    (b"edited", True, b"edited", "kept"),  # edited to what the run makes anyway
])
def test_a_file_already_there(tmp_path: Path, on_disk: bytes, recorded: bool, new: bytes, outcome: str) -> None:
    if recorded:
        ArchiveDir(tmp_path).put_bytes("x.txt", b"one", source="test")
    (tmp_path / "x.txt").write_bytes(on_disk)
    store = ArchiveDir(tmp_path)
    if outcome == "refused":
        with pytest.raises(ArchiveConflict, match=r"x\.txt: exists with other content .* not overwritten"):
            store.put_bytes("x.txt", new, source="test")
    else:
        store.put_bytes("x.txt", new, source="test")
        assert store.done.kept == ["x.txt"]
    assert (tmp_path / "x.txt").read_bytes() == on_disk and not list(tmp_path.rglob("*.part"))


def test_a_foreign_manifest_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("[1, 2]")
    with pytest.raises(ReconcilerError, match="not an archive manifest"):
        ArchiveDir(tmp_path)
