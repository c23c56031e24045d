"""`reconciler state ...` and `reconciler force-unlock` through the real CLI entry point."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.state import ResourceState, StateStore

SECRET = "sk-proj-should-never-be-printed-123456"


def run(*args: str, input: str | None = None) -> Result:
    runner = CliRunner()
    return runner.invoke(cli, list(args), input=input, env={"NO_COLOR": "1", "OPENAI_API_KEY": SECRET},
                         catch_exceptions=False)


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    path = tmp_path / "state" / "default.json"
    store = StateStore(path)
    state = store.load()
    state.set(ResourceState("File.train", "File", "file-1", {"path": "data/train.jsonl", "purpose": "fine-tune"},
                            "d1", {"bytes": 1084, "filename": "train.jsonl"}))
    state.set(ResourceState("FineTuningJob.bot", "FineTuningJob", "ftjob-1",
                            {"model": "gpt-4o-mini", "method": {"type": "supervised"}, "metadata": {"team": "x"}},
                            "d2", {"status": "running", "result_files": ["file-r"],
                                   "integrations": [{"type": "wandb", "wandb": {"project": "p"}}]},
                            ["File.train"], {"created_by_run": "run-1"}))
    state.set(ResourceState("CheckpointPermission.share", "CheckpointPermission", "ft:gpt-4o-mini:org::x",
                            {"project_ids": ["proj_a"]}, "d3", {"grants": {"proj_a": "cp_1"}},
                            ["FineTuningJob.bot"]))
    store.write(state)
    return path


def load(path: Path) -> object:
    return StateStore(path).load()


def test_list_sorted_and_filtered(state_file: Path) -> None:
    result = run("state", "list", "--state", str(state_file))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["CheckpointPermission.share", "File.train", "FineTuningJob.bot"]
    result = run("--state", str(state_file), "state", "list", "FineTuningJob")
    assert result.exit_code == 0 and result.output.splitlines() == ["FineTuningJob.bot"], result.output
    result = run("state", "list", "--json", "--state", str(state_file))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[1] == {"address": "File.train", "kind": "File", "id": "file-1"}


def test_list_of_missing_state_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nothing" / "s.json"
    result = run("state", "list", "--state", str(path))
    assert result.exit_code == 0 and result.output == ""
    assert not path.parent.exists()


def test_workspace_option_selects_the_file(tmp_path: Path, state_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(state_file.parent.parent)
    result = run("state", "list", "-w", "default")
    assert result.exit_code == 0 and "File.train" in result.output
    other = run("state", "list", "-w", "other")
    assert other.exit_code == 0 and other.output == ""


def test_show_one_readable_and_json(state_file: Path) -> None:
    result = run("state", "show", "FineTuningJob.bot", "--state", str(state_file))
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("# FineTuningJob.bot:\n")
    assert 'id         = "ftjob-1"' in text and 'depends_on = ["File.train"]' in text
    assert 'model    = "gpt-4o-mini"' in text and 'status       = "running"' in text
    assert '"project": "p"' not in text and 'project = "p"' in text  # nested objects are laid out
    data = json.loads(run("state", "show", "FineTuningJob.bot", "--json", "--state", str(state_file)).output)
    assert data["address"] == "FineTuningJob.bot" and data["meta"] == {"created_by_run": "run-1"}
    assert data["attributes"]["status"] == "running"


def test_show_everything_and_pull(state_file: Path) -> None:
    text = run("state", "show", "--state", str(state_file)).output
    assert text.count("# ") == 3
    whole = json.loads(run("state", "show", "--json", "--state", str(state_file)).output)
    assert set(whole["resources"]) == {"File.train", "FineTuningJob.bot", "CheckpointPermission.share"}
    assert whole["serial"] == 1 and whole["format_version"] == 1
    assert json.loads(run("state", "pull", "--state", str(state_file)).output) == whole


def test_show_missing_address_is_one_line_exit_1(state_file: Path) -> None:
    result = run("state", "show", "FineTuningJob.nope", "--state", str(state_file))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "no resource FineTuningJob.nope" in lines[0]


def test_corrupt_state_is_one_line_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{broken")
    for args in (["state", "list"], ["state", "rm", "File.x"], ["state", "mv", "File.a", "File.b"]):
        result = run(*args, "--state", str(path))
        assert result.exit_code == 1
        assert len(result.output.strip().splitlines()) == 1 and "not valid JSON" in result.output
    assert path.read_text() == "{broken"


def test_rm_forgets_without_touching_the_api_and_keeps_a_backup(state_file: Path) -> None:
    before = state_file.read_bytes()
    result = run("state", "rm", "FineTuningJob.bot", "File.train", "--state", str(state_file))
    assert result.exit_code == 0, result.output
    assert "Removed 2 object(s). They still exist in the API and are no longer managed." in result.output
    assert "CheckpointPermission.share still depend(s)" in result.output
    state = StateStore(state_file).load()
    assert state.addresses() == ["CheckpointPermission.share"] and state.serial == 2
    backup = state_file.with_name("default.json.backup")
    assert backup.read_bytes() == before
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert not state_file.with_name("default.json.lock").exists()


def test_rm_missing_address_changes_nothing(state_file: Path) -> None:
    before = state_file.read_bytes()
    result = run("state", "rm", "File.train", "File.nope", "--state", str(state_file))
    assert result.exit_code == 1 and "no resource File.nope" in result.output
    assert state_file.read_bytes() == before
    assert not state_file.with_name("default.json.lock").exists()


def test_rm_dry_run(state_file: Path) -> None:
    before = state_file.read_bytes()
    result = run("state", "rm", "--dry-run", "File.train", "--state", str(state_file))
    assert result.exit_code == 0 and "Would remove File.train" in result.output
    assert state_file.read_bytes() == before


def test_rm_refuses_when_locked(state_file: Path) -> None:
    store = StateStore(state_file)
    with store.lock("apply") as info:
        result = run("state", "rm", "File.train", "--state", str(state_file))
    assert result.exit_code == 1
    assert "is locked by" in result.output and info.id in result.output
    assert "File.train" in StateStore(state_file).load().resources


def test_mv_renames_and_updates_dependents(state_file: Path) -> None:
    result = run("state", "mv", "File.train", "File.training", "--state", str(state_file))
    assert result.exit_code == 0, result.output
    assert "Moved File.train to File.training." in result.output
    state = StateStore(state_file).load()
    assert "File.train" not in state.resources
    moved = state.resources["File.training"]
    assert moved.address == "File.training" and moved.id == "file-1"
    assert state.resources["FineTuningJob.bot"].depends_on == ["File.training"]


@pytest.mark.parametrize("old, new, fragment", [
    ("File.train", "FineTuningJob.bot", "already in the state"),
    ("File.train", "FineTuningJob.train", "is a File, not a FineTuningJob"),
    ("File.nope", "File.other", "no resource File.nope"),
    ("File.train", "nonsense", "not an address"),
])
def test_mv_refusals(state_file: Path, old: str, new: str, fragment: str) -> None:
    before = state_file.read_bytes()
    result = run("state", "mv", old, new, "--state", str(state_file))
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and fragment in result.output
    assert state_file.read_bytes() == before


def test_force_unlock(state_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = StateStore(state_file)
    lock = store.lock("apply")
    info = lock.__enter__()
    try:
        wrong = run("force-unlock", "not-the-id", "--force", "--state", str(state_file))
        assert wrong.exit_code == 1 and "does not match" in wrong.output
        no_tty = run("force-unlock", info.id, "--state", str(state_file))
        assert no_tty.exit_code == 1 and "pass --force" in no_tty.output
        assert store.lock_path.exists()

        import reconciler.cli.state as state_cli

        monkeypatch.setattr(state_cli, "_interactive", lambda: True)
        declined = run("force-unlock", info.id, "--state", str(state_file), input="n\n")
        assert declined.exit_code == 1 and "Not unlocked." in declined.output
        assert "operation apply" in declined.output and store.lock_path.exists()
        accepted = run("force-unlock", info.id, "--state", str(state_file), input="y\n")
        assert accepted.exit_code == 0 and "The state is unlocked." in accepted.output
        assert not store.lock_path.exists()
    finally:
        lock.__exit__(None, None, None)
    again = run("force-unlock", info.id, "--force", "--state", str(state_file))
    assert again.exit_code == 1 and "not locked" in again.output


def test_force_unlock_with_force(state_file: Path) -> None:
    store = StateStore(state_file)
    lock = store.lock("plan")
    info = lock.__enter__()
    result = run("force-unlock", info.id, "--force", "--state", str(state_file))
    assert result.exit_code == 0 and not store.lock_path.exists()
    lock.__exit__(None, None, None)


def test_no_command_prints_a_key(state_file: Path) -> None:
    for args, code in ((["state", "list"], 0), (["state", "show"], 0), (["state", "pull"], 0),
                       (["state", "show", "nope.x"], 1)):
        result = run(*args, "--state", str(state_file))
        assert result.exit_code == code and result.output.strip(), (args, result.output)  # it really ran
        assert SECRET not in result.output
