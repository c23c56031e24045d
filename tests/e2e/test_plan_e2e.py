"""Issue 4's promises, shown end to end: the real CLI against the sandbox over HTTP."""

from __future__ import annotations

import json
import math

import pytest

from reconciler.kinds import registry

from .conftest import JOB_SPEC, PERMISSION_SPEC, chat_jsonl


def test_empty_state_plans_creates_with_exit_2(world):
    world.write("main.yaml", JOB_SPEC)
    result = world.ok("plan", "--detailed-exitcode", code=2)
    assert "# File.train will be created" in result.output
    assert "# FineTuningJob.bot will be created" in result.output
    assert "training_file = (known after apply)" in result.output
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in result.output
    assert not world.state_file.exists(), "plan must not write state"


def test_unchanged_world_is_no_changes_even_after_jobs_finish(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    result = world.ok("plan", "--detailed-exitcode")
    assert "No changes." in result.output
    world.finish_jobs()
    job = world.jobs()[0]
    # The sandbox resolved "auto" and the alias, like the real API does.
    assert job["status"] == "succeeded"
    assert job["model"] == "gpt-4o-mini-2024-07-18"
    assert isinstance(job["method"]["supervised"]["hyperparameters"]["n_epochs"], int)
    result = world.ok("plan", "--detailed-exitcode")
    assert "No changes." in result.output
    assert "Objects have changed outside" not in result.output


@pytest.mark.parametrize("old,new,attribute", [
    ("suffix: support-v1", "suffix: support-v2", "suffix"),
    ("model: gpt-4o-mini", "model: gpt-4.1-mini", "model"),
    ("{n_epochs: auto, batch_size: auto, learning_rate_multiplier: auto}",
     "{n_epochs: 4, batch_size: auto, learning_rate_multiplier: auto}",
     "method.supervised.hyperparameters.n_epochs"),
    ("metadata: {team: support}", "metadata: {team: growth}", "metadata.team"),
])
def test_each_input_change_is_a_replace_naming_the_attribute(world, old, new, attribute):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.write("main.yaml", JOB_SPEC.replace(old, new))
    result = world.ok("plan", "--detailed-exitcode", code=2)
    assert "# FineTuningJob.bot" in result.output and "must be replaced" in result.output
    assert f"{attribute} = " in result.output and "# forces replacement" in result.output
    # the running job is cancelled: a step counted beside the resources
    assert "Plan: 1 to add, 0 to change, 1 to destroy, 1 job to cancel." in result.output


def test_new_training_data_replaces_file_and_job(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    (world.specs / "data" / "train.jsonl").write_text(chat_jsonl(topic="refunds"))
    result = world.ok("plan", "--detailed-exitcode", code=2)
    assert "# File.train" in result.output and "the content of data/train.jsonl changed" in result.output
    assert "training_file = " in result.output
    assert "Plan: 2 to add, 0 to change, 2 to destroy, 1 job to cancel, 1 file to delete." in result.output


def test_alias_written_as_snapshot_is_not_a_change(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.write("main.yaml", JOB_SPEC.replace("model: gpt-4o-mini", "model: gpt-4o-mini-2024-07-18"))
    assert "No changes." in world.ok("plan", "--detailed-exitcode").output


def test_job_cancelled_through_the_sdk_is_drift(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    job_id = world.state()["resources"]["FineTuningJob.bot"]["id"]
    world.sdk(admin=False).fine_tuning.jobs.cancel(job_id)
    result = world.ok("plan", "--detailed-exitcode", code=2)
    assert "Objects have changed outside of reconciler" in result.output
    assert "FineTuningJob.bot: cancelled outside reconciler" in result.output
    assert "must be replaced" in result.output  # the spec still wants it


@pytest.mark.parametrize("exclusive", [True, False])
def test_permission_granted_by_hand(world, exclusive):
    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % str(exclusive).lower())
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")
    checkpoint = world.state()["resources"]["CheckpointPermission.share"]["id"]
    assert checkpoint.startswith("ft:gpt-4o-mini-2024-07-18:")
    world.sdk().fine_tuning.checkpoints.permissions.create(checkpoint, project_ids=["proj_intruder"])
    # Drift alone is not a change (Terraform's -detailed-exitcode): exit 0 unless a revoke is planned.
    result = world.ok("plan", "--detailed-exitcode", code=2 if exclusive else 0)
    assert "proj_intruder was granted" in result.output
    if exclusive:
        assert "revoke proj_intruder" in result.output
        assert "Plan: 0 to add, 1 to change, 0 to destroy, 1 grant to revoke." in result.output
    else:
        assert "revoke proj_intruder" not in result.output
        assert "No changes." in result.output


def test_permission_revoked_by_hand_is_granted_again(world):
    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % "true")
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")
    grants = world.state()["resources"]["CheckpointPermission.share"]["attributes"]["permissions"]
    beta = next(g for g in grants if g["project_id"] == "proj_beta")
    checkpoint = world.state()["resources"]["CheckpointPermission.share"]["id"]
    world.sdk().fine_tuning.checkpoints.permissions.delete(beta["id"], fine_tuned_model_checkpoint=checkpoint)
    result = world.ok("plan", "--detailed-exitcode", code=2)
    assert "the grant of" in result.output and "proj_beta was revoked outside reconciler" in result.output
    assert "+ grant  proj_beta" in result.output


def test_refresh_lists_jobs_by_page_not_one_get_per_job(world):
    n = 230
    docs = [JOB_SPEC.split("---")[0]]
    for i in range(n):
        docs.append(f"kind: FineTuningJob\nname: job{i}\nspec:\n  model: gpt-4o-mini\n"
                    f"  training_file: ${{File.train.id}}\n  suffix: s{i}\n")
    world.write("main.yaml", "---\n".join(docs))
    world.ok("apply", "--auto-approve", "--parallelism", "16")
    world.sandbox.reset_stats()
    world.ok("plan", "--detailed-exitcode")
    stats = world.sandbox.stats()
    assert stats.get("GET /v1/fine_tuning/jobs") == math.ceil(n / 100)
    assert not any(k.startswith("GET /v1/fine_tuning/jobs/{") for k in stats), stats
    assert stats.get("GET /v1/files") == 1


def test_plan_json_is_versioned_and_machine_readable(world):
    world.write("main.yaml", JOB_SPEC)
    result = world.ok("plan", "--json")
    data = json.loads(result.output)
    assert data["format_version"] == "1.6"
    assert data["has_changes"] is True
    job = next(c for c in data["resource_changes"] if c["address"] == "FineTuningJob.bot")
    assert job["action"] == "create" and "training_file" in job["after_unknown"]


def test_saved_plan_applies_exactly_and_refuses_when_stale(world, tmp_path):
    world.write("main.yaml", JOB_SPEC)
    plan_file = tmp_path / "the.plan"
    world.ok("plan", "--out", str(plan_file))
    assert oct(plan_file.stat().st_mode & 0o777) == "0o600"
    world.ok("apply", str(plan_file))
    assert len(world.jobs()) == 1
    result = world.run("apply", str(plan_file))
    assert result.exit_code == 1
    assert "is stale" in result.output and "Traceback" not in result.output
    assert len(world.jobs()) == 1


def test_truncated_state_is_a_clear_error_and_left_untouched(world):
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    raw = world.state_file.read_bytes()
    world.state_file.write_bytes(raw[: len(raw) // 2])
    before = world.state_file.read_bytes()
    for command in (["plan"], ["apply", "--auto-approve"]):
        result = world.run(*command)
        assert result.exit_code == 1, result.output
        assert str(world.state_file) in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
    assert world.state_file.read_bytes() == before


def test_plan_json_validates_against_its_published_schema(world):
    import importlib.resources

    import jsonschema

    schema = json.loads((importlib.resources.files("reconciler") / "render" / "schema" / "plan.schema.json")
                        .read_text())
    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % "true")
    jsonschema.validate(json.loads(world.ok("plan", "--json").output), schema)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.sdk().fine_tuning.jobs.list()
    data = json.loads(world.ok("plan", "--json").output)
    jsonschema.validate(data, schema)
    assert data["summary"]["add"] == 1  # the permission, now that the model exists


def test_markdown_plan_for_a_pull_request(world):
    world.write("main.yaml", JOB_SPEC)
    text = world.ok("plan", "--format", "markdown").output
    assert text.startswith("### reconciler plan")
    assert "**Plan: 2 to add, 0 to change, 0 to destroy.**" in text
    assert "<details><summary>Plan details</summary>" in text


def test_noop_plan_holds_equal_values_once(world):
    """10,000 unchanged jobs must not mean two or three equal copies of every input in memory: a
    no-op plan's desired values are the recorded ones, grants read back unchanged are the recorded
    grants, and jobs trained the same way share one method block (identity, not just equality)."""
    from reconciler.api import ApiClient
    from reconciler.loading import load_specs
    from reconciler.planner.build import PlanOptions
    from reconciler.planner.refresh import refresh_and_plan
    from reconciler.state import StateStore

    from .conftest import ADMIN_KEY, PROJECT_KEY

    second = JOB_SPEC.split("---\n", 1)[1].replace("name: bot", "name: bot2").replace("support-v1", "support-v2")
    world.write("main.yaml", JOB_SPEC + "---\n" + second + PERMISSION_SPEC % "false")
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")

    specs = load_specs(world.specs, {})
    state = StateStore(world.state_file).load()
    client = ApiClient(world.sandbox.base_url, PROJECT_KEY, ADMIN_KEY)
    plan, observed = refresh_and_plan(specs, state, client, PlanOptions(kinds=registry))
    assert not plan.has_changes
    bot, bot2, share = (plan.change_for(a) for a in ("FineTuningJob.bot", "FineTuningJob.bot2",
                                                     "CheckpointPermission.share"))
    assert bot.after == {**state.resources["FineTuningJob.bot"].inputs, "status": "running"}
    assert bot.after["method"] is state.resources["FineTuningJob.bot"].inputs["method"]
    assert bot.after["metadata"] is state.resources["FineTuningJob.bot"].inputs["metadata"]
    assert share.after["project_ids"] is state.resources["CheckpointPermission.share"].inputs["project_ids"]
    checkpoint = state.resources["CheckpointPermission.share"].id
    recorded = {g["id"]: g for g in state.resources["CheckpointPermission.share"].attributes["permissions"]}
    assert len(observed.permissions[checkpoint]) == 2
    assert all(g is recorded[g["id"]] for g in observed.permissions[checkpoint])
    live = [observed.jobs[state.resources[a].id] for a in ("FineTuningJob.bot", "FineTuningJob.bot2")]
    assert live[0]["method"] == live[1]["method"] and live[0]["method"] is live[1]["method"]
    assert state.resources["FineTuningJob.bot"].inputs["method"] is state.resources["FineTuningJob.bot2"].inputs["method"]
    assert bot2.action.value == "no-op"


def test_saved_plan_is_applied_beside_the_specs_it_was_made_from(world, tmp_path):
    """A saved plan is made again at apply from the spec folder (docs/adr/0201): broken specs are
    refused as `plan` refuses them, before any request; beside its own specs it applies, asking
    for the admin key up front when it grants."""
    world.write("main.yaml", JOB_SPEC)
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % "false")
    plan_file = tmp_path / "grants.plan"
    world.ok("plan", "--out", str(plan_file), code=0)
    good = (world.specs / "main.yaml").read_text()
    world.write("main.yaml", "kind: FineTuningJob\nname: [broken\n")
    world.sandbox.reset_stats()
    broken = world.run("apply", str(plan_file))
    assert broken.exit_code == 1 and "main.yaml:3: invalid YAML" in broken.output, broken.output
    assert "Traceback" not in broken.output and world.sandbox.stats() == {}
    (world.specs / "main.yaml").write_text(good)
    no_admin = world.run("apply", str(plan_file), OPENAI_ADMIN_KEY="")
    assert no_admin.exit_code == 1, no_admin.output
    assert "CheckpointPermission.share needs an admin key" in no_admin.output and "OPENAI_ADMIN_KEY" in no_admin.output
    assert "Traceback" not in no_admin.output
    world.ok("apply", str(plan_file))
    checkpoint = world.state()["resources"]["CheckpointPermission.share"]["id"]
    grants = list(world.sdk().fine_tuning.checkpoints.permissions.list(checkpoint))
    assert sorted(g.project_id for g in grants) == ["proj_alpha", "proj_beta"]
    again = world.run("apply", str(plan_file))
    assert again.exit_code == 1 and "is stale" in again.output


def test_plan_json_is_written_in_pieces_but_is_the_same_document(world):
    """`plan --json` and `plan --out` stream the plan; the text must be exactly json.dumps of the
    whole plan dict (unknown values, drift, pending, observed objects included)."""
    from reconciler.api import ApiClient
    from reconciler.loading import load_specs
    from reconciler.planner.build import PlanOptions
    from reconciler.planner.refresh import refresh_and_plan
    from reconciler.render.json_plan import iter_plan_json, plan_to_dict
    from reconciler.state import StateStore

    from .conftest import ADMIN_KEY, PROJECT_KEY

    world.write("main.yaml", JOB_SPEC + PERMISSION_SPEC % "true")
    world.ok("apply", "--auto-approve")
    world.sdk().fine_tuning.jobs.cancel(world.state()["resources"]["FineTuningJob.bot"]["id"])  # drift
    world.write("main.yaml", (JOB_SPEC + PERMISSION_SPEC % "true").replace("support-v1", "support-v2"))
    specs = load_specs(world.specs, {})
    state = StateStore(world.state_file).load()
    plan, _ = refresh_and_plan(specs, state, ApiClient(world.sandbox.base_url, PROJECT_KEY, ADMIN_KEY),
                               PlanOptions(kinds=registry))
    assert plan.drift and plan.observed and any(c.action.value == "pending" for c in plan.changes)
    for indent in (1, 2):
        streamed = "".join(iter_plan_json(plan, indent=indent, extra={"state_file": "s.json"}))
        assert streamed == json.dumps({**plan_to_dict(plan), "state_file": "s.json"}, indent=indent, default=str)
    cli_json = json.loads(world.ok("plan", "--json").output)
    whole = plan_to_dict(plan)  # the CLI's document holds the same changes and observed objects
    assert [c["address"] for c in cli_json["resource_changes"]] == [c["address"] for c in whole["resource_changes"]]
    assert cli_json["observed"] and set(cli_json["observed"]) == set(whole["observed"])
