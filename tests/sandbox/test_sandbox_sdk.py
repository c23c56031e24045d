"""The official SDK against the sandbox: every flow of the issue, every response checked against
the OpenAPI contract (the `contract` fixture fails the test on any violation)."""

from __future__ import annotations

import base64

import httpx
import openai
import pytest

from .conftest import (
    ADMIN_KEY,
    PROJECT_KEY,
    STRING_CHECK,
    chat_lines,
    dpo_lines,
    make_client,
    rft_lines,
    succeeded_job,
    upload,
)


def test_files_upload_list_retrieve_content_delete(client, contract):
    content = chat_lines()
    first = client.files.create(file=("a.jsonl", content), purpose="fine-tune")
    second = client.files.create(file=("b.jsonl", content), purpose="fine-tune")
    assert first.id.startswith("file-") and first.bytes == len(content) and first.purpose == "fine-tune"
    listed = [f.id for f in client.files.list()]
    assert listed == [second.id, first.id]  # newest first
    page = client.files.list(limit=1, order="asc")
    assert [f.id for f in page.data] == [first.id] and page.has_more
    assert [len(p.data) for p in page.iter_pages()] == [1, 1]
    assert [f.id for f in client.files.list(limit=1, order="asc")] == [first.id, second.id]  # auto-paging
    assert client.files.retrieve(first.id).filename == "a.jsonl"
    assert client.files.content(first.id).read() == content
    deleted = client.files.delete(first.id)
    assert deleted.deleted and deleted.id == first.id
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(first.id)
    assert [f.id for f in client.files.list(purpose="fine-tune")] == [second.id]
    assert list(client.files.list(purpose="batch")) == []


def test_create_returns_snapshot_and_auto_until_running(sb, client):
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client), suffix="bot",
                                         metadata={"team": "a"}, seed=7, validation_file=upload(client),
                                         integrations=[{"type": "wandb", "wandb": {"project": "p", "tags": ["t"]}}])
    assert job.id.startswith("ftjob-") and len(job.id) == len("ftjob-") + 24
    assert job.model == "gpt-4o-mini-2024-07-18"
    assert job.status == "validating_files"
    assert job.organization_id == "org-sandbox"
    assert job.hyperparameters.n_epochs == "auto"
    assert job.method.type == "supervised"
    assert job.method.supervised.hyperparameters.batch_size == "auto"
    assert job.trained_tokens is None and job.fine_tuned_model is None and job.finished_at is None
    assert job.error.code is None and job.error.message is None and job.seed == 7 and job.metadata == {"team": "a"}
    assert job.integrations[0].wandb.project == "p" and job.validation_file.startswith("file-")
    assert job.validation_file != job.training_file
    sb.advance(25)
    running = client.fine_tuning.jobs.retrieve(job.id)
    assert running.status == "running"
    assert isinstance(running.hyperparameters.n_epochs, int)
    assert running.method.supervised.hyperparameters.n_epochs == running.hyperparameters.n_epochs
    assert running.method.supervised.hyperparameters.learning_rate_multiplier == \
        running.hyperparameters.learning_rate_multiplier
    assert running.estimated_finish is not None
    assert running.trained_tokens is None and running.fine_tuned_model is None and running.finished_at is None
    sb.advance(200)
    checkpoints = list(client.fine_tuning.jobs.checkpoints.list(job.id))
    assert checkpoints[0].metrics.full_valid_loss is not None  # a validation file gives validation metrics


def test_success_has_model_checkpoints_events_and_results(sb, client):
    job = succeeded_job(sb, client, suffix="bot")
    assert job.status == "succeeded"
    assert job.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:sandbox:bot:")
    assert job.trained_tokens > 0 and job.finished_at >= job.created_at and job.estimated_finish is None
    assert len(job.result_files) == 1
    result = client.files.retrieve(job.result_files[0])
    assert result.purpose == "fine-tune-results"
    assert base64.b64decode(client.files.content(job.result_files[0]).read()).startswith(b"step,")
    checkpoints = list(client.fine_tuning.jobs.checkpoints.list(job.id))
    assert len(checkpoints) == 3
    assert [c.step_number for c in checkpoints] == sorted((c.step_number for c in checkpoints), reverse=True)
    for c in checkpoints:
        assert c.id.startswith("ftckpt_")
        if c.step_number == checkpoints[0].step_number:  # the last checkpoint is the model itself
            assert c.fine_tuned_model_checkpoint == job.fine_tuned_model
        else:
            assert c.fine_tuned_model_checkpoint.endswith(f":ckpt-step-{c.step_number}")
        assert c.metrics.train_loss is not None and c.fine_tuning_job_id == job.id
    page = client.fine_tuning.jobs.checkpoints.list(job.id, limit=2)
    assert len(page.data) == 2 and page.has_more
    assert [c.id for c in client.fine_tuning.jobs.checkpoints.list(job.id, limit=2)] == [c.id for c in checkpoints]
    events = list(client.fine_tuning.jobs.list_events(job.id, limit=3))
    assert events[0].message == "The job has successfully completed"
    assert events[-1].message.startswith("Created fine-tuning job")
    assert all(e.id.startswith("ftevent-") for e in events)
    assert len({e.id for e in events}) == len(events)
    assert any(e.type == "metrics" and e.data for e in events)


