"""A lost state file must not buy every job again. Every job carries its workspace's lineage
mark, its workspace's name and its spec folder, and a state never adopts another lineage's jobs, so
a state that was lost (deleted, a fresh clone, a CI runner without the artifact) starts a new
lineage whose plan creates every job again. The plan names the live job each create would pay for
again, and apply refuses (one line, exit 1, nothing sent) a create that this workspace of this
folder holds under another lineage, unless a second copy is meant (`--allow-other-workspaces`);
another folder reusing the addresses is named and goes on. The real CLI against the real sandbox
over HTTP; counts are of jobs listed through the API and of the writes the sandbox received."""

from __future__ import annotations

import json
import shutil

from .conftest import JOB_SPEC, World

EXTRA_JOBS = "".join(f"""\
---
kind: FineTuningJob
name: {name}
spec:
  model: gpt-4o-mini
  training_file: ${{File.train.id}}
  suffix: {name}
""" for name in ("helper", "triage"))
ADDRESSES = ("FineTuningJob.bot", "FineTuningJob.helper", "FineTuningJob.triage")


def _jobs(world: World) -> list[dict]:
    return world.jobs()


def _writes(world: World) -> dict[str, int]:
    return {k: v for k, v in world.sandbox.stats().items() if not k.startswith("GET ")}


def _applied(world: World) -> dict[str, str]:
    """Three jobs applied by one state: address -> job id."""
    world.write("main.yaml", JOB_SPEC + EXTRA_JOBS)
    world.ok("apply", "--auto-approve")
    resources = world.state()["resources"]
    return {a: resources[a]["id"] for a in ADDRESSES}


def _lose_state(world: World) -> None:
    """The whole state folder is gone, as in a fresh clone or on a CI runner without the artifact."""
    shutil.rmtree(world.state_file.parent)


def _lineage(world: World, job_id: str) -> str:
    job = next(j for j in _jobs(world) if j["id"] == job_id)
    return str(job["metadata"]["reconciler_lineage"])


def _folder(world: World) -> str:
    """The spec folder's identity as marks carry it: a test's folder is outside any git work tree
    and outside the working folder, so its absolute path."""
    return str(world.specs.resolve())


