"""The sandbox's models routes and clock start, through the official SDK (every answer checked
against the contract): `GET /v1/models` / `GET /v1/models/{model}` with `shutdown_date`, a model
shut down on the sandbox's clock no longer listed nor retrievable (its fine-tunes with it), a job
create refused from the platform's job-creation end on, a Date header on the sandbox's clock, and
`sandbox serve --now` as a real process."""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest

from reconciler.cli.runtime import parse_instant
from reconciler_sandbox.testing import run_sandbox

from .conftest import PROJECT_KEY, make_client, succeeded_job, upload
from .test_sandbox_processes import _free_port

DAY = 86400.0


def at(when: str):
    return run_sandbox(now=parse_instant(when))


def test_models_list_and_retrieve_carry_shutdown_date(contract) -> None:
    with at("2026-12-20T09:00:00Z") as sb:
        client = make_client(sb, contract)
        listed = {m.id: m for m in client.models.list()}
        assert listed["gpt-4o-mini-2024-07-18"].shutdown_date == "2027-01-14"
        assert listed["gpt-4.1-2025-04-14"].shutdown_date == "2027-01-14"
        assert listed["gpt-4o-mini"].shutdown_date == "2027-01-14"          # an alias: its snapshot's date
        assert listed["o4-mini-2025-04-16"].shutdown_date is None          # none announced in the data
        assert "gpt-4.1-nano-2025-04-14" not in listed                     # shut down on 2026-10-23
        model = client.models.retrieve("gpt-4o-mini-2024-07-18")
        assert (model.object, model.owned_by, model.shutdown_date) == ("model", "system", "2027-01-14")
        with pytest.raises(openai.NotFoundError) as gone:
            client.models.retrieve("gpt-4.1-nano-2025-04-14")
        assert gone.value.code == "model_not_found"


def test_a_fine_tuned_model_is_listed_until_its_base_shuts_down(contract) -> None:
    with at("2027-01-04T09:00:00Z") as sb:
        client = make_client(sb, contract)
        job = succeeded_job(sb, client)
        model = client.models.retrieve(job.fine_tuned_model)
        assert model.shutdown_date == "2027-01-14" and model.owned_by == "org-sandbox"
        assert job.fine_tuned_model in [m.id for m in client.models.list()]
        sb.advance(10 * DAY)   # 2027-01-14T09:..: shut down with its base
        assert job.fine_tuned_model not in [m.id for m in client.models.list()]
        assert "gpt-4o-mini-2024-07-18" not in [m.id for m in client.models.list()]
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve(job.fine_tuned_model)
        with pytest.raises(openai.BadRequestError) as refused:   # no continued training on it either
            client.fine_tuning.jobs.create(model=job.fine_tuned_model, training_file=upload(client))
        assert refused.value.code in ("fine_tuning_unavailable", "model_not_found")


def test_job_create_is_refused_from_the_job_creation_end_on_its_clock(contract) -> None:
    with at("2027-01-05T23:00:00Z") as sb:
        client = make_client(sb, contract)
        file_id = upload(client)
        created = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
        sb.advance(3600)   # 2027-01-06T00:00Z: the day job creation ends
        with pytest.raises(openai.BadRequestError) as refused:
            client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
        assert refused.value.status_code == 400
        assert refused.value.code == "fine_tuning_unavailable"
        assert "2027-01-06" in refused.value.message
        assert [j.id for j in client.fine_tuning.jobs.list()] == [created.id]


def test_the_date_header_tells_the_sandbox_clock() -> None:
    with at("2027-01-07T09:00:00Z") as sb:
        answer = httpx.get(sb.base_url + "/models", headers={"Authorization": f"Bearer {PROJECT_KEY}"})
        assert answer.status_code == 200
        sent = email.utils.parsedate_to_datetime(answer.headers["date"])
        assert sent.date() == dt.date(2027, 1, 7)


def test_cli_serve_now_starts_the_clock_at_that_date(tmp_path: Path) -> None:
    port = _free_port()
    exe = Path(sys.executable).with_name("reconciler")
    proc = subprocess.Popen([str(exe), "sandbox", "serve", "--port", str(port), "--now", "2027-01-07T09:00:00Z"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert f"http://127.0.0.1:{port}" in proc.stdout.readline()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                          headers={"Authorization": f"Bearer {PROJECT_KEY}"}) as http:
            clock = http.get("/_sandbox/clock").json()["now"]
            assert dt.datetime.fromtimestamp(clock, dt.UTC).date() == dt.date(2027, 1, 7)
            upload = http.post("/v1/files", files={"file": ("t.jsonl", b'{"messages": []}\n')},
                               data={"purpose": "fine-tune"})
            job = http.post("/v1/fine_tuning/jobs", json={"model": "gpt-4o-mini",
                                                           "training_file": upload.json()["id"]})
            assert job.status_code == 400 and job.json()["error"]["code"] == "fine_tuning_unavailable"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_serve_refuses_a_bad_now() -> None:
    exe = Path(sys.executable).with_name("reconciler")
    proc = subprocess.run([str(exe), "sandbox", "serve", "--port", "0", "--now", "next tuesday"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "'next tuesday' is not a date and time" in proc.stderr and "Traceback" not in proc.stderr
