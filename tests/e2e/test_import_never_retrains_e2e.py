"""Import and adoption never retrain, through the real CLI against the real sandbox over HTTP: for
every example folder and every kind it declares, apply -> `state rm` -> `import` -> `plan
--detailed-exitcode` exits 0, while the jobs still run and again once they finished (grants made);
the same through `state import-terraform` on a Terraform state of examples/terraform, generated from
the applied world (the folder ships none)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import World
from tests.e2e.test_providers_e2e import teams

__all__ = ["teams"]  # the fixture: two provider profiles on one sandbox, a key per project

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ["specs", "examples/supervised", "examples/dpo", "examples/reinforcement",
           "examples/shared-checkpoints", "examples/legacy", "examples/sweep", "examples/policy"]

# A W&B integration that writes only its project: the API answers name and entity as null and
# tags as [] (the reproduction: this job was replaced after an import).
WANDB = """\
kind: File
name: train
spec:
  path: data/train.jsonl
---
kind: FineTuningJob
name: tracked
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  integrations:
    - type: wandb
      wandb: {project: my-project}
  metadata: {}
  method:
    type: supervised
    supervised:
      hyperparameters: {n_epochs: auto}
"""


def reimport_everything(world: World, *flags: str) -> list[str]:
    """`state rm` every managed object, then `import` each under its address and id."""
    resources = {a: r["id"] for a, r in world.state()["resources"].items()}
    assert resources, "nothing was applied"
    world.ok(*flags, "state", "rm", *resources)
    assert world.state()["resources"] == {}
    for address, object_id in resources.items():
        world.ok(*flags, "import", address, object_id)
    return sorted({a.split(".")[0] for a in resources})


def assert_no_changes(world: World, *flags: str) -> None:
    stats = world.sandbox.stats()
    plan = world.ok(*flags, "plan", "--detailed-exitcode")
    assert "No changes." in plan.output, plan.output
    creates = world.sandbox.stats().get("POST /v1/fine_tuning/jobs", 0) - stats.get("POST /v1/fine_tuning/jobs", 0)
    assert creates == 0


def _apply_import_plan(world: World) -> set[str]:
    world.ok("apply", "--auto-approve")
    jobs = len(world.jobs())
    kinds = set(reimport_everything(world))  # jobs still validating / running
    assert_no_changes(world)
    world.finish_jobs()
    world.ok("apply", "--auto-approve")  # what waited for a model: grants, postconditions
    assert_no_changes(world)
    kinds |= set(reimport_everything(world))  # finished jobs, grants made
    assert_no_changes(world)
    world.ok("apply", "--auto-approve")  # records the matched inputs; creates nothing
    assert len(world.jobs()) == jobs
    return kinds


@pytest.mark.slow
@pytest.mark.parametrize("folder", FOLDERS)
def test_every_example_imports_without_a_change(world, folder):
    shutil.rmtree(world.specs)
    shutil.copytree(ROOT / folder, world.specs)
    kinds = _apply_import_plan(world)
    assert kinds & {"FineTuningJob", "LegacyFineTune"} and "File" in kinds


def test_a_wandb_job_imports_without_being_retrained(world):
    world.write("specs.yaml", WANDB)
    kinds = _apply_import_plan(world)
    assert kinds == {"File", "FineTuningJob"}
    [job] = world.jobs()
    assert job["integrations"][0]["wandb"]["name"] is None  # what the API answers
    assert job["status"] == "succeeded"


def test_an_import_block_takes_a_wandb_job_over_without_a_replacement(world):
    world.write("specs.yaml", WANDB)
    world.ok("apply", "--auto-approve")
    job_id = world.state()["resources"]["FineTuningJob.tracked"]["id"]
    world.ok("state", "rm", "FineTuningJob.tracked")
    world.write("imports.yaml", f"import:\n  to: FineTuningJob.tracked\n  id: {job_id}\n")
    plan = world.ok("plan", "--detailed-exitcode", code=2)
    assert "Plan: 0 to add, 0 to change, 0 to destroy. (1 to import)" in plan.output, plan.output
    world.ok("apply", "--auto-approve")
    assert_no_changes(world)
    assert [j["id"] for j in world.jobs()] == [job_id]
    assert world.sandbox.stats().get("POST /v1/fine_tuning/jobs/{fine_tuning_job_id}/cancel", 0) == 0


@pytest.mark.slow
def test_the_teams_example_imports_into_each_provider_without_a_change(teams):
    """examples/teams: two provider profiles, each object read back through its own project's key."""
    shutil.rmtree(teams.specs)
    shutil.copytree(ROOT / "examples" / "teams", teams.specs)
    teams.ok("apply", "--auto-approve")
    creates = teams.sandbox.stats().get("POST /v1/fine_tuning/jobs", 0)
    reimport_everything(teams)
    assert_no_changes(teams)
    teams.sandbox.advance(3600)
    teams.ok("apply", "--auto-approve")
    reimport_everything(teams)
    assert_no_changes(teams)
    teams.ok("apply", "--auto-approve")
    assert teams.sandbox.stats().get("POST /v1/fine_tuning/jobs", 0) == creates


