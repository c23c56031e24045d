"""A saved plan is a promise, checked at apply (docs/adr/0201-saved-plan-promise.md): through the
real CLI on the real sandbox over HTTP, counting what reaches the sandbox.

An edited plan file is refused by its digest; the same edit with the digest computed again (what
anyone who reads the source can do) is refused because the plan made again from the current
specs and state does not make it; policies and budgets are evaluated again from the spec folder.
A plan made while a job was running still applies once the job has finished."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from reconciler.cli import cli
from reconciler.cli.saved_plan import DIGEST_KEY, policies_digest, sealed, spec_file_digests
from tests.e2e.conftest import JOB_SPEC, PERMISSION_SPEC, World, chat_jsonl

GUARDS = """\
kind: Policy
name: mini_only
spec:
  match: [FineTuningJob]
  rule: 'object.spec.model.startsWith("gpt-4o-mini")'
  message: only the mini models may be fine-tuned here
  enforcement: deny
---
kind: Settings
name: default
spec:
  budgets:
    max_new_jobs: 1
    max_cost_per_apply: 1.0
"""

SECOND_JOB = JOB_SPEC.split("---\n", 1)[1].replace("name: bot", "name: bot2").replace("support-v1", "support-v2")


def _changes_sent(world: World) -> dict[str, int]:
    return {k: n for k, n in world.sandbox.stats().items() if k.startswith(("POST", "DELETE"))}


def _reseal(plan_file: Path, data: dict[str, Any]) -> None:
    """Write `data` as a plan file with a digest that matches: the forger's last step."""
    data = {k: v for k, v in data.items() if k != DIGEST_KEY}
    plan_file.write_text("".join(sealed([json.dumps(data, indent=1)])))


def _refused(world: World, plan_file: Path) -> str:
    result = world.run("apply", str(plan_file))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.strip().splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def _edited_job(change: dict[str, Any]) -> dict[str, Any]:
    """The job made on gpt-4o-2024-08-06 for 20 epochs, in every field that says so."""
    change = copy.deepcopy(change)
    change["config"]["model"] = change["after"]["model"] = "gpt-4o-2024-08-06"
    change["config"]["method"]["supervised"]["hyperparameters"]["n_epochs"] = 20
    change["after"]["method"] = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 20}}}
    return change


def test_an_edited_plan_creates_nothing(world: World, tmp_path: Path) -> None:
    """The repro: another model, 20 epochs, 20 more copies of the change. Refused by the digest;
    with the digest computed again, refused by the plan made again; never a POST."""
    world.write("main.yaml", JOB_SPEC)
    world.write("guards.yaml", GUARDS)
    plan_file = tmp_path / "plan.json"
    world.ok("plan", "--out", str(plan_file))
    data = json.loads(plan_file.read_text())
    jobs = [c for c in data["resource_changes"] if c["address"] == "FineTuningJob.bot"]
    edited = copy.deepcopy(data)
    edited["resource_changes"] = [c for c in edited["resource_changes"] if c["address"] != "FineTuningJob.bot"]
    edited["resource_changes"] += [_edited_job(jobs[0]) for _ in range(21)]
    edited.pop("policies", None)
    text = json.dumps(edited, indent=1)
    world.sandbox.reset_stats()

    plan_file.write_text(text)  # edited by hand: the digest no longer matches
    assert "the plan file was changed after `reconciler plan` wrote it" in _refused(world, plan_file)
    shown = world.ok("show", str(plan_file)).output
    assert "gpt-4o-2024-08-06" in shown and "Warning: " in shown and "(`apply` refuses this file)" in shown
    edited.pop(DIGEST_KEY)
    plan_file.write_text(json.dumps(edited, indent=1))
    assert "this plan file carries no digest" in _refused(world, plan_file)

    _reseal(plan_file, edited)  # the digest made again: the decisions are made again
    line = _refused(world, plan_file)
    assert "is stale: FineTuningJob.bot appears 21 times in it" in line and "reconciler plan" in line

    one = copy.deepcopy(data)
    one["resource_changes"] = [_edited_job(c) if c["address"] == "FineTuningJob.bot" else c
                               for c in one["resource_changes"]]
    _reseal(plan_file, one)
    line = _refused(world, plan_file)
    assert "is stale: FineTuningJob.bot: the plan's spec differs from the current specs and state" in line
    assert '"gpt-4o-2024-08-06" → "gpt-4o-mini"' in line or "n_epochs" in line, line

    assert _changes_sent(world) == {} and world.jobs() == []