def test_list_jobs_across_pages_and_metadata_filter(sb, client):
    file_id = upload(client)
    ids = [client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id,
                                          metadata={"team": "a" if i % 2 else "b", "n": str(i)}).id
           for i in range(7)]
    page = client.fine_tuning.jobs.list(limit=3)
    assert [j.id for j in page.data] == ids[::-1][:3] and page.has_more
    assert [j.id for j in client.fine_tuning.jobs.list(limit=3)] == ids[::-1]
    assert [j.id for j in client.fine_tuning.jobs.list(limit=2, metadata={"team": "a"})] == \
        [ids[i] for i in (5, 3, 1)]
    assert [j.id for j in client.fine_tuning.jobs.list(metadata={"team": "a", "n": "3"})] == [ids[3]]
    assert list(client.fine_tuning.jobs.list(metadata={"team": "zzz"})) == []
    last = client.fine_tuning.jobs.list(after=ids[1])
    assert [j.id for j in last.data] == [ids[0]] and not last.has_more


def test_cancel_pause_resume(sb, client):
    file_id = upload(client)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    with pytest.raises(openai.BadRequestError, match="is validating_files; only a running job can be paused"):
        client.fine_tuning.jobs.pause(job.id)  # still validating
    sb.advance(30)
    paused = client.fine_tuning.jobs.pause(job.id)
    assert paused.status == "paused" and paused.estimated_finish is None
    with pytest.raises(openai.BadRequestError, match="is paused; only a running job can be paused"):
        client.fine_tuning.jobs.pause(job.id)
    sb.advance(10_000)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"  # a paused job does not finish
    resumed = client.fine_tuning.jobs.resume(job.id)
    assert resumed.status == "running"
    with pytest.raises(openai.BadRequestError, match="is running; only a paused job can be resumed"):
        client.fine_tuning.jobs.resume(job.id)
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id)]
    assert "Fine-tuning job paused" in messages and "Fine-tuning job resumed" in messages
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    assert cancelled.fine_tuned_model is None and cancelled.trained_tokens is None
    with pytest.raises(openai.BadRequestError, match="has already been cancelled"):
        client.fine_tuning.jobs.cancel(job.id)
    # cancel from validating_files and queued too
    fresh = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    assert client.fine_tuning.jobs.cancel(fresh.id).status == "cancelled"
    queued = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    sb.advance(12)
    assert client.fine_tuning.jobs.retrieve(queued.id).status == "queued"
    assert client.fine_tuning.jobs.cancel(queued.id).status == "cancelled"
    sb.advance(1000)
    assert client.fine_tuning.jobs.retrieve(queued.id).status == "cancelled"


def test_invalid_training_file_fails_job_with_error(sb, client):
    bad = chat_lines(12).replace(b'"messages"', b'"msgs"', 1)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, bad))
    assert job.status == "validating_files" and job.error.code is None
    sb.advance(11)
    failed = client.fine_tuning.jobs.retrieve(job.id)
    assert failed.status == "failed"
    assert failed.error.code == "invalid_training_file" and failed.error.param == "training_file"
    assert "line 1" in failed.error.message
    assert failed.finished_at is None and failed.fine_tuned_model is None  # as the real API
    # chat data used for DPO fails too: the format depends on the method
    dpo = client.fine_tuning.jobs.create(model="gpt-4o", training_file=upload(client),
                                         method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}})
    sb.advance(11)
    assert client.fine_tuning.jobs.retrieve(dpo.id).status == "failed"