# -- state import-terraform ---------------------------------------------------------------------

PROVIDER = 'provider["registry.terraform.io/jianyuan/openai"]'


def _block(value: Any) -> list[Any]:
    """An SDKv2 provider stores a nested block as a list of at most one."""
    return [] if value is None else [value]


def _tfstate(world: World, deps: dict[str, list[str]]) -> dict[str, Any]:
    """The Terraform state (format 4) the jianyuan/openai provider would have written for what
    the specs applied: every attribute present, null when not set, nested blocks as lists."""
    resources = []
    sdk = world.sdk()
    for address, rec in world.state()["resources"].items():
        kind, name = address.split(".", 1)
        if kind == "File":
            f = sdk.files.retrieve(rec["id"]).model_dump()
            attrs = {"id": f["id"], "file": f"data/{name}.jsonl", "purpose": "fine-tune", "filename": f["filename"],
                     "bytes": f["bytes"], "created_at": f["created_at"], "content": None}
            resources.append(("openai_file", name, attrs, []))
        elif kind == "FineTuningJob":
            j = sdk.fine_tuning.jobs.retrieve(rec["id"]).model_dump()
            hyper = ((j.get("method") or {}).get("supervised") or {}).get("hyperparameters") or {}
            attrs = {"id": j["id"], "model": j["model"], "training_file": j["training_file"],
                     "validation_file": j["validation_file"], "seed": j["seed"],
                     "suffix": rec["inputs"].get("suffix"), "status": j["status"],
                     "fine_tuned_model": j["fine_tuned_model"], "cancel_after_timeout": 7200,
                     "metadata": {k: v for k, v in (j["metadata"] or {}).items() if not k.startswith("reconciler_")},
                     "integrations": [{"type": i["type"], "wandb": _block(i["wandb"])} for i in j["integrations"] or []],
                     "method": [{"type": "supervised", "supervised": [{"hyperparameters": [hyper]}],
                                 "dpo": [], "reinforcement": []}],
                     "hyperparameters": _block(j.get("hyperparameters"))}
            resources.append(("openai_fine_tuning_job", name, attrs, deps.get(address, [])))
        elif kind == "CheckpointPermission":
            grants = [p.model_dump() for p in sdk.fine_tuning.checkpoints.permissions.list(rec["id"])]
            attrs = {"fine_tuned_model_checkpoint": rec["id"], "project_ids": sorted(g["project_id"] for g in grants),
                     "id": grants[0]["id"], "project_id": grants[0]["project_id"], "data": grants}
            resources.append(("openai_fine_tuning_checkpoint_permission", name, attrs, deps.get(address, [])))
    return {"version": 4, "terraform_version": "1.11.4", "serial": 3, "lineage": "6f1e2d3c-0000-4000-8000-0123456789ab",
            "outputs": {}, "check_results": None,
            "resources": [{"mode": "managed", "type": t, "name": n, "provider": PROVIDER,
                           "instances": [{"schema_version": 0, "attributes": a, "sensitive_attributes": [],
                                          "dependencies": d}]} for t, n, a, d in resources]}


def test_state_import_terraform_of_the_terraform_example_plans_no_change(world, tmp_path):
    shutil.rmtree(world.specs)
    converted = world.runner.invoke(__import__("reconciler.cli", fromlist=["cli"]).cli,
                                    ["convert", "terraform", str(ROOT / "examples" / "terraform"), "--out",
                                     str(world.specs)], catch_exceptions=False)
    assert converted.exit_code == 0, converted.output
    var = ("--var", "partner_project=proj_partner")
    world.ok(*var, "apply", "--auto-approve")
    world.finish_jobs()
    world.ok(*var, "apply", "--auto-approve")
    kinds = {a.split(".")[0] for a in world.state()["resources"]}
    assert kinds == {"File", "FineTuningJob", "CheckpointPermission"}
    jobs = len(world.jobs())

    tfstate = tmp_path / "terraform.tfstate"
    tfstate.write_text(json.dumps(_tfstate(world, {
        "FineTuningJob.support_bot": ["openai_file.support_train"],
        "CheckpointPermission.share_support": ["openai_fine_tuning_job.support_bot"]}), indent=1))
    world.state_file.unlink()
    imported = world.ok(*var, "state", "import-terraform", str(tfstate))
    assert "3 resources adopted" in imported.output, imported.output
    assert_no_changes(world, *var)
    offline = world.ok(*var, "plan", "--detailed-exitcode", "--no-refresh")
    assert "No changes." in offline.output, offline.output
    world.ok(*var, "apply", "--auto-approve")
    assert len(world.jobs()) == jobs

    # and by `import`, one object at a time
    reimport_everything(world, *var)
    assert_no_changes(world, *var)
