"""Ownership by workspace name and spec folder, through the real CLI (a subprocess) against the
real sandbox over HTTP, counting jobs in the sandbox's world.

- `apply -w staging` then `apply -w prod` in one spec folder: both apply without flags and neither
  adopts the other's jobs; a lost state of the *same* workspace is refused, naming it.
- A state of another lineage pushed over a workspace that manages objects (`state push --force`),
  then `apply`: the creates the workspace's own live jobs hold are refused before anything is sent.
- Jobs an older reconciler marked with the lineage only are still told apart: the lineage of a
  workspace's state beside this one is that workspace; an unknown lineage still refuses a new state.
- The same on the pg backend.
"""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.pgcluster import fresh_schema

from .helpers import Cli, chat_jsonl, jobs_by_address, report, sdk

JOBS = 3
SPEC = "kind: File\nname: train\nspec: {path: data/train.jsonl}\n" + "".join(
    f"---\nkind: FineTuningJob\nname: bot{i}\nspec:\n  model: gpt-4o-mini\n  training_file: ${{File.train.id}}\n"
    f"  suffix: bot{i}\n" for i in range(JOBS))
ADDRESSES = [f"FineTuningJob.bot{i}" for i in range(JOBS)]


@dataclass
class WorkspaceCli(Cli):
    """`python -m reconciler -C specs ...` run in ROOT: the state is state/<workspace>.json there
    (or in pg, when the folder's Settings say so), chosen with -w as a user does."""

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "reconciler", "-C", "specs", *args]

    def state_of(self, workspace: str) -> dict[str, Any]:
        return json.loads((self.root / "state" / f"{workspace}.json").read_text())


def _folder(root: Path, sandbox: Any, extra_env: dict[str, str] | None = None) -> WorkspaceCli:
    cli = WorkspaceCli(root, sandbox.base_url, extra_env=extra_env or {})
    (cli.specs / "data").mkdir(parents=True, exist_ok=True)
    (cli.specs / "data" / "train.jsonl").write_text(chat_jsonl())
    cli.write("main.yaml", SPEC)
    return cli


def _jobs(sandbox: Any) -> list[dict[str, Any]]:
    return [j.model_dump() for j in sdk(sandbox.base_url).fine_tuning.jobs.list(limit=100)]


def _duplicates(sandbox: Any, workspaces: int) -> int:
    """Jobs beyond one per address and workspace."""
    return sum(len(jobs) - workspaces for address, jobs in jobs_by_address(sandbox).items() if address)


def _creates(sandbox: Any) -> int:
    return sum(n for k, n in sandbox.stats().items() if k.startswith("POST "))


def test_named_workspaces_of_one_folder_apply_without_flags_and_a_lost_one_is_refused(sandbox, tmp_path):
    cli = _folder(tmp_path, sandbox)
    cli.ok("apply", "--auto-approve", "-w", "staging")
    plan = cli.ok("plan", "-w", "prod", "--no-color", codes=(0,)).stdout
    assert "! FineTuningJob.bot0 also exists in workspace staging of folder specs as ftjob-" in plan, plan
    # staging's state is kept where its own pipeline keeps it (another runner's artifact): prod
    # knows staging's jobs by the name in their marks alone
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "state" / "staging.json").rename(tmp_path / "elsewhere" / "staging.json")
    cli.ok("apply", "--auto-approve", "-w", "prod")   # no flag: another workspace of the folder
    (tmp_path / "elsewhere" / "staging.json").rename(tmp_path / "state" / "staging.json")

    staging, prod = cli.state_of("staging"), cli.state_of("prod")
    ids = {w: {s["resources"][a]["id"] for a in ADDRESSES} for w, s in (("staging", staging), ("prod", prod))}
    assert not ids["staging"] & ids["prod"]              # neither adopted the other's jobs
    assert staging["folder"] == prod["folder"] == "specs"
    marks = {j["id"]: j["metadata"]["reconciler_workspace"] for j in _jobs(sandbox)}
    assert {marks[i] for i in ids["staging"]} == {"staging:specs"}
    assert {marks[i] for i in ids["prod"]} == {"prod:specs"}
    assert len(_jobs(sandbox)) == 2 * JOBS and _duplicates(sandbox, 2) == 0

    # Both converge, and a third workspace of the folder applies without a flag too.
    for workspace in ("staging", "prod"):
        assert "No changes." in cli.ok("plan", "-w", workspace).stdout

    # prod's state is lost: the same workspace, another lineage: refused, naming the workspace.
    (tmp_path / "state" / "prod.json").rename(tmp_path / "prod.json.lost")
    sandbox.reset_stats()
    refused = cli.run("apply", "--auto-approve", "-w", "prod")
    lines = [line for line in (refused.stdout + refused.stderr).splitlines() if "is new, but" in line]
    assert refused.returncode == 1 and "Traceback" not in refused.stdout + refused.stderr, refused
    assert len(lines) == 1 and lines[0].startswith(
        f"Error: state/prod.json is new, but workspace prod already has {JOBS} jobs at these addresses"), lines
    assert "--allow-other-workspaces" in lines[0]
    assert _creates(sandbox) == 0 and len(_jobs(sandbox)) == 2 * JOBS
    report("workspaces_by_name", {"workspaces": 2, "jobs": len(_jobs(sandbox)), "duplicates": _duplicates(sandbox, 2),
                                  "flags_needed": 0, "lost_state_refused": True, "posts_after_refusal": 0})


