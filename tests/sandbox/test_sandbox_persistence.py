"""--data: a later run sees the same organisation; writes are atomic and batched."""

from __future__ import annotations

import json

import openai

from reconciler_sandbox.testing import run_sandbox

from .conftest import ADMIN_KEY, PROJECT_KEY, chat_lines


def test_world_survives_restart(tmp_path):
    data = tmp_path / "world.json"
    with run_sandbox(data=data) as sb:
        client = openai.OpenAI(base_url=sb.base_url, api_key=PROJECT_KEY, max_retries=0)
        admin = openai.OpenAI(base_url=sb.base_url, api_key=ADMIN_KEY, max_retries=0)
        file_id = client.files.create(file=("t.jsonl", chat_lines()), purpose="fine-tune").id
        done = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id, suffix="keep")
        sb.advance(1000)
        running = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
        sb.advance(30)
        client.fine_tuning.jobs.pause(running.id)
        model = client.fine_tuning.jobs.retrieve(done.id).fine_tuned_model
        perm = admin.fine_tuning.checkpoints.permissions.create(model, project_ids=["proj_other"]).data[0]
        sim_now = sb.now()
    saved = json.loads(data.read_text())
    assert saved["format_version"] == 1 and len(saved["jobs"]["items"]) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    with run_sandbox(data=data) as sb:
        assert sb.now() >= sim_now  # the clock never goes back
        client = openai.OpenAI(base_url=sb.base_url, api_key=PROJECT_KEY, max_retries=0)
        admin = openai.OpenAI(base_url=sb.base_url, api_key=ADMIN_KEY, max_retries=0)
        assert client.files.content(file_id).read() == chat_lines()
        assert client.fine_tuning.jobs.retrieve(done.id).fine_tuned_model == model
        assert client.fine_tuning.jobs.retrieve(running.id).status == "paused"
        assert [p.id for p in admin.fine_tuning.checkpoints.permissions.list(model)] == [perm.id]
        # new ids do not collide with the old ones
        again = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
        assert again.id not in (done.id, running.id)
        assert [j.id for j in client.fine_tuning.jobs.list()] == [again.id, running.id, done.id]
        client.fine_tuning.jobs.resume(running.id)
        sb.advance(1000)
        assert client.fine_tuning.jobs.retrieve(running.id).status == "succeeded"


def test_writes_are_batched(tmp_path):
    data = tmp_path / "world.json"
    with run_sandbox(data=data) as sb:
        writes = []
        original = sb.sandbox.persister.flush

        def counting_flush():
            writes.append(1)
            original()

        sb.sandbox.persister.flush = counting_flush
        file_id = sb.world.upload_file(filename="t.jsonl", purpose="fine-tune", content=chat_lines())["id"]
        for _ in range(200):
            sb.world.create_job({"model": "gpt-4o-mini", "training_file": file_id}, project="proj_sandbox")
            sb.world.changed()
    assert len(json.loads(data.read_text())["jobs"]["items"]) == 200
    assert len(writes) < 20  # 200 mutations, a handful of writes (debounced + one on shutdown)


def test_without_data_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with run_sandbox() as sb:
        sb.world.upload_file(filename="t.jsonl", purpose="fine-tune", content=chat_lines())
    assert list(tmp_path.iterdir()) == []