def test_dpo_and_reinforcement_jobs(sb, client):
    dpo = client.fine_tuning.jobs.create(model="gpt-4.1-mini", training_file=upload(client, dpo_lines()),
                                         method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}})
    assert dpo.model == "gpt-4.1-mini-2025-04-14" and dpo.method.dpo.hyperparameters.beta == 0.2
    rft = client.fine_tuning.jobs.create(
        model="o4-mini", training_file=upload(client, rft_lines()),
        method={"type": "reinforcement", "reinforcement": {"grader": STRING_CHECK,
                                                           "hyperparameters": {"reasoning_effort": "low"}}})
    assert rft.model == "o4-mini-2025-04-16" and rft.method.reinforcement.grader.type == "string_check"
    sb.advance(1000)
    assert client.fine_tuning.jobs.retrieve(dpo.id).status == "succeeded"
    assert client.fine_tuning.jobs.retrieve(rft.id).status == "succeeded"


def test_legacy_hyperparameters_mirror_method(client):
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client),
                                         hyperparameters={"n_epochs": 2})
    assert job.hyperparameters.n_epochs == 2
    assert job.method.type == "supervised" and job.method.supervised.hyperparameters.n_epochs == 2
    job2 = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client),
                                          method={"type": "supervised",
                                                  "supervised": {"hyperparameters": {"batch_size": 4}}})
    assert job2.hyperparameters.batch_size == 4


@pytest.mark.parametrize("kwargs, param", [
    ({"model": "gpt-9-turbo"}, "model"),
    ({"training_file": "file-doesnotexist"}, "training_file"),
    ({"validation_file": "file-doesnotexist"}, "validation_file"),
    ({"suffix": "x" * 65}, "suffix"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    ({"method": {"type": "magic"}}, "method.type"),
    ({"method": {"type": "reinforcement", "reinforcement": {"grader": STRING_CHECK}}}, "method.type"),
    ({"model": "gpt-3.5-turbo", "method": {"type": "dpo"}}, "method.type"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 99}}}},
     "method.supervised.hyperparameters.n_epochs"),
    ({"seed": -1}, "seed"),
    ({"extra_body": {"frobnicate": True}}, "frobnicate"),
])
def test_create_validation_errors(client, kwargs, param):
    args = {"model": "gpt-4o-mini", "training_file": None}
    args.update(kwargs)
    if args["training_file"] is None:
        args["training_file"] = upload(client)
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(**args)
    assert info.value.status_code == 400
    assert info.value.body["param"] == param
    assert info.value.body["type"] == "invalid_request_error"
    if param == "method.type" and "method" in kwargs and kwargs["method"]["type"] != "magic":
        assert kwargs["method"]["type"] in info.value.body["message"]


def test_fine_tuned_model_as_base(sb, client):
    base = succeeded_job(sb, client)
    child = client.fine_tuning.jobs.create(model=base.fine_tuned_model, training_file=upload(client))
    assert child.model == base.fine_tuned_model


def test_permissions_with_admin_key(sb, client, admin):
    job = succeeded_job(sb, client)
    ckpt = next(iter(client.fine_tuning.jobs.checkpoints.list(job.id))).fine_tuned_model_checkpoint
    created = admin.fine_tuning.checkpoints.permissions.create(
        ckpt, project_ids=[f"proj_{i}" for i in range(12)])
    assert [p.project_id for p in created.data] == [f"proj_{i}" for i in range(12)]
    assert all(p.id.startswith("cp_") for p in created.data)
    again = admin.fine_tuning.checkpoints.permissions.create(ckpt, project_ids=["proj_3"])
    assert again.data[0].id == created.data[3].id  # no duplicate
    page = admin.fine_tuning.checkpoints.permissions.list(ckpt)
    assert len(page.data) == 10 and page.has_more  # default limit 10, newest first
    assert page.data[0].project_id == "proj_11"
    everything = list(admin.fine_tuning.checkpoints.permissions.list(ckpt))
    assert [p.project_id for p in everything] == [f"proj_{i}" for i in range(11, -1, -1)]
    ascending = list(admin.fine_tuning.checkpoints.permissions.list(ckpt, order="ascending", limit=5))
    assert [p.project_id for p in ascending] == [f"proj_{i}" for i in range(12)]
    only = admin.fine_tuning.checkpoints.permissions.list(ckpt, project_id="proj_4")
    assert [p.project_id for p in only.data] == ["proj_4"]
    gone = admin.fine_tuning.checkpoints.permissions.delete(created.data[0].id, fine_tuned_model_checkpoint=ckpt)
    assert gone.deleted and gone.id == created.data[0].id
    with pytest.raises(openai.NotFoundError):
        admin.fine_tuning.checkpoints.permissions.delete(created.data[0].id, fine_tuned_model_checkpoint=ckpt)
    assert len(list(admin.fine_tuning.checkpoints.permissions.list(ckpt))) == 11
    # the fine-tuned model itself can be shared too
    shared = admin.fine_tuning.checkpoints.permissions.create(job.fine_tuned_model, project_ids=["proj_x"])
    assert [p.project_id for p in shared.data] == ["proj_x"]