def test_a_delete_of_another_folders_objects_is_refused(world: World, tmp_path: Path) -> None:
    """Steps appended on ids of another spec folder's file and job (same organisation): refused
    by the digest, then (digest made again) because no managed object holds those ids; the
    other folder's objects are untouched."""
    other = tmp_path / "other"
    (other / "specs" / "data").mkdir(parents=True)
    (other / "specs" / "main.yaml").write_text(JOB_SPEC.replace("support-v1", "theirs").replace("name: bot", "name: theirs")
                                               .replace("name: train", "name: their_train")
                                               .replace("File.train", "File.their_train"))
    (other / "specs" / "data" / "train.jsonl").write_text(chat_jsonl(topic="refunds"))
    theirs = world.runner.invoke(  # the other team: its own folder and state
        cli, ["-C", str(other / "specs"), "--state", str(other / "state.json"), "apply", "--auto-approve"],
        env=world.env(), catch_exceptions=False)
    assert theirs.exit_code == 0, theirs.output
    their_state = json.loads((other / "state.json").read_text())["resources"]
    their_file, their_job = their_state["File.their_train"]["id"], their_state["FineTuningJob.theirs"]["id"]

    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.write("main.yaml", JOB_SPEC + "---\n" + SECOND_JOB)
    plan_file = tmp_path / "plan.json"
    world.ok("plan", "--out", str(plan_file))
    data = json.loads(plan_file.read_text())
    data["resource_changes"].append(
        {"address": "File.victim", "kind": "File", "name": "victim", "action": "delete", "actions": ["delete"],
         "steps": [{"op": "delete_file", "detail": f"delete {their_file}", "args": {"id": their_file}}],
         "prior_id": their_file})
    data["resource_changes"].append(
        {"address": "FineTuningJob.bot", "kind": "FineTuningJob", "name": "bot", "action": "delete",
         "actions": ["delete"], "prior_id": their_job,
         "steps": [{"op": "cancel_job", "detail": f"cancel {their_job}", "args": {"id": their_job}}]})
    world.sandbox.reset_stats()
    plan_file.write_text(json.dumps(data, indent=1))
    assert "changed after `reconciler plan` wrote it" in _refused(world, plan_file)
    _reseal(plan_file, data)
    line = _refused(world, plan_file)
    assert f"File.victim: its delete_file step touches {their_file}, which is neither in the state" in line
    data["resource_changes"] = [c for c in data["resource_changes"] if c["address"] != "File.victim"]
    _reseal(plan_file, data)
    line = _refused(world, plan_file)
    assert f"FineTuningJob.bot: its cancel_job step touches {their_job}" in line
    assert _changes_sent(world) == {}
    live = {j["id"]: j["status"] for j in world.jobs()}
    assert live[their_job] in ("validating_files", "queued", "running")
    assert their_file in {f.id for f in world.sdk().files.list()}


def test_an_untouched_plan_made_while_a_job_ran_applies_after_it_finished(world: World, tmp_path: Path) -> None:
    """Made while bot was running (its grant pending on the model, bot2 to create); applied once bot
    finished: nothing the plan decided changed, so it applies, and the grant it showed pending is
    made now that the model is known."""
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    assert world.jobs()[0]["status"] in ("validating_files", "queued", "running")
    world.write("main.yaml", JOB_SPEC + "---\n" + SECOND_JOB + PERMISSION_SPEC % "false")
    plan_file = tmp_path / "plan.json"
    shown = world.ok("plan", "--out", str(plan_file)).output
    assert "+ FineTuningJob.bot2" in shown and "CheckpointPermission.share" in shown
    world.finish_jobs()
    world.sandbox.reset_stats()
    world.ok("apply", str(plan_file))
    assert world.sandbox.stats().get("POST /v1/fine_tuning/jobs") == 1
    checkpoint = world.state()["resources"]["CheckpointPermission.share"]["id"]
    grants = list(world.sdk().fine_tuning.checkpoints.permissions.list(checkpoint))
    assert sorted(g.project_id for g in grants) == ["proj_alpha", "proj_beta"]
    assert "is stale" in _refused(world, plan_file)  # once applied, the state moved on


