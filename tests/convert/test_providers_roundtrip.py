"""Another provider's shapes end to end: a HappyPathway-style configuration and Terraform state
(`openai_fine_tune` with `training_file_id` / `epochs`, `openai_file` with `file_path`), converted
and adopted with import-terraform, then plan and apply against the real sandbox over HTTP: the live
job is adopted, not recreated (the sandbox still holds exactly one job)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .helpers import run_cli
from .test_roundtrip import ADMIN_KEY, PROJECT_KEY, TRAINING

MAIN_TF = """\
terraform {
  required_providers {
    openai = {
      source = "happypathway/openai"
    }
  }
}

resource "openai_file" "train" {
  file_path = "${path.module}/train.jsonl"
  filename  = "train.jsonl"
  purpose   = "fine-tune"
}

resource "openai_file" "notes" {
  file_path = "${path.module}/notes.pdf"
  filename  = "notes.pdf"
  purpose   = "assistants"
}

resource "openai_fine_tune" "bot" {
  training_file_id = openai_file.train.id
  model            = "gpt-4o-mini-2024-07-18"
  suffix           = "support-v1"
  epochs           = "2"
}
"""


def _tfstate(file: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    provider = 'provider["registry.terraform.io/happypathway/openai"]'

    def resource(type_: str, name: str, attributes: dict[str, Any]) -> dict[str, Any]:
        return {"mode": "managed", "type": type_, "name": name, "provider": provider,
                "instances": [{"schema_version": 0, "attributes": attributes, "sensitive_attributes": []}]}

    return {
        "version": 4, "terraform_version": "1.10.5", "serial": 3, "lineage": "l-happypathway", "outputs": {},
        "resources": [
            resource("openai_file", "train", {"id": file["id"], "object_id": file["id"], "file_path": "./train.jsonl",
                                              "filename": "train.jsonl", "purpose": "fine-tune", "content": None,
                                              "bytes": file.get("bytes"), "created_at": file.get("created_at")}),
            resource("openai_file", "notes", {"id": "file-notes0001", "file_path": "./notes.pdf",
                                              "filename": "notes.pdf", "purpose": "assistants"}),
            resource("openai_fine_tune", "bot", {
                "id": job["id"], "object_id": job["id"], "training_file_id": job["training_file"],
                "validation_file_id": None, "model": job["model"], "epochs": 2, "suffix": "support-v1",
                "status": job["status"], "fine_tuned_model": job["fine_tuned_model"]}),
        ],
    }


def test_other_provider_state_is_adopted_and_no_duplicate_job_is_created(tmp_path: Path) -> None:
    import httpx

    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox() as sandbox:
        api = httpx.Client(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {PROJECT_KEY}"})
        file = api.post("/files", data={"purpose": "fine-tune"},
                        files={"file": ("train.jsonl", TRAINING.encode(), "application/jsonl")}).json()
        job = api.post("/fine_tuning/jobs", json={
            "model": "gpt-4o-mini-2024-07-18", "training_file": file["id"], "suffix": "support-v1",
            "hyperparameters": {"n_epochs": 2}}).json()
        for _ in range(200):
            job = api.get(f"/fine_tuning/jobs/{job['id']}").json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            sandbox.advance(600)
        assert job["status"] == "succeeded", job

        tf_dir = tmp_path / "terraform"
        tf_dir.mkdir()
        (tf_dir / "main.tf").write_text(MAIN_TF)
        (tf_dir / "train.jsonl").write_text(TRAINING)
        tfstate = tf_dir / "terraform.tfstate"
        tfstate.write_text(json.dumps(_tfstate(file, job)))
        specs, state = tmp_path / "specs", tmp_path / "state" / "default.json"
        env = {"OPENAI_BASE_URL": sandbox.base_url, "OPENAI_API_KEY": PROJECT_KEY, "OPENAI_ADMIN_KEY": ADMIN_KEY}

        converted = run_cli("convert", "terraform", str(tf_dir), "--out", str(specs))
        assert converted.exit_code == 0, converted.stderr
        assert "purpose 'assistants'" in converted.stdout  # listed, not written
        assert run_cli("validate", "-C", str(specs)).exit_code == 0

        def creates() -> list[str]:
            plan = run_cli("plan", "-C", str(specs), "--state", str(state), "--json", env=env)
            assert plan.exit_code == 0, plan.stdout + plan.stderr
            changes = json.loads(plan.stdout)["resource_changes"]
            return [c["address"] for c in changes if "create" in (c.get("actions") or [c.get("action")])]

        assert "FineTuningJob.bot" in creates()  # without the import, the plan would pay for a new job

        imported = run_cli("state", "import-terraform", str(tfstate), "-C", str(specs), "--state", str(state),
                           env=env)
        assert imported.exit_code == 0, imported.stdout + imported.stderr
        assert f"adopted FineTuningJob.bot ({job['id']}) from openai_fine_tune.bot" in imported.stdout
        assert "skipped openai_file.notes: purpose 'assistants'" in imported.stdout
        assert "2 resources adopted" in imported.stdout

        assert creates() == []

        applied = run_cli("apply", "-C", str(specs), "--state", str(state), "--auto-approve", env=env)
        assert applied.exit_code == 0, applied.stdout + applied.stderr
        jobs = api.get("/fine_tuning/jobs", params={"limit": 100}).json()["data"]
        assert [j["id"] for j in jobs] == [job["id"]]  # adopted, never paid for twice