def test_permission_errors(sb, client, admin):
    job = succeeded_job(sb, client)
    ckpt = next(iter(client.fine_tuning.jobs.checkpoints.list(job.id))).fine_tuned_model_checkpoint
    with pytest.raises(openai.BadRequestError) as own:
        admin.fine_tuning.checkpoints.permissions.create(ckpt, project_ids=["proj_sandbox"])
    assert "own" in own.value.body["message"]
    with pytest.raises(openai.AuthenticationError) as scope:
        client.fine_tuning.checkpoints.permissions.create(ckpt, project_ids=["proj_a"])
    assert "api.fine_tuning.checkpoints.write" in scope.value.body["message"]
    with pytest.raises(openai.AuthenticationError) as read_scope:
        client.fine_tuning.checkpoints.permissions.list(ckpt)
    assert "api.fine_tuning.checkpoints.read" in read_scope.value.body["message"]
    with pytest.raises(openai.NotFoundError, match="sandbox::nope:ckpt-step-1 not found"):
        admin.fine_tuning.checkpoints.permissions.list("ft:gpt-4o-mini-2024-07-18:sandbox::nope:ckpt-step-1")
    with pytest.raises(openai.BadRequestError, match="'project_ids' must be a non-empty list"):
        admin.fine_tuning.checkpoints.permissions.create(ckpt, project_ids=[])


def test_owner_project_from_header(sb, contract):
    other = make_client(sb, contract, PROJECT_KEY, project="proj_team")
    admin = make_client(sb, contract, ADMIN_KEY)
    job = succeeded_job(sb, other)
    with pytest.raises(openai.BadRequestError, match="Cannot modify checkpoint permissions for the owning project: proj_team"):
        admin.fine_tuning.checkpoints.permissions.create(job.fine_tuned_model, project_ids=["proj_team"])
    shared = admin.fine_tuning.checkpoints.permissions.create(job.fine_tuned_model, project_ids=["proj_sandbox"])
    assert [p.project_id for p in shared.data] == ["proj_sandbox"]


def test_auth_and_not_found(sb, client, contract):
    def strip_key(request: httpx.Request) -> None:
        del request.headers["Authorization"]

    http = httpx.Client(event_hooks={"request": [strip_key], "response": [contract.check]})
    nokey = openai.OpenAI(base_url=sb.base_url, api_key="sk-stripped", http_client=http, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        nokey.fine_tuning.jobs.list()
    with pytest.raises(openai.NotFoundError) as info:
        client.fine_tuning.jobs.retrieve("ftjob-doesnotexist")
    assert info.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.NotFoundError, match="Could not find fine-tune: ftjob-doesnotexist"):
        client.fine_tuning.jobs.cancel("ftjob-doesnotexist")
    with pytest.raises(openai.NotFoundError, match="No such File object: file-doesnotexist"):
        client.files.delete("file-doesnotexist")


def test_graders_validate(client):
    graders = [
        STRING_CHECK,
        {"type": "text_similarity", "name": "sim", "input": "{{sample.output_text}}", "reference": "x",
         "evaluation_metric": "fuzzy_match"},
        {"type": "python", "name": "py", "source": "def grade(sample, item):\n    return 1.0\n"},
        {"type": "score_model", "name": "judge", "model": "gpt-4o-mini",
         "input": [{"role": "user", "content": "Score {{sample.output_text}}"}], "range": [0, 1]},
        {"type": "multi", "name": "m", "calculate_output": "exact", "graders": STRING_CHECK},
    ]
    for grader in graders:
        assert client.fine_tuning.alpha.graders.validate(grader=grader).grader.type == grader["type"]
    for bad, why in (({**STRING_CHECK, "operation": "startswith"}, "'grader.operation' must be one of"),
                     ({"type": "python", "name": "py", "source": "def grade(:"}, "'grader.source' is not valid Python"),
                     ({"type": "telepathy", "name": "x"}, "Invalid grader type 'telepathy'")):
        with pytest.raises(openai.BadRequestError, match=why):
            client.fine_tuning.alpha.graders.validate(grader=bad)
