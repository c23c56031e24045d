"""Workspaces and folders are isolated by lineage ownership.

Same specs, a second state file (`--state state/b.json`) on the same organisation: plan used to
offer to *adopt* the first workspace's objects as "made by an interrupted run"; `destroy` there
deleted the training file the first workspace used. Two team folders with the same JSONL:
destroying one forced a replacement (a new paid job) in the other.

Now every job carries `reconciler_lineage` in its metadata and every upload is named
`<stem>.reconciler-<lineage>.jsonl`; adoption, prune and unmanaged reports only take what carries
our mark, a file another workspace's job uses is forgotten rather than deleted, and a file
uploaded again with the same bytes never replaces the job trained on it. The real CLI as a
subprocess against the real sandbox over HTTP, counting jobs and files through the SDK."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.reliability.helpers import Cli, chat_jsonl, report, sdk

JOBS = 3


@dataclass
class StateCli(Cli):
    """The CLI on one spec folder (root/specs) with a state file of its own (root/state/NAME.json)."""

    name: str = "default"

    @property
    def state_file(self) -> Path:
        return self.root / "state" / f"{self.name}.json"

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def ids(self, kind: str) -> set[str]:
        return {r["id"] for r in self.state()["resources"].values() if r["kind"] == kind}


def _specs(cli: Cli, jobs: tuple[str, ...] = tuple(f"bot{i}" for i in range(JOBS))) -> None:
    (cli.specs / "data").mkdir(parents=True, exist_ok=True)
    (cli.specs / "data" / "train.jsonl").write_text(chat_jsonl())
    docs = ["kind: File\nname: train\nspec: {path: data/train.jsonl}\n"]
    docs += [f"kind: FineTuningJob\nname: {name}\nspec:\n  model: gpt-4o-mini\n"
             f"  training_file: ${{File.train.id}}\n  suffix: {name}\n" for name in jobs]
    cli.write("main.yaml", "---\n".join(docs))


def _jobs(sandbox: Any) -> dict[str, dict[str, Any]]:
    return {j.id: j.model_dump() for j in sdk(sandbox.base_url).fine_tuning.jobs.list(limit=100)}


def _files(sandbox: Any) -> dict[str, dict[str, Any]]:
    return {f.id: f.model_dump() for f in sdk(sandbox.base_url).files.list()}


def _actions(cli: Cli, *args: str) -> dict[str, str]:
    data = json.loads(cli.ok("plan", "--json", *args, codes=(0, 2)).stdout)
    return {c["address"]: c["action"] for c in data["resource_changes"]}


def test_a_second_state_on_the_same_specs_creates_its_own_and_destroys_only_its_own(sandbox, tmp_path: Path) -> None:
    a = StateCli(tmp_path, sandbox.base_url, name="default")
    b = StateCli(tmp_path, sandbox.base_url, name="b")
    _specs(a)
    a.ok("apply", "--auto-approve")
    a_jobs, a_files = a.ids("FineTuningJob"), a.ids("File")
    assert len(a_jobs) == JOBS and len(a_files) == 1

    # The second state plans its own creates: nothing of the first is offered for adoption.
    data = json.loads(b.ok("plan", "--json", codes=(0, 2)).stdout)
    actions = {c["address"]: c["action"] for c in data["resource_changes"]}
    assert set(actions.values()) == {"create"}, actions
    assert not [d for d in data.get("drift", []) if "adopt" in json.dumps(d)], data.get("drift")
    # ... and shows, on every job create, the first's job by its workspace's name: another workspace
    # of the folder (state/b.json is workspace b), so apply needs no flag.
    held = {c["address"]: c["other_workspaces"] for c in data["resource_changes"] if c.get("other_workspaces")}
    assert len(held) == JOBS and all(o[0]["name"] == "default" for o in held.values()), held
    b.ok("apply", "--auto-approve")
    b_jobs, b_files = b.ids("FineTuningJob"), b.ids("File")
    assert not (a_jobs & b_jobs) and not (a_files & b_files)
    assert len(_jobs(sandbox)) == 2 * JOBS

    # Each workspace's drift report leaves the other's running jobs alone.
    drift = json.loads(b.ok("drift", "--format", "json", codes=(0, 2)).stdout)
    assert not [f for f in drift["findings"] if f["category"] == "unmanaged_job"], drift["findings"]

    # Destroy in the second: the first's file and jobs stay (and its jobs keep running).
    b.ok("destroy", "--auto-approve")
    live_jobs, live_files = _jobs(sandbox), _files(sandbox)
    assert a_files <= set(live_files), (a_files, set(live_files))
    assert all(live_jobs[j]["status"] != "cancelled" for j in a_jobs), [live_jobs[j]["status"] for j in a_jobs]
    assert all(live_jobs[j]["status"] == "cancelled" for j in b_jobs)
    assert not (b_files & set(live_files))

    # The first then plans "No changes.", and a second destroy-free plan in b creates again.
    check = a.run("plan", "--detailed-exitcode", "--no-color")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No changes." in check.stdout
    assert len(_jobs(sandbox)) == 2 * JOBS  # 0 extra jobs
    report("workspaces_two_states", {"jobs_per_workspace": JOBS, "adopted_by_second": 0,
                                     "first_files_deleted_by_second_destroy": 0,
                                     "first_jobs_cancelled_by_second_destroy": 0,
                                     "jobs_total": len(_jobs(sandbox)), "first_plan_after": "No changes."})


def test_a_file_another_workspace_trains_on_is_forgotten_not_deleted(sandbox, tmp_path: Path) -> None:
    a = StateCli(tmp_path, sandbox.base_url, name="default")
    b = StateCli(tmp_path, sandbox.base_url, name="b")
    _specs(a)
    a.ok("apply", "--auto-approve")
    [shared] = a.ids("File")

    # b takes the first workspace's upload into its state on purpose (an import, or a state made by
    # an older reconciler that adopted it), then destroys.
    b.ok("import", "File.train", shared)
    text = b.ok("destroy", "--auto-approve", "--no-color").stdout
    assert "kept: used by job ftjob-" in text and "of another workspace" in text, text
    assert "1 to forget" in text and "file to delete" not in text, text
    assert shared in _files(sandbox)
    assert b.state()["resources"] == {}
    check = a.run("plan", "--detailed-exitcode", "--no-color")
    assert check.returncode == 0 and "No changes." in check.stdout, check.stdout + check.stderr
    report("workspaces_shared_file", {"shared_files_deleted": 0, "forgotten": 1,
                                      "jobs_total": len(_jobs(sandbox))})


def test_two_folders_with_the_same_data_never_retrain_each_other(sandbox, tmp_path: Path) -> None:
    one = StateCli(tmp_path / "team1", sandbox.base_url)
    two = StateCli(tmp_path / "team2", sandbox.base_url)
    _specs(one, ("bot",))
    _specs(two, ("helper",))
    one.ok("apply", "--auto-approve")
    two.ok("apply", "--auto-approve")
    assert len(_jobs(sandbox)) == 2
    sandbox.advance(3600)  # both trained

    # team2 does not report team1's job (made by reconciler for an address team2 does not declare).
    drift = json.loads(two.ok("drift", "--format", "json", "--include-finished", codes=(0, 2)).stdout)
    assert not [f for f in drift["findings"] if f["category"] == "unmanaged_job"], drift["findings"]

    one.ok("destroy", "--auto-approve")
    assert _actions(two) == {"File.train": "no-op", "FineTuningJob.helper": "no-op"}
    assert len(_jobs(sandbox)) == 2

    # team2's upload deleted by hand: the same bytes are uploaded again and the job is kept. (Some
    # other file stays listed: a listing with no file at all while the state manages one is refused
    # as a wrong key or project — a guard of its own.)
    client = sdk(sandbox.base_url)
    client.files.create(file=("notes.jsonl", chat_jsonl(2).encode()), purpose="fine-tune")
    [mine] = two.ids("File")
    client.files.delete(mine)
    assert _actions(two) == {"File.train": "create", "FineTuningJob.helper": "no-op"}
    two.ok("apply", "--auto-approve")
    assert two.ids("File") != {mine}
    check = two.run("plan", "--detailed-exitcode", "--no-color")
    assert check.returncode == 0 and "No changes." in check.stdout, check.stdout + check.stderr
    assert len(_jobs(sandbox)) == 2  # 0 extra paid jobs
    report("workspaces_two_folders", {"jobs_before": 2, "jobs_after_destroy_and_reupload": len(_jobs(sandbox)),
                                      "replacements": 0})


def test_an_interrupted_run_of_our_own_lineage_is_still_adopted(sandbox, tmp_path: Path) -> None:
    a = StateCli(tmp_path, sandbox.base_url)
    _specs(a)
    a.ok("apply", "--auto-approve")
    # As if the run died after the creates and before recording them: the state loses the
    # records but keeps its lineage.
    state = a.state()
    state["resources"] = {k: v for k, v in state["resources"].items() if k == "File.train"}
    a.state_file.write_text(json.dumps(state))
    assert set(_actions(a).values()) == {"no-op", "adopt"}
    a.ok("apply", "--auto-approve")
    assert len(_jobs(sandbox)) == JOBS  # adopted, not bought again

    # A fresh state on the same specs sees them as another workspace's: it creates its own.
    fresh = StateCli(tmp_path, sandbox.base_url, name="fresh")
    assert set(_actions(fresh).values()) == {"create"}