def test_a_lost_state_shows_every_second_payment_and_apply_refuses_sending_nothing(world):
    ids = _applied(world)
    file_id = world.state()["resources"]["File.train"]["id"]
    lineage = _lineage(world, ids["FineTuningJob.bot"])
    workspace = f"default of folder {_folder(world)}"
    assert next(j for j in _jobs(world) if j["id"] == ids["FineTuningJob.bot"])["metadata"][
        "reconciler_workspace"] == f"default:{_folder(world)}"
    _lose_state(world)

    text = world.ok("plan").output
    for address, job_id in ids.items():
        block = text.split(f"# {address} ")[1].split("\n\n")[0]
        line = f"! {address} also exists in workspace {workspace} as {job_id}: this creates a second paid job"
        assert line in block, text

    data = json.loads(world.ok("plan", "--json").output)
    assert data["format_version"] == "1.6"
    held = {c["address"]: c["other_workspaces"] for c in data["resource_changes"] if c.get("other_workspaces")}
    assert sorted(held) == sorted(ADDRESSES), held
    assert [(o["id"], o["workspace"], o["name"], o["folder"]) for o in held["FineTuningJob.bot"]] == [
        (ids["FineTuningJob.bot"], lineage, "default", _folder(world))]

    markdown = world.ok("plan", "--format", "markdown").output
    assert "3 object(s) to create already exist in another workspace" in markdown, markdown
    assert f"`FineTuningJob.bot` | create | not in state; ❗ FineTuningJob.bot also exists in workspace {workspace}" \
        in markdown, markdown

    world.sandbox.reset_stats()
    result = world.run("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    error = [line for line in result.output.splitlines() if "is new, but" in line]
    assert len(error) == 1, result.output
    assert "is new, but workspace default already has 3 jobs at these addresses (" in error[0]
    assert f"made under lineage {lineage[:8]})" in error[0]
    assert f"FineTuningJob.bot: {ids['FineTuningJob.bot']}" in error[0]
    assert (f"`reconciler import File.train {file_id}`; `reconciler import FineTuningJob.bot "
            f"{ids['FineTuningJob.bot']}`, and likewise for each") in error[0]
    assert "--allow-other-workspaces" in error[0]
    assert _writes(world) == {}, _writes(world)     # nothing uploaded, created or cancelled
    assert len(_jobs(world)) == 3                   # 0 bought again


def test_after_a_lost_state_importing_the_jobs_leaves_no_create(world):
    ids = _applied(world)
    file_id = world.state()["resources"]["File.train"]["id"]
    _lose_state(world)

    world.ok("import", "File.train", file_id)
    for address, job_id in ids.items():
        world.ok("import", address, job_id)
    data = json.loads(world.ok("plan", "--json").output)
    creates = [c["address"] for c in data["resource_changes"] if c["action"] in ("create", "replace")]
    assert creates == [], creates
    world.ok("apply", "--auto-approve")
    assert len(_jobs(world)) == 3                   # the same three jobs, 0 bought again
    assert "No changes." in world.ok("plan").output


def test_restoring_the_backup_after_a_lost_state_leaves_no_create(world):
    ids = _applied(world)
    world.ok("apply", "--auto-approve")             # a second write: the .backup holds the jobs too
    saved = world.state_file.read_bytes()
    _lose_state(world)
    assert "is new, but workspace default already has 3 jobs" in world.run("apply", "--auto-approve").output
    world.state_file.parent.mkdir(exist_ok=True)
    world.state_file.write_bytes(saved)             # what `cp state/default.json.backup ...` does
    assert "No changes." in world.ok("plan").output
    assert sorted(j["id"] for j in _jobs(world)) == sorted(ids.values())


def test_another_folder_that_reuses_the_addresses_creates_its_own_and_is_named(world, tmp_path):
    """Two folders (two teams) that name their jobs alike: the second is told, by the first's
    workspace and folder, that the address exists there, and applies without a flag."""
    ids = _applied(world)
    other = World(world.sandbox, tmp_path / "second")
    shutil.copytree(world.specs, other.specs)

    text = other.ok("plan").output
    assert (f"! FineTuningJob.bot also exists in workspace default of folder {_folder(world)} as "
            f"{ids['FineTuningJob.bot']}") in text, text
    other.ok("apply", "--auto-approve")
    assert len(_jobs(world)) == 6                   # its own three, the first's three untouched
    assert "No changes." in other.ok("plan").output
    assert "No changes." in world.ok("plan").output


def test_a_copy_of_this_workspace_on_purpose_takes_the_flag(world):
    ids = _applied(world)
    _lose_state(world)
    world.ok("apply", "--auto-approve", "--allow-other-workspaces")
    assert len(_jobs(world)) == 6
    assert sorted(j["id"] for j in _jobs(world) if j["id"] in ids.values()) == sorted(ids.values())
    assert "No changes." in world.ok("plan").output


def test_a_scheduled_sync_after_a_lost_state_refuses_and_takes_the_flag_too(world):
    """sync applies auto-approved on a schedule: from a lost state it refuses like apply, sending
    nothing, and its message's `--allow-other-workspaces` is an option sync accepts."""
    ids = _applied(world)
    _lose_state(world)
    world.sandbox.reset_stats()
    refused = world.run("sync")
    assert refused.exit_code == 1 and "Traceback" not in refused.output, refused.output
    assert "is new, but workspace default already has 3 jobs" in refused.output
    assert "--allow-other-workspaces" in refused.output
    assert _writes(world) == {}, _writes(world)
    assert len(_jobs(world)) == 3

    world.ok("sync", "--allow-other-workspaces")
    assert len(_jobs(world)) == 6                   # a second copy on purpose: its own three
    assert sorted(j["id"] for j in _jobs(world) if j["id"] in ids.values()) == sorted(ids.values())
