"""The Uploads API of the sandbox (reconciler_sandbox/uploads.py): through the official SDK, every
exchange checked against the contract, and over raw HTTP for the refusals."""

from __future__ import annotations

import hashlib

import httpx
import openai
import pytest

from reconciler_sandbox import uploads

from .conftest import PROJECT_KEY, chat_lines
from .test_sandbox_http import assert_error

AUTH = {"Authorization": f"Bearer {PROJECT_KEY}"}


@pytest.fixture
def http(sb):
    with httpx.Client(base_url=sb.url, headers=AUTH) as client:
        yield client


def _pieces(content: bytes, n: int) -> list[bytes]:
    step = -(-len(content) // n)
    return [content[i:i + step] for i in range(0, len(content), step)]


def test_sdk_upload_in_parts_becomes_a_trainable_file(sb, client, contract):
    content = chat_lines(40)
    up = client.uploads.create(filename="big.jsonl", purpose="fine-tune", bytes=len(content),
                               mime_type="text/jsonl")
    assert up.status == "pending" and up.id.startswith("upload_") and up.expires_at == up.created_at + 3600
    pieces = _pieces(content, 3)
    # sent out of order; the order of `part_ids` at completion is the file's order
    parts = {i: client.uploads.parts.create(up.id, data=pieces[i]) for i in (2, 0, 1)}
    assert all(p.object == "upload.part" and p.upload_id == up.id and p.id.startswith("part_") for p in parts.values())
    done = client.uploads.complete(up.id, part_ids=[parts[i].id for i in range(3)],
                                   md5=hashlib.md5(content).hexdigest())
    assert done.status == "completed" and done.file is not None
    assert done.file.bytes == len(content) and done.file.filename == "big.jsonl" and done.file.purpose == "fine-tune"
    assert client.files.content(done.file.id).read() == content
    assert [f.id for f in client.files.list()] == [done.file.id]
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=done.file.id)
    sb.advance(1000)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"