def test_a_stale_plan_is_refused_with_a_hint(world: World, tmp_path: Path) -> None:
    """Three ways a plan goes stale without an edit: a spec file changed (named); the world moved
    under an unchanged state (a grant made by hand that `exclusive: true` would now revoke: a step
    the plan did not show); the state was written since (Terraform's floor)."""
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % "true")
    plan_file = tmp_path / "plan.json"
    world.ok("plan", "--out", str(plan_file))
    world.sandbox.reset_stats()

    spec = (world.specs / "main.yaml").read_text()
    world.write("main.yaml", spec.replace("proj_beta", "proj_gamma"))
    line = _refused(world, plan_file)
    assert f"is stale: {world.specs / 'main.yaml'} changed since the plan was made" in line
    assert "Run `reconciler plan` again." in line
    world.write("main.yaml", spec)

    model = world.jobs()[0]["fine_tuned_model"]
    world.sdk().fine_tuning.checkpoints.permissions.create(model, project_ids=["proj_by_hand"])
    world.sandbox.reset_stats()
    line = _refused(world, plan_file)
    assert "is stale: CheckpointPermission.share: the plan's steps are grant" in line
    assert "make grant, revoke (revoke proj_by_hand (not listed and exclusive is true))" in line and "Run `reconciler plan` again." in line
    assert _changes_sent(world) == {}

    world.ok("apply", "--auto-approve")  # the state moves on
    assert "is stale: it was made against state serial" in _refused(world, plan_file)


def test_policies_are_evaluated_again_at_apply(world: World, tmp_path: Path) -> None:
    """A plan made while a policy only warned: once the policy denies, the plan is stale (the
    file changed); with the binding forged to match the folder, the deny evaluated here refuses
    all the same. The `policies` a file holds never decide."""
    from tests.policy.test_policy_cli import DENY_EPOCHS

    world.write("main.yaml", JOB_SPEC)
    world.write("policy.yaml", DENY_EPOCHS % "warn")
    plan_file = tmp_path / "plan.json"
    world.ok("plan", "--out", str(plan_file))
    data = json.loads(plan_file.read_text())
    assert data["policies"][0]["outcome"] == "warn"
    world.write("policy.yaml", DENY_EPOCHS % "deny")
    world.sandbox.reset_stats()
    assert f"is stale: {world.specs / 'policy.yaml'} changed since the plan was made" in _refused(world, plan_file)

    from reconciler.loading import load_specs

    data["binding"]["specs"] = spec_file_digests(world.specs)
    data["binding"]["policies"] = policies_digest(load_specs(world.specs, {}))
    _reseal(plan_file, data)
    line = _refused(world, plan_file)
    assert "refusing to apply: Policy.fixed_epochs denies FineTuningJob.bot" in line
    assert _changes_sent(world) == {} and world.jobs() == []


def test_a_plan_made_against_one_account_is_refused_by_another(world: World, tmp_path: Path) -> None:
    """A new state records no account yet: the plan file's binding does. Applied with the keys
    and base URL of another organisation, it is refused after the reads, before any change."""
    from reconciler_sandbox.testing import run_sandbox

    world.write("main.yaml", JOB_SPEC)
    plan_file = tmp_path / "plan.json"
    world.ok("plan", "--out", str(plan_file))
    with run_sandbox(organization="org-other", project="proj_other") as other:
        result = world.run("apply", str(plan_file), OPENAI_BASE_URL=other.base_url)
        assert result.exit_code == 1, result.output
        assert "was made against organization org-sandbox, project proj_sandbox" in result.output
        assert "the API answering now is organization org-other, project proj_other" in result.output
        assert not any(k.startswith(("POST", "DELETE")) for k in other.stats()), other.stats()
    assert not world.state_file.exists()


def test_plans_made_with_replace_and_destroy_apply_as_made(world: World, tmp_path: Path) -> None:
    """The options a plan was made with are made again with it: `--replace` (recorded in the
    binding) and `--destroy` (in the plan)."""
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    replace = tmp_path / "replace.json"
    world.ok("plan", "--replace", "FineTuningJob.bot", "--out", str(replace))
    world.ok("apply", str(replace))
    assert len(world.jobs()) == 2
    destroy = tmp_path / "destroy.json"
    world.ok("plan", "--destroy", "--out", str(destroy))
    world.ok("apply", str(destroy))
    assert world.state()["resources"] == {}
