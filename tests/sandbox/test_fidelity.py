"""docs/SANDBOX.md's fidelity table, one test per row: the sandbox answers like the real API.

One sandbox world is built once per module (a scene of jobs in every state, files and grants),
read over HTTP with raw JSON (the shape on the wire, not a client's idea of it); a few rows also go
through the official `openai` SDK as a second client. Each row id (F01...) is the row's number in
the table; the source of each behaviour is named there.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

from reconciler_sandbox.testing import SandboxHandle, run_sandbox

from .conftest import ADMIN_KEY, PROJECT_KEY, STRING_CHECK, chat_lines, dpo_lines, rft_lines

NULL_ERROR = {"code": None, "message": None, "param": None}


@dataclass
class Scene:
    sb: SandboxHandle
    http: httpx.Client
    admin: httpx.Client
    files: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)     # as read after the scene is set
    created: dict[str, dict[str, Any]] = field(default_factory=dict)  # the create answers

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def job(self, name: str) -> dict[str, Any]:
        return self.jobs[name]

    def events(self, name: str) -> list[dict[str, Any]]:
        return list(self.get(f"/fine_tuning/jobs/{self.job(name)['id']}/events", limit=100)["data"])

    def checkpoints(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/fine_tuning/jobs/{self.job(name)['id']}/checkpoints", limit=100)
        return result


def _upload(http: httpx.Client, content: bytes, name: str = "train.jsonl", purpose: str = "fine-tune") -> str:
    r = http.post("/files", files={"file": (name, content)}, data={"purpose": purpose})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def _create(http: httpx.Client, **body: Any) -> dict[str, Any]:
    r = http.post("/fine_tuning/jobs", json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


@pytest.fixture(scope="module")
def scene() -> Iterator[Scene]:
    with run_sandbox() as sb:
        headers = {"Authorization": f"Bearer {PROJECT_KEY}"}
        with httpx.Client(base_url=sb.base_url, headers=headers, timeout=60) as http, \
                httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                             timeout=60) as admin:
            s = Scene(sb, http, admin)
            s.files = {"chat": _upload(http, chat_lines(12)), "valid": _upload(http, chat_lines(10), "valid.jsonl"),
                       "seven": _upload(http, chat_lines(7), "seven.jsonl"),
                       "bad": _upload(http, chat_lines(12).replace(b'"messages"', b'"msgs"', 1), "bad.jsonl"),
                       "dpo": _upload(http, dpo_lines(12), "prefs.jsonl"),
                       "rft": _upload(http, rft_lines(12), "rft.jsonl"),
                       "assistants": _upload(http, b"notes", "notes.txt", purpose="assistants")}
            f = s.files
            plan: dict[str, dict[str, Any]] = {
                "succeeded": {"model": "gpt-4o-mini", "training_file": f["chat"], "suffix": "bot",
                              "validation_file": f["valid"]},
                "nosuffix": {"model": "gpt-4o-mini-2024-07-18", "training_file": f["chat"]},
                "too_few": {"model": "gpt-4o-mini", "training_file": f["seven"]},
                "bad_format": {"model": "gpt-4o-mini", "training_file": f["bad"]},
                "dpo": {"model": "gpt-4o-2024-08-06", "training_file": f["dpo"],
                        "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}},
                "rft": {"model": "o4-mini", "training_file": f["rft"],
                        "method": {"type": "reinforcement", "reinforcement": {"grader": STRING_CHECK}}},
                "cancelled": {"model": "gpt-4o-mini", "training_file": f["chat"]},
            }
            for name, body in plan.items():
                s.created[name] = _create(http, **body)
            cancel = http.post(f"/fine_tuning/jobs/{s.created['cancelled']['id']}/cancel")
            s.created["cancel_answer"] = cancel.json()
            sb.advance(2000)  # every job above has ended
            s.created["running"] = _create(http, model="gpt-4o-mini", training_file=f["chat"])
            s.created["paused"] = _create(http, model="gpt-4o-mini", training_file=f["chat"])
            sb.advance(25)  # validating 10 s + queued 10 s: both run now
            s.created["pause_answer"] = http.post(f"/fine_tuning/jobs/{s.created['paused']['id']}/pause").json()
            s.created["fresh"] = _create(http, model="gpt-4o-mini", training_file=f["chat"])
            for name, job in s.created.items():
                if not name.endswith("_answer"):
                    s.jobs[name] = s.get(f"/fine_tuning/jobs/{job['id']}")
            yield s


def _error_of(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    error: dict[str, Any] = body["error"]
    return error


def _result_csv(s: Scene) -> tuple[bytes, list[dict[str, str]]]:
    file_id = s.job("succeeded")["result_files"][0]
    raw = s.http.get(f"/files/{file_id}/content").content
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(raw, validate=True).decode())))
    return raw, rows


# ---- the rows ------------------------------------------------------------------------------------

def f01(s: Scene) -> None:  # a job that has not failed: error object of nulls, not null
    for name in ("fresh", "running", "paused", "succeeded", "cancelled", "dpo"):
        assert s.job(name)["error"] == NULL_ERROR, name
    assert s.created["fresh"]["error"] == NULL_ERROR


def f02(s: Scene) -> None:  # a failed job: error with code, message, param
    error = s.job("bad_format")["error"]
    assert error["code"] == "invalid_training_file" and error["param"] == "training_file"
    assert error["message"].startswith("The job failed due to an invalid training file.")


def f03(s: Scene) -> None:  # a failed job keeps finished_at null
    for name in ("too_few", "bad_format"):
        assert s.job(name)["status"] == "failed" and s.job(name)["finished_at"] is None


def f04(s: Scene) -> None:  # too few examples
    assert s.job("too_few")["error"] == {
        "code": "invalid_n_examples", "param": "training_file",
        "message": "Training file has 7 example(s), but must have at least 10 examples"}


def _sdk(s: Scene) -> openai.OpenAI:
    return openai.OpenAI(base_url=s.sb.base_url, api_key=PROJECT_KEY, max_retries=0)


def f05(s: Scene) -> None:  # the SDK reads the error object of nulls without raising
    job = _sdk(s).fine_tuning.jobs.retrieve(s.job("running")["id"])
    assert job.error is not None and job.error.code is None and job.error.message is None


def f06(s: Scene) -> None:  # DPO: top-level hyperparameters null, values under method
    for job in (s.created["dpo"], s.job("dpo")):
        assert job["hyperparameters"] is None
        assert job["method"]["type"] == "dpo" and job["method"]["dpo"]["hyperparameters"]["beta"] == 0.1


def f07(s: Scene) -> None:  # reinforcement: top-level hyperparameters null
    assert s.job("rft")["hyperparameters"] is None
    assert "grader" in s.job("rft")["method"]["reinforcement"]


def f08(s: Scene) -> None:  # supervised: the deprecated top-level copy mirrors method's
    for name in ("fresh", "running", "succeeded"):
        job = s.job(name)
        assert job["hyperparameters"] == job["method"]["supervised"]["hyperparameters"]


def f09(s: Scene) -> None:  # "auto" until running, numbers from then on
    assert s.job("fresh")["hyperparameters"]["n_epochs"] == "auto"
    hp = s.job("running")["hyperparameters"]
    assert all(isinstance(hp[k], (int, float)) for k in ("n_epochs", "batch_size", "learning_rate_multiplier"))


def f10(s: Scene) -> None:  # create answers validating_files
    assert s.created["fresh"]["status"] == "validating_files"


def f11(s: Scene) -> None:  # an alias comes back as its dated snapshot
    assert s.created["succeeded"]["model"] == "gpt-4o-mini-2024-07-18"


def f12(s: Scene) -> None:  # fine_tuned_model: null until succeeded, then ft:<snapshot>:<org>:<suffix>:<id>
    assert s.job("running")["fine_tuned_model"] is None and s.job("too_few")["fine_tuned_model"] is None
    parts = s.job("succeeded")["fine_tuned_model"].split(":")
    assert parts[:4] == ["ft", "gpt-4o-mini-2024-07-18", "sandbox", "bot"] and len(parts) == 5 and parts[4]


def f13(s: Scene) -> None:  # no suffix: an empty segment, user_provided_suffix null
    job = s.job("nosuffix")
    assert job["fine_tuned_model"].startswith("ft:gpt-4o-mini-2024-07-18:sandbox::")
    assert job["user_provided_suffix"] is None


def f14(s: Scene) -> None:  # user_provided_suffix echoes the suffix
    assert s.job("succeeded")["user_provided_suffix"] == "bot"


def f15(s: Scene) -> None:  # estimated_finish: null once finished
    assert s.job("succeeded")["estimated_finish"] is None and s.job("too_few")["estimated_finish"] is None


def f16(s: Scene) -> None:  # trained_tokens: null until succeeded, an integer then
    assert s.job("running")["trained_tokens"] is None
    assert isinstance(s.job("succeeded")["trained_tokens"], int) and s.job("succeeded")["trained_tokens"] > 0


def f17(s: Scene) -> None:  # result_files: [] until succeeded, one file id then
    assert s.job("running")["result_files"] == [] and s.job("too_few")["result_files"] == []
    assert len(s.job("succeeded")["result_files"]) == 1 and s.job("succeeded")["result_files"][0].startswith("file-")


def f18(s: Scene) -> None:  # seed: a generated integer when none was given
    assert isinstance(s.created["fresh"]["seed"], int)


def f19(s: Scene) -> None:  # integrations [] and metadata null when none
    assert s.created["fresh"]["integrations"] == [] and s.created["fresh"]["metadata"] is None


def f20(s: Scene) -> None:  # every field of the job object on create
    job = s.created["fresh"]
    assert job["object"] == "fine_tuning.job" and job["organization_id"].startswith("org-")
    assert job["usage_metrics"] is None and job["shared_with_openai"] is False
    for key in ("finished_at", "fine_tuned_model", "trained_tokens", "estimated_finish", "validation_file"):
        assert key in job and job[key] is None, key


def f21(s: Scene) -> None:  # cancel answers the job, status cancelled
    answer = s.created["cancel_answer"]
    assert answer["object"] == "fine_tuning.job" and answer["status"] == "cancelled"


def f22(s: Scene) -> None:  # pause answers the job, status paused
    assert s.created["pause_answer"]["status"] == "paused" and s.job("paused")["status"] == "paused"


def f23(s: Scene) -> None:  # the jobs list: object, data, has_more
    page = s.get("/fine_tuning/jobs", limit=2)
    assert page["object"] == "list" and len(page["data"]) == 2 and page["has_more"] is True


def f24(s: Scene) -> None:  # metadata[k]=v filters the jobs list
    job = _create(s.http, model="gpt-4o-mini", training_file=s.files["chat"], metadata={"team": "fid"})
    page = s.get("/fine_tuning/jobs", **{"metadata[team]": "fid"})
    assert [j["id"] for j in page["data"]] == [job["id"]]


def f25(s: Scene) -> None:  # unknown training file
    r = s.http.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": "file-nope"})
    assert r.status_code == 400
    assert _error_of(r) == {"message": "invalid training_file: file-nope", "type": "invalid_request_error",
                            "param": "training_file", "code": None}


def f26(s: Scene) -> None:  # the file is checked before the model
    r = s.http.post("/fine_tuning/jobs", json={"model": "no-such-model", "training_file": "file-nope"})
    assert r.status_code == 400 and _error_of(r)["param"] == "training_file"
    r = s.http.post("/fine_tuning/jobs", json={"model": "no-such-model", "training_file": s.files["chat"]})
    assert r.status_code == 400 and _error_of(r)["param"] == "model"


def f27(s: Scene) -> None:  # an unknown argument
    r = s.http.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": s.files["chat"],
                                               "prompt_loss_weight": 0.1})
    assert r.status_code == 400
    assert _error_of(r)["message"] == "Unrecognized request argument supplied: prompt_loss_weight"


def f28(s: Scene) -> None:  # an unknown job: 404, invalid_request_error
    r = s.http.get("/fine_tuning/jobs/ftjob-nope")
    assert r.status_code == 404 and _error_of(r)["type"] == "invalid_request_error"


def f29(s: Scene) -> None:  # every error body has message, type, param, code
    for r in (s.http.get("/files/file-nope"), s.http.post("/fine_tuning/jobs", content=b"{"),
              s.http.get("/fine_tuning/jobs/ftjob-nope")):
        _error_of(r)


def f30(s: Scene) -> None:  # events newest first
    events = s.events("succeeded")
    times = [e["created_at"] for e in events]
    assert times == sorted(times, reverse=True)
    assert events[-1]["message"].startswith("Created fine-tuning job: ")


def f31(s: Scene) -> None:  # `data` on every event: {} on creation/validation, null on other messages
    by_message = {e["message"].split(":")[0]: e for e in s.events("succeeded")}
    assert by_message["Created fine-tuning job"]["data"] == {}
    assert by_message["Validating training file"]["data"] == {}
    assert by_message["Files validated, moving job to queued state"]["data"] == {}
    assert by_message["Fine-tuning job started"]["data"] is None
    assert all("data" in e for e in s.events("succeeded"))


def f32(s: Scene) -> None:  # the messages of a job's first events
    job_id, file_id = s.job("succeeded")["id"], s.files["chat"]
    messages = [e["message"] for e in reversed(s.events("succeeded"))]
    assert messages[:2] == [f"Created fine-tuning job: {job_id}", f"Validating training file: {file_id}"]
    assert "Files validated, moving job to queued state" in messages and "Fine-tuning job started" in messages


def f33(s: Scene) -> None:  # metrics events
    metrics = [e for e in s.events("succeeded") if e["type"] == "metrics"]
    assert metrics
    for e in metrics:
        assert e["message"].startswith(f"Step {e['data']['step']}/")
        assert {"step", "train_loss", "train_mean_token_accuracy"} <= set(e["data"])


def f34(s: Scene) -> None:  # event ids ftevent-..., object fine_tuning.job.event, level info
    for e in s.events("succeeded"):
        assert e["id"].startswith("ftevent-") and e["object"] == "fine_tuning.job.event" and e["level"] == "info"


def f35(s: Scene) -> None:  # the new model's event
    model = s.job("succeeded")["fine_tuned_model"]
    assert f"New fine-tuned model created: {model}" in [e["message"] for e in s.events("succeeded")]


def f36(s: Scene) -> None:  # the final checkpoint's name is the job's fine_tuned_model
    newest = s.checkpoints("succeeded")["data"][0]
    assert newest["fine_tuned_model_checkpoint"] == s.job("succeeded")["fine_tuned_model"]
    sdk = _sdk(s)  # the second client agrees
    job = sdk.fine_tuning.jobs.retrieve(s.job("succeeded")["id"])
    first = next(iter(sdk.fine_tuning.jobs.checkpoints.list(job.id)))
    assert first.fine_tuned_model_checkpoint == job.fine_tuned_model


def f37(s: Scene) -> None:  # earlier checkpoints: their own id, then :ckpt-step-N
    model = s.job("succeeded")["fine_tuned_model"]
    earlier = s.checkpoints("succeeded")["data"][1:]
    assert earlier
    ids = set()
    for c in earlier:
        name = c["fine_tuned_model_checkpoint"]
        assert name.endswith(f":ckpt-step-{c['step_number']}")
        head = name.rsplit(":ckpt-step-", 1)[0]
        assert head != model and head.rsplit(":", 1)[0] == model.rsplit(":", 1)[0]
        ids.add(head)
    assert len(ids) == len(earlier)


def f38(s: Scene) -> None:  # checkpoints newest first, first_id/last_id
    page = s.checkpoints("succeeded")
    steps = [c["step_number"] for c in page["data"]]
    assert steps == sorted(steps, reverse=True)
    assert page["first_id"] == page["data"][0]["id"] and page["last_id"] == page["data"][-1]["id"]


def f39(s: Scene) -> None:  # checkpoint object fields
    for c in s.checkpoints("succeeded")["data"]:
        assert c["id"].startswith("ftckpt_") and c["object"] == "fine_tuning.job.checkpoint"
        assert c["fine_tuning_job_id"] == s.job("succeeded")["id"] and isinstance(c["created_at"], int)


def f40(s: Scene) -> None:  # checkpoint metrics (validation metrics with a validation file)
    for c in s.checkpoints("succeeded")["data"]:
        assert {"step", "train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy",
                "full_valid_loss", "full_valid_mean_token_accuracy"} <= set(c["metrics"])


def f41(s: Scene) -> None:  # the result file's content is base64
    raw, _rows = _result_csv(s)
    assert not raw.startswith(b"step")
    assert base64.b64decode(raw, validate=True).startswith(b"step,")
    # as the cookbook reads it: files.content(...).read(), then base64.b64decode
    sdk_raw = _sdk(s).files.content(s.job("succeeded")["result_files"][0]).read()
    assert base64.b64decode(sdk_raw).decode("utf-8").splitlines()[0].startswith("step,train_loss")


def f42(s: Scene) -> None:  # the CSV: its header, one row per step
    _raw, rows = _result_csv(s)
    assert list(rows[0]) == ["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"]
    assert [int(r["step"]) for r in rows] == list(range(1, len(rows) + 1))
    assert int(rows[-1]["step"]) == s.checkpoints("succeeded")["data"][0]["step_number"]


def f43(s: Scene) -> None:  # the result file's object: purpose fine-tune-results
    meta = s.get(f"/files/{s.job('succeeded')['result_files'][0]}")
    assert meta["purpose"] == "fine-tune-results" and meta["object"] == "file"


def f44(s: Scene) -> None:  # a file: status processed, status_details null
    meta = s.get(f"/files/{s.files['chat']}")
    assert meta["status"] == "processed" and meta["status_details"] is None
    listed = {f["id"]: f for f in s.get("/files")["data"]}
    assert listed[s.files["chat"]]["status_details"] is None


def f45(s: Scene) -> None:  # downloading a purpose `assistants` file is refused
    r = s.http.get(f"/files/{s.files['assistants']}/content")
    assert r.status_code == 400
    assert _error_of(r) == {"message": "Not allowed to download files of purpose: assistants",
                            "type": "invalid_request_error", "param": None, "code": None}
    with pytest.raises(openai.BadRequestError, match="Not allowed to download files of purpose: assistants"):
        _sdk(s).files.content(s.files["assistants"])


def f46(s: Scene) -> None:  # deleting a file
    file_id = _upload(s.http, chat_lines(10), "gone.jsonl")
    r = s.http.delete(f"/files/{file_id}")
    assert r.status_code == 200 and r.json() == {"id": file_id, "object": "file", "deleted": True}


def f47(s: Scene) -> None:  # the files list
    page = s.get("/files")
    assert page["object"] == "list" and page["has_more"] is False
    assert page["first_id"] == page["data"][0]["id"] and page["last_id"] == page["data"][-1]["id"]


def f48(s: Scene) -> None:  # an unknown file: 404 "No such File object", param id, code null
    r = s.http.get("/files/file-nope")
    assert r.status_code == 404
    assert _error_of(r) == {"message": "No such File object: file-nope", "type": "invalid_request_error",
                            "param": "id", "code": None}


def _grant(s: Scene, *projects: str) -> tuple[str, httpx.Response]:
    model = s.job("nosuffix")["fine_tuned_model"]
    return model, s.admin.post(f"/fine_tuning/checkpoints/{model}/permissions", json={"project_ids": list(projects)})


def f49(s: Scene) -> None:  # granting answers a list page
    _model, r = _grant(s, "proj_fid_a")
    page = r.json()
    assert r.status_code == 200 and page["object"] == "list" and page["has_more"] is False
    perm = page["data"][0]
    assert perm["object"] == "checkpoint.permission" and perm["id"].startswith("cp_")
    assert perm["project_id"] == "proj_fid_a" and page["first_id"] == page["last_id"] == perm["id"]


def f50(s: Scene) -> None:  # revoking answers {object, id, deleted}
    model, r = _grant(s, "proj_fid_b")
    perm_id = r.json()["data"][0]["id"]
    r = s.admin.delete(f"/fine_tuning/checkpoints/{model}/permissions/{perm_id}")
    assert r.status_code == 200 and r.json() == {"object": "checkpoint.permission", "id": perm_id, "deleted": True}


def f51(s: Scene) -> None:  # permissions list newest first by default
    model, _r = _grant(s, "proj_fid_c")
    _grant(s, "proj_fid_d")
    r = s.admin.get(f"/fine_tuning/checkpoints/{model}/permissions")
    projects = [p["project_id"] for p in r.json()["data"]]
    assert projects.index("proj_fid_d") < projects.index("proj_fid_c")


def f52(s: Scene) -> None:  # a project key on a permission endpoint: 401 naming the missing scope
    model = s.job("nosuffix")["fine_tuned_model"]
    r = s.http.get(f"/fine_tuning/checkpoints/{model}/permissions")
    assert r.status_code == 401
    error = _error_of(r)
    assert error["type"] == "invalid_request_error" and "api.fine_tuning.checkpoints.read" in error["message"]
    assert error["param"] is None and error["code"] is None


def f53(s: Scene) -> None:  # a checkpoint that is not the model can be shared too (by its own name)
    earlier = s.checkpoints("succeeded")["data"][-1]["fine_tuned_model_checkpoint"]
    r = s.admin.post(f"/fine_tuning/checkpoints/{earlier}/permissions", json={"project_ids": ["proj_fid_e"]})
    assert r.status_code == 200, r.text


def f54(s: Scene) -> None:  # n_epochs "auto" resolved from the number of examples (12: 100 // 12 = 8)
    job = s.job("succeeded")
    assert job["method"]["supervised"]["hyperparameters"]["n_epochs"] == 8 == job["hyperparameters"]["n_epochs"]
    assert s.checkpoints("succeeded")["data"][0]["step_number"] % 8 == 0


def _new_upload(s: Scene, size: int = 10, **over: Any) -> dict[str, Any]:
    body = {"filename": "big.jsonl", "purpose": "fine-tune", "bytes": size, "mime_type": "text/jsonl", **over}
    r = s.http.post("/uploads", json=body)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def _add_part(s: Scene, upload_id: str, data: bytes) -> httpx.Response:
    return s.http.post(f"/uploads/{upload_id}/parts", files={"data": ("blob", data)})


def f55(s: Scene) -> None:  # an Upload: pending, expires an hour after it was created, no file yet
    up = _new_upload(s, 2147483648)
    assert up["object"] == "upload" and up["id"].startswith("upload_") and up["status"] == "pending"
    assert up["bytes"] == 2147483648 and up["filename"] == "big.jsonl" and up["purpose"] == "fine-tune"
    assert up["expires_at"] == up["created_at"] + 3600 and up["file"] is None


def f56(s: Scene) -> None:  # at most 8 GB
    assert _new_upload(s, 8 * 1024 ** 3)["status"] == "pending"
    r = s.http.post("/uploads", json={"filename": "big.jsonl", "purpose": "fine-tune", "bytes": 8 * 1024 ** 3 + 1,
                                      "mime_type": "text/jsonl"})
    assert r.status_code == 400 and _error_of(r)["param"] == "bytes"


def f57(s: Scene) -> None:  # a Part: {id, object: upload.part, created_at, upload_id}
    up = _new_upload(s)
    r = _add_part(s, up["id"], b"0123456789")
    assert r.status_code == 200, r.text
    part = r.json()
    assert set(part) == {"id", "object", "created_at", "upload_id"}
    assert part["id"].startswith("part_") and part["object"] == "upload.part" and part["upload_id"] == up["id"]


def f58(s: Scene) -> None:  # a Part over 64 MB is refused
    up = _new_upload(s, 64 * 1024 ** 2 + 1)
    r = _add_part(s, up["id"], b"x" * (64 * 1024 ** 2 + 1))
    assert r.status_code == 400 and _error_of(r)["param"] == "data"


def f59(s: Scene) -> None:  # completing: part_ids give the order; a nested File usable for training
    lines = chat_lines(12)
    up = _new_upload(s, len(lines))
    half = len(lines) // 2
    second = _add_part(s, up["id"], lines[half:]).json()["id"]
    first = _add_part(s, up["id"], lines[:half]).json()["id"]
    r = s.http.post(f"/uploads/{up['id']}/complete", json={"part_ids": [first, second]})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "completed" and done["file"]["object"] == "file"
    assert done["file"]["bytes"] == len(lines) and done["file"]["purpose"] == "fine-tune"
    assert s.http.get(f"/files/{done['file']['id']}/content").content == lines
    job = s.http.post("/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": done["file"]["id"]})
    assert job.status_code == 200, job.text


def f60(s: Scene) -> None:  # the bytes completed must match the bytes announced
    up = _new_upload(s)
    part = _add_part(s, up["id"], b"012345678").json()["id"]
    r = s.http.post(f"/uploads/{up['id']}/complete", json={"part_ids": [part]})
    assert r.status_code == 400 and _error_of(r)["param"] == "part_ids"


def f61(s: Scene) -> None:  # md5 checked on completion
    up = _new_upload(s)
    part = _add_part(s, up["id"], b"0123456789").json()["id"]
    r = s.http.post(f"/uploads/{up['id']}/complete", json={"part_ids": [part], "md5": "0" * 32})
    assert r.status_code == 400 and _error_of(r)["param"] == "md5"
    good = hashlib.md5(b"0123456789").hexdigest()
    r = s.http.post(f"/uploads/{up['id']}/complete", json={"part_ids": [part], "md5": good})
    assert r.status_code == 200 and r.json()["status"] == "completed"


def f62(s: Scene) -> None:  # cancelling: status cancelled, no Parts after
    up = _new_upload(s)
    r = s.http.post(f"/uploads/{up['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert _add_part(s, up["id"], b"0123456789").status_code == 400


def f63(s: Scene) -> None:  # nothing more on a completed Upload
    up = _new_upload(s)
    part = _add_part(s, up["id"], b"0123456789").json()["id"]
    assert s.http.post(f"/uploads/{up['id']}/complete", json={"part_ids": [part]}).status_code == 200
    for r in (_add_part(s, up["id"], b"x"), s.http.post(f"/uploads/{up['id']}/complete", json={"part_ids": [part]}),
              s.http.post(f"/uploads/{up['id']}/cancel")):
        assert r.status_code == 400 and _error_of(r)["param"] == "upload_id"


def f64(s: Scene) -> None:  # an Upload past its hour is expired (its own sandbox: the scene's clock stays)
    with run_sandbox() as sb, httpx.Client(base_url=sb.base_url,
                                           headers={"Authorization": f"Bearer {PROJECT_KEY}"}) as http:
        up = http.post("/uploads", json={"filename": "a.jsonl", "purpose": "fine-tune", "bytes": 1,
                                         "mime_type": "text/jsonl"}).json()
        sb.advance(3600)
        r = http.post(f"/uploads/{up['id']}/cancel")
        assert r.status_code == 400 and "expired" in _error_of(r)["message"]


LABEL = {"type": "label_model", "name": "lab", "model": "gpt-4o-mini", "labels": ["good", "bad"],
         "passing_labels": ["good"], "input": [{"role": "user", "content": "{{sample.output_text}}"}]}


def f65(s: Scene) -> None:  # label_model is not a top-level grader
    for path, body in (("/fine_tuning/alpha/graders/validate", {"grader": LABEL}),
                       ("/fine_tuning/alpha/graders/run", {"grader": LABEL, "model_sample": "x"})):
        r = s.http.post(path, json=body)
        assert r.status_code == 400 and _error_of(r)["param"] == "grader.type", r.text


def f66(s: Scene) -> None:  # ... but it is one inside a multi grader
    multi = {"type": "multi", "name": "m", "graders": LABEL, "calculate_output": "lab"}
    r = s.http.post("/fine_tuning/alpha/graders/validate", json={"grader": multi})
    assert r.status_code == 200, r.text


def f67(s: Scene) -> None:  # files list limit above 10,000 refused
    r = s.http.get("/files", params={"limit": 20000})
    assert r.status_code == 400 and _error_of(r)["param"] == "limit"
    assert s.http.get("/files", params={"limit": 10000}).status_code == 200


def f68(s: Scene) -> None:  # default limit 10,000: every file of the scene on one page
    page = s.get("/files")
    assert not page["has_more"] and len(page["data"]) >= len(s.files)


def _other_project(fn: Callable[[httpx.Client, httpx.Client], None]) -> None:
    with run_sandbox() as sb:
        key = {"Authorization": f"Bearer {PROJECT_KEY}"}
        with httpx.Client(base_url=sb.base_url, headers=key) as plain, \
                httpx.Client(base_url=sb.base_url, headers={**key, "OpenAI-Project": "proj_other"}) as other:
            fn(plain, other)


def f69(s: Scene) -> None:  # a user key naming a project lists that project's jobs
    def check(plain: httpx.Client, other: httpx.Client) -> None:
        mine = _upload(plain, chat_lines(12))
        theirs = _upload(other, chat_lines(12))
        a = _create(plain, model="gpt-4o-mini", training_file=mine)["id"]
        b = _create(other, model="gpt-4o-mini", training_file=theirs)["id"]
        assert [j["id"] for j in other.get("/fine_tuning/jobs").json()["data"]] == [b]
        assert {j["id"] for j in plain.get("/fine_tuning/jobs").json()["data"]} == {a, b}
    _other_project(check)


def f70(s: Scene) -> None:  # ... and that project's files
    def check(plain: httpx.Client, other: httpx.Client) -> None:
        mine = _upload(plain, chat_lines(12))
        theirs = _upload(other, chat_lines(12))
        assert [f["id"] for f in other.get("/files").json()["data"]] == [theirs]
        with httpx.Client(base_url=str(plain.base_url), headers={**plain.headers, "OpenAI-Project": "proj_sandbox"}) as own:
            assert [f["id"] for f in own.get("/files").json()["data"]] == [mine]
        assert {f["id"] for f in plain.get("/files").json()["data"]} == {mine, theirs}
    _other_project(check)


def f71(s: Scene) -> None:  # granting the owning project: the captured text
    model = s.job("nosuffix")["fine_tuned_model"]
    r = s.admin.post(f"/fine_tuning/checkpoints/{model}/permissions", json={"project_ids": ["proj_sandbox"]})
    assert r.status_code == 400
    assert _error_of(r)["message"] == "Cannot modify checkpoint permissions for the owning project: proj_sandbox"


def f72(s: Scene) -> None:  # an unknown path: 404, code null
    r = s.http.get("/nothing/here")
    assert r.status_code == 404
    error = _error_of(r)
    assert error["code"] is None and error["type"] == "invalid_request_error"


def f73(s: Scene) -> None:  # estimated_finish: a time while running, null once finished
    running = s.http.get(f"/fine_tuning/jobs/{s.job('running')['id']}").json()
    assert isinstance(running["estimated_finish"], int) and running["estimated_finish"] > running["created_at"]
    assert s.job("succeeded")["estimated_finish"] is None


def f74(s: Scene) -> None:  # shutdown_date: YYYY-MM-DD or null on every model
    models = s.get("/models")["data"]
    assert models and all(m["shutdown_date"] is None or len(m["shutdown_date"]) == 10 for m in models)
    assert all(set(m) == {"id", "object", "created", "owned_by", "shutdown_date"} for m in models)


def f75(s: Scene) -> None:  # graders/run answers the contract's shape
    r = s.http.post("/fine_tuning/alpha/graders/run", json={"grader": STRING_CHECK, "item": {"label": "x"},
                                                            "model_sample": "x"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reward"] == 1.0 and set(body) == {"reward", "metadata", "sub_rewards",
                                                   "model_grader_token_usage_per_model"}
    meta = body["metadata"]
    assert meta["name"] == "exact" and meta["type"] == "string_check" and meta["errors"]["invalid_variable_error"] is False


def f76(s: Scene) -> None:  # a score_model grader: a reward in its range, its tokens billed per model
    from reconciler.cost.tokens import count_record

    grader = {"type": "score_model", "name": "judge", "model": "gpt-4o-2024-08-06", "range": [0, 10],
              "input": [{"role": "user", "content": "Ref: {{item.reference}} Answer: {{sample.output_text}}"}]}
    before = dict(s.sb.world.usage.get("gpt-4o-2024-08-06", {}))
    same = s.http.post("/fine_tuning/alpha/graders/run",
                       json={"grader": grader, "item": {"reference": "Reset it in Settings."},
                             "model_sample": "Reset it in Settings."}).json()
    other = s.http.post("/fine_tuning/alpha/graders/run",
                        json={"grader": grader, "item": {"reference": "Reset it in Settings."},
                              "model_sample": "Bananas."}).json()
    assert same["reward"] == 10.0 and 0 <= other["reward"] < 5
    usage = same["model_grader_token_usage_per_model"]["gpt-4o-2024-08-06"]
    rendered = [{"role": "user", "content": "Ref: Reset it in Settings. Answer: Reset it in Settings."}]
    assert usage["prompt_tokens"] == count_record({"messages": rendered}, "chat", "o200k_base")
    assert usage["completion_tokens"] == 1 and same["metadata"]["token_usage"] == usage["total_tokens"]
    billed = s.sb.world.usage["gpt-4o-2024-08-06"]
    assert billed["requests"] == before.get("requests", 0) + 2


ROWS: dict[str, Callable[[Scene], None]] = {
    name.upper(): fn for name, fn in sorted(globals().items()) if len(name) == 3 and name[0] == "f"
    and name[1:].isdigit() and callable(fn)
}


def test_every_row_of_the_table_has_a_test() -> None:
    from pathlib import Path

    table = (Path(__file__).resolve().parents[2] / "docs" / "SANDBOX.md").read_text(encoding="utf-8")
    import re

    # a row's first cell is "F12", or "<a id="f12"></a>F12" where the row is linked to
    rows = {m.group(1) for line in table.splitlines() if line.startswith("| ")
            for m in [re.fullmatch(r'(?:<a id="f\d+"></a>)?(F\d+)', line.split("|")[1].strip())] if m}
    assert len(rows) >= 40
    assert rows == set(ROWS), sorted(rows ^ set(ROWS))


@pytest.mark.parametrize("row", sorted(ROWS))
def test_fidelity(scene: Scene, row: str) -> None:
    ROWS[row](scene)
