"""Round trip: objects that exist in the sandbox, a hand-written Terraform state (format 4) naming
them, convert + import-terraform, and `reconciler plan --detailed-exitcode` shows no changes (0)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .helpers import run_cli

ADMIN_KEY = "sk-admin-test-0123456789abcdef"
PROJECT_KEY = "sk-proj-test-0123456789abcdef"

TRAINING = "".join(json.dumps({"messages": [
    {"role": "system", "content": "You are Acme's support assistant."},
    {"role": "user", "content": f"Question {i}: where is my order?"},
    {"role": "assistant", "content": f"Answer {i}: it ships within two days."}]}) + "\n" for i in range(12))

MAIN_TF = """\
resource "openai_file" "train" {
  file    = "${path.module}/train.jsonl"
  purpose = "fine-tune"
}

resource "openai_fine_tuning_job" "bot" {
  model         = "gpt-4o-mini-2024-07-18"
  training_file = openai_file.train.id
  suffix        = "support-v1"
  seed          = 7

  method {
    type = "supervised"
    supervised {
      hyperparameters {
        n_epochs = 2
      }
    }
  }
}

resource "openai_fine_tuning_checkpoint_permission" "share" {
  fine_tuned_model_checkpoint = openai_fine_tuning_job.bot.fine_tuned_model
  project_ids                 = ["proj_partner"]
}
"""


def _instance(attributes: dict[str, Any], deps: list[str] | None = None) -> dict[str, Any]:
    inst: dict[str, Any] = {"schema_version": 0, "attributes": attributes, "sensitive_attributes": []}
    if deps:
        inst["dependencies"] = deps
    return inst


def _tfstate(file: dict[str, Any], job: dict[str, Any], grants: list[dict[str, Any]]) -> dict[str, Any]:
    provider = 'provider["registry.terraform.io/openai/openai"]'
    return {
        "version": 4, "terraform_version": "1.11.4", "serial": 5,
        "lineage": "5b1f8a4e-3c2d-4e5f-8a9b-0c1d2e3f4a5b", "outputs": {},
        "resources": [
            {"mode": "managed", "type": "openai_file", "name": "train", "provider": provider,
             "instances": [_instance({"id": file["id"], "file": "train.jsonl", "purpose": "fine-tune",
                                      "filename": file.get("filename"), "bytes": file.get("bytes"),
                                      "created_at": file.get("created_at")})]},
            {"mode": "managed", "type": "openai_fine_tuning_job", "name": "bot", "provider": provider,
             "instances": [_instance({"id": job["id"], "model": job["model"], "training_file": job["training_file"],
                                      "suffix": "support-v1", "seed": job.get("seed"), "status": job["status"],
                                      "fine_tuned_model": job["fine_tuned_model"],
                                      "method": [{"type": "supervised", "supervised": [
                                          {"hyperparameters": [{"n_epochs": 2}]}]}]},
                                     ["openai_file.train"])]},
            {"mode": "managed", "type": "openai_fine_tuning_checkpoint_permission", "name": "share",
             "provider": provider,
             "instances": [_instance({"fine_tuned_model_checkpoint": job["fine_tuned_model"],
                                      "project_ids": [g["project_id"] for g in grants],
                                      "id": grants[0]["id"], "project_id": grants[0]["project_id"],
                                      "data": grants}, ["openai_fine_tuning_job.bot"])]},
        ],
        "check_results": None,
    }


def test_import_terraform_then_plan_shows_no_changes(tmp_path: Path) -> None:
    import httpx

    from reconciler.cli.convert import import_terraform_command
    from reconciler_sandbox.testing import run_sandbox

    with run_sandbox() as sandbox:
        api = httpx.Client(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {PROJECT_KEY}"})
        admin = httpx.Client(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        uploaded = api.post("/files", data={"purpose": "fine-tune"},
                            files={"file": ("train.jsonl", TRAINING.encode(), "application/jsonl")})
        assert uploaded.status_code == 200, uploaded.text
        file = uploaded.json()
        created = api.post("/fine_tuning/jobs", json={
            "model": "gpt-4o-mini-2024-07-18", "training_file": file["id"], "suffix": "support-v1", "seed": 7,
            "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}}})
        assert created.status_code == 200, created.text
        job = created.json()
        for _ in range(200):
            job = api.get(f"/fine_tuning/jobs/{job['id']}").json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            sandbox.advance(600)
        assert job["status"] == "succeeded", job
        granted = admin.post(f"/fine_tuning/checkpoints/{job['fine_tuned_model']}/permissions",
                             json={"project_ids": ["proj_partner"]})
        assert granted.status_code == 200, granted.text
        grants = granted.json()["data"]

        tf_dir = tmp_path / "terraform"
        tf_dir.mkdir()
        (tf_dir / "main.tf").write_text(MAIN_TF)
        (tf_dir / "train.jsonl").write_text(TRAINING)
        tfstate = tf_dir / "terraform.tfstate"
        tfstate.write_text(json.dumps(_tfstate(file, job, grants), indent=2))
        specs, state = tmp_path / "specs", tmp_path / "state" / "default.json"
        env = {"OPENAI_BASE_URL": sandbox.base_url, "OPENAI_API_KEY": PROJECT_KEY, "OPENAI_ADMIN_KEY": ADMIN_KEY}

        converted = run_cli("convert", "terraform", str(tf_dir), "--out", str(specs))
        assert converted.exit_code == 0, converted.stderr
        assert "0 items not converted" in converted.stdout
        validated = run_cli("validate", "-C", str(specs))
        assert validated.exit_code == 0, validated.stdout + validated.stderr

        before = run_cli("plan", "-C", str(specs), "--state", str(state), "--detailed-exitcode", env=env)
        assert before.exit_code == 2, before.stdout + before.stderr  # without the import: creates

        from click.testing import CliRunner

        imported = CliRunner().invoke(import_terraform_command,
                                      [str(tfstate), "-C", str(specs), "--state", str(state)], env=env,
                                      catch_exceptions=False)
        assert imported.exit_code == 0, imported.output
        assert "3 resources adopted" in imported.stdout

        # without reading the API: the adopted attributes alone already match the specs
        offline = run_cli("plan", "-C", str(specs), "--state", str(state), "--detailed-exitcode",
                          "--no-refresh", env=env)
        assert offline.exit_code == 0, offline.stdout + offline.stderr
        # reading the API: the live objects match the specs
        plan = run_cli("plan", "-C", str(specs), "--state", str(state), "--detailed-exitcode", env=env)
        assert plan.exit_code == 0, plan.stdout + plan.stderr
        assert "No changes." in plan.stdout, plan.stdout
