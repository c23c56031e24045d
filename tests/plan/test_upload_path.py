"""Which path the plan gives a File (one Files API request, or an Upload in parts), what its step
says, and what it says of an Upload a killed run left half sent (kinds/file/plan.py, table-driven)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reconciler.config.upload_settings import FILES_API_LIMIT, PART_LIMIT, UploadSettings
from reconciler.kinds.file.plan import UPLOADING, _interrupted_upload, plan_file_destroy, upload_step
from reconciler.plan.model import Action, Op
from reconciler.state import ResourceState

MIB = 1024 * 1024


def _walk(**settings: int) -> SimpleNamespace:
    return SimpleNamespace(uploads=UploadSettings(**settings))


def _inputs(size: int, sha: str = "a" * 64) -> dict[str, object]:
    return {"path": "data/t.jsonl", "bytes": size, "sha256": sha}


@pytest.mark.parametrize(("size", "via", "text"), [
    (FILES_API_LIMIT, None, f"upload data/t.jsonl ({FILES_API_LIMIT} bytes)"),
    (FILES_API_LIMIT + 1, "uploads",
     f"upload data/t.jsonl ({FILES_API_LIMIT + 1} bytes) through the Uploads API in 9 parts of at most "
     f"{PART_LIMIT} bytes, 4 at a time"),
    (1536 * MIB, "uploads", f"through the Uploads API in 24 parts of at most {PART_LIMIT} bytes, 4 at a time"),
    (1, None, "upload data/t.jsonl (1 bytes)"),
])
def test_default_threshold_is_the_files_api_limit(size: int, via: str | None, text: str) -> None:
    step = upload_step(_walk(), _inputs(size), "/abs/data/t.jsonl")
    assert step.op is Op.UPLOAD and step.args.get("via") == via and text in step.detail
    if via:
        assert step.args["part_bytes"] == PART_LIMIT and step.args["parallel"] == 4


@pytest.mark.parametrize(("size", "threshold", "part", "parts"), [
    (1001, 1000, 100, 11), (1000, 999, 1000, 1), (2000, 1, 1000, 2), (2001, 1, 1000, 3),
])
def test_settings_move_the_threshold_and_the_part_size(size: int, threshold: int, part: int, parts: int) -> None:
    step = upload_step(_walk(threshold_bytes=threshold, part_bytes=part, parallel_parts=2), _inputs(size), "/p")
    assert f"in {parts} parts of at most {part} bytes, 2 at a time" in step.detail


def _interrupted(sha: str = "a" * 64, part: int = 100, sent: int = 3, id_: str | None = None) -> ResourceState:
    progress = {"id": "upload_x", "sha256": sha, "part_bytes": part, "parts": {str(i): f"part_{i}" for i in range(sent)}}
    return ResourceState(address="File.t", kind="File", id=id_, meta={UPLOADING: progress})


@pytest.mark.parametrize(("rs", "says"), [
    (_interrupted(), "(continuing Upload upload_x: 8 parts left)"),
    (_interrupted(sha="b" * 64), None),        # other content: a new Upload
    (_interrupted(part=50), None),             # other part size: the Parts do not fit
    (ResourceState(address="File.t", kind="File", id="file-1"), None),
])
def test_an_interrupted_upload_is_continued_only_when_it_fits(rs: ResourceState, says: str | None) -> None:
    step = upload_step(_walk(threshold_bytes=10, part_bytes=100), _inputs(1050), "/p", rs)
    assert ("continuing" in step.detail) == (says is not None)
    if says:
        assert step.detail.endswith(says)


def test_the_reason_names_the_interrupted_upload() -> None:
    assert _interrupted_upload(_interrupted()) == "an earlier run was stopped while sending Upload upload_x (3 parts sent)"
    assert _interrupted_upload(ResourceState(address="File.t", kind="File", id="file-1")) is None


def test_removing_a_file_whose_upload_was_interrupted_only_forgets_it() -> None:
    change = plan_file_destroy("File.t", _interrupted(), SimpleNamespace(refreshed=True))
    assert change.action is Action.FORGET and [s.op for s in change.steps] == [Op.FORGET]
    assert "Upload upload_x" in change.reasons[0]