def test_sdk_cancel_then_no_more_parts(client, contract):
    up = client.uploads.create(filename="a.jsonl", purpose="fine-tune", bytes=10, mime_type="text/jsonl")
    client.uploads.parts.create(up.id, data=b"12345")
    assert client.uploads.cancel(up.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.uploads.parts.create(up.id, data=b"67890")
    with pytest.raises(openai.BadRequestError):
        client.uploads.cancel(up.id)


def _create(http, **over):
    body = {"filename": "t.jsonl", "purpose": "fine-tune", "bytes": 10, "mime_type": "text/jsonl", **over}
    return http.post("/v1/uploads", json={k: v for k, v in body.items() if v is not None})


def _part(http, upload_id: str, data: bytes) -> httpx.Response:
    return http.post(f"/v1/uploads/{upload_id}/parts", files={"data": ("blob", data)})


@pytest.mark.parametrize(("over", "param", "code"), [
    ({"filename": None}, "filename", "missing_required_parameter"),
    ({"mime_type": None}, "mime_type", "missing_required_parameter"),
    ({"purpose": "user_data"}, "purpose", "invalid_value"),
    ({"bytes": 0}, "bytes", "invalid_value"),
    ({"bytes": uploads.UPLOAD_MAX_BYTES + 1}, "bytes", "invalid_value"),
    ({"filename": "t.csv"}, "filename", "invalid_file_format"),
    ({"expires_after": {"anchor": "created_at", "seconds": 60}}, "expires_after", "invalid_value"),
    ({"colour": "red"}, "colour", "unknown_parameter"),
])
def test_create_refusals(http, over, param, code):
    assert_error(_create(http, **over), 400, code=code, param=param)


def test_eight_gb_is_accepted(http):
    resp = _create(http, bytes=uploads.UPLOAD_MAX_BYTES)
    assert resp.status_code == 200 and resp.json()["bytes"] == uploads.UPLOAD_MAX_BYTES


def test_complete_checks_bytes_parts_and_md5(http):
    up = _create(http).json()
    a = _part(http, up["id"], b"{\"a\": 1}\n").json()["id"]
    assert_error(http.post(f"/v1/uploads/{up['id']}/complete", json={"part_ids": [a]}), 400,
                 code="invalid_value", param="part_ids")           # 9 bytes of 10
    b = _part(http, up["id"], b"\n").json()["id"]
    assert_error(http.post(f"/v1/uploads/{up['id']}/complete", json={"part_ids": [a, "part_nope"]}), 400,
                 code="invalid_value", param="part_ids")
    assert_error(http.post(f"/v1/uploads/{up['id']}/complete", json={"part_ids": [a, b], "md5": "0" * 32}), 400,
                 code="md5_mismatch", param="md5")
    # a refused completion leaves the upload pending: the right md5 completes it
    good = hashlib.md5(b"{\"a\": 1}\n\n").hexdigest()
    done = http.post(f"/v1/uploads/{up['id']}/complete", json={"part_ids": [a, b], "md5": good.upper()})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert_error(http.post(f"/v1/uploads/{up['id']}/complete", json={"part_ids": [a, b]}), 400,
                 code="invalid_upload_status", param="upload_id")
    assert_error(http.post(f"/v1/uploads/{up['id']}/cancel"), 400, code="invalid_upload_status")


def test_unknown_upload_and_missing_data(http):
    assert_error(_part(http, "upload_nope", b"x"), 404, param="upload_id")
    assert_error(http.post("/v1/uploads/upload_nope/complete", json={"part_ids": []}), 404, param="upload_id")
    assert_error(http.post("/v1/uploads/upload_nope/cancel"), 404, param="upload_id")
    up = _create(http).json()
    assert_error(http.post(f"/v1/uploads/{up['id']}/parts", files={"other": ("b", b"x")}), 400,
                 code="missing_required_parameter", param="data")


def test_upload_expires_after_an_hour(sb, http):
    up = _create(http).json()
    sb.advance(3600)
    assert_error(_part(http, up["id"], b"0123456789"), 400, code="invalid_upload_status", param="upload_id")
    assert "expired" in http.post(f"/v1/uploads/{up['id']}/cancel").json()["error"]["message"]


def test_part_over_64_mb_is_refused(http):
    up = _create(http, bytes=uploads.PART_MAX_BYTES + 1).json()
    assert_error(_part(http, up["id"], b"x" * (uploads.PART_MAX_BYTES + 1)), 400, code="invalid_value", param="data")
    exact = _part(http, up["id"], b"x" * uploads.PART_MAX_BYTES)
    assert exact.status_code == 200, exact.text


def test_parts_live_on_disk_until_completed(sb, http):
    up = _create(http, bytes=3 * (1 << 20) + 1).json()
    blobs = sb.sandbox.world.blobs
    part = _part(http, up["id"], b"y" * (3 << 20)).json()["id"]
    assert blobs._path(part) is not None and blobs._path(part).stat().st_size == 3 << 20
    http.post(f"/v1/uploads/{up['id']}/cancel")
    assert blobs._path(part) is None


def test_a_pending_upload_and_its_parts_survive_a_restart(tmp_path):
    from reconciler_sandbox.testing import run_sandbox

    data = tmp_path / "world.json"
    content = chat_lines(20)
    with run_sandbox(data=data) as sb, httpx.Client(base_url=sb.url, headers=AUTH) as http:
        up = _create(http, bytes=len(content)).json()
        first = _part(http, up["id"], content[:100]).json()["id"]
    with run_sandbox(data=data) as sb, httpx.Client(base_url=sb.url, headers=AUTH) as http:
        second = _part(http, up["id"], content[100:]).json()["id"]
        done = http.post(f"/v1/uploads/{up['id']}/complete", json={"part_ids": [first, second]})
        assert done.status_code == 200, done.text
        assert http.get(f"/v1/files/{done.json()['file']['id']}/content").content == content