def test_a_pushed_state_of_another_lineage_is_refused_before_anything_costs(sandbox, tmp_path):
    cli = _folder(tmp_path, sandbox)
    cli.ok("apply", "--auto-approve")
    state = cli.state_of("default")
    # A state of another lineage that manages only the upload (a hand-edited or wrong backup):
    other = dict(state, lineage=str(uuid.uuid4()), serial=1,
                 resources={"File.train": state["resources"]["File.train"]})
    (tmp_path / "other.json").write_text(json.dumps(other))
    cli.ok("state", "push", "--force", str(tmp_path / "other.json"))

    plan = cli.ok("plan", "--no-color", codes=(0,)).stdout
    assert "FineTuningJob.bot0 also exists in workspace default of folder specs" in plan, plan
    sandbox.reset_stats()
    refused = cli.run("apply", "--auto-approve")
    text = refused.stdout + refused.stderr
    assert refused.returncode == 1 and "Traceback" not in text, text
    line = next(x for x in text.splitlines() if "does not manage them" in x)
    assert line.startswith(f"Error: state/default.json (lineage {other['lineage'][:8]}) does not manage them, "
                           f"but workspace default already has {JOBS} jobs at these addresses"), line
    assert "pushed, migrated or restored" in line and "--allow-other-workspaces" in line
    assert _creates(sandbox) == 0                       # refused before any request that costs
    assert len(_jobs(sandbox)) == JOBS and _duplicates(sandbox, 1) == 0
    sync = cli.run("sync")
    assert sync.returncode == 1 and "does not manage them" in sync.stdout + sync.stderr
    assert len(_jobs(sandbox)) == JOBS
    report("pushed_state_collision", {"jobs": len(_jobs(sandbox)), "duplicates": 0, "posts": _creates(sandbox)})


def _legacy_job(sandbox: Any, address: str, lineage: str) -> str:
    """A job as an older reconciler made it: address, digest and lineage tags, no workspace tag."""
    client = sdk(sandbox.base_url)
    upload = client.files.create(file=("train.jsonl", chat_jsonl().encode()), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload.id, metadata={
        "reconciler_address": address, "reconciler_digest": "0" * 64, "reconciler_lineage": lineage})
    return job.id


def test_jobs_marked_by_an_older_reconciler_are_still_told_apart(sandbox, tmp_path):
    cli = _folder(tmp_path, sandbox)
    lineage = str(uuid.uuid4())
    old = _legacy_job(sandbox, "FineTuningJob.bot0", lineage)
    # the staging state that made it, written by the older reconciler (its lineage, no folder)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "staging.json").write_text(json.dumps(
        {"format_version": 1, "lineage": lineage, "serial": 3, "reconciler_version": "0.1.0", "resources": {}}))

    # A lineage no workspace here holds: perhaps this workspace's lost state: a new state refuses.
    refused = cli.run("apply", "--auto-approve", "-w", "prod", "--state", "state/elsewhere/prod.json")
    assert refused.returncode == 1 and f"already has 1 job at this address (FineTuningJob.bot0: {old}" in \
        refused.stdout + refused.stderr, refused
    # The lineage of the staging state beside prod: staging's job, not prod's: prod goes on.
    plan = cli.ok("plan", "-w", "prod", "--no-color").stdout
    assert f"! FineTuningJob.bot0 also exists in workspace staging as {old}" in plan, plan  # named, not 1a2b3c4d
    cli.ok("apply", "--auto-approve", "-w", "prod")
    assert old not in {r["id"] for r in cli.state_of("prod")["resources"].values()}  # never adopted
    assert len(_jobs(sandbox)) == 1 + JOBS


PG_SETTINGS = "kind: Settings\nname: default\nspec:\n  backend: {type: pg, schema: %s}\n"


def test_named_workspaces_on_the_pg_backend(sandbox, tmp_path, pg_conninfo):
    cli = _folder(tmp_path, sandbox, {"RECONCILER_PG_CONN_STR": pg_conninfo})
    cli.write("settings.yaml", PG_SETTINGS % fresh_schema())
    cli.ok("apply", "--auto-approve", "-w", "staging")
    cli.ok("apply", "--auto-approve", "-w", "prod")
    assert len(_jobs(sandbox)) == 2 * JOBS and _duplicates(sandbox, 2) == 0
    assert "No changes." in cli.ok("plan", "-w", "prod").stdout

    # prod's state replaced by another lineage's (pushed with --force): refused, nothing sent.
    pulled = json.loads(cli.ok("state", "pull", "-w", "prod").stdout)
    other = dict(pulled, lineage=str(uuid.uuid4()), resources={"File.train": pulled["resources"]["File.train"]})
    (tmp_path / "other.json").write_text(json.dumps(other))
    cli.ok("state", "push", "--force", str(tmp_path / "other.json"), "-w", "prod")
    sandbox.reset_stats()
    refused = cli.run("apply", "--auto-approve", "-w", "prod")
    text = refused.stdout + refused.stderr
    assert refused.returncode == 1 and "Traceback" not in text, text
    assert "does not manage them, but workspace prod already has 3 jobs" in text, text
    assert _creates(sandbox) == 0 and len(_jobs(sandbox)) == 2 * JOBS
    report("workspaces_by_name_pg", {"workspaces": 2, "jobs": len(_jobs(sandbox)), "duplicates": 0,
                                     "pushed_state_refused": True, "posts_after_refusal": 0})
