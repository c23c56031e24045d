"""`reconciler workspace` on the local backend (pg: tests/state/test_pg_cli.py): new selects,
select refuses an unknown name, delete refuses the current one and a non-empty one unless --force,
-w chooses a workspace for one command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.state import ResourceState, StateStore


def _run(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["-C", str(root / "specs"), *args], env={"NO_COLOR": "1"})
    return result.exit_code, result.output


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "specs").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_new_select_list_show_delete(root: Path) -> None:
    assert _run(root, "workspace", "show") == (0, "default\n")
    code, text = _run(root, "workspace", "new", "staging")
    assert code == 0 and "Created and selected workspace 'staging'" in text
    assert (root / "state" / "staging.json").exists()
    assert _run(root, "workspace", "show") == (0, "staging\n")
    assert _run(root, "workspace", "list") == (0, "  default\n* staging\n")
    code, text = _run(root, "workspace", "list", "--json")
    assert json.loads(text) == {"current": "staging", "workspaces": ["default", "staging"]}
    assert _run(root, "-w", "default", "workspace", "show") == (0, "default\n")
    code, text = _run(root, "workspace", "new", "staging")
    assert code == 1 and "already exists" in text
    code, text = _run(root, "workspace", "delete", "staging")
    assert code == 1 and "is the current one" in text
    assert _run(root, "workspace", "select", "default")[0] == 0
    assert _run(root, "workspace", "delete", "staging") == (0, "Deleted workspace 'staging'.\n")
    assert not (root / "state" / "staging.json").exists()


def test_unknown_or_bad_names_are_refused_in_one_line(root: Path) -> None:
    code, text = _run(root, "workspace", "select", "prod")
    assert code == 1 and text.strip().splitlines() == [
        "Error: no workspace 'prod' (there are: default); create it with: reconciler workspace new prod"]
    code, text = _run(root, "workspace", "new", "../etc")
    assert code == 1 and "is not a workspace name" in text and len(text.strip().splitlines()) == 1


def test_a_non_empty_workspace_is_deleted_only_with_force(root: Path) -> None:
    assert _run(root, "workspace", "new", "old")[0] == 0
    store = StateStore(root / "state" / "old.json")
    state = store.load()
    state.resources["File.a"] = ResourceState.from_dict("File.a", {"kind": "File", "id": "file-1", "inputs": {},
                                                                  "digest": "d", "attributes": {}, "depends_on": []})
    store.write(state)
    assert _run(root, "workspace", "select", "default")[0] == 0
    code, text = _run(root, "workspace", "delete", "old")
    assert code == 1 and "still manages 1 object(s)" in text and store.path.exists()
    code, text = _run(root, "workspace", "delete", "old", "--force")
    assert code == 0 and "forgot 1 object(s)" in text and not store.path.exists()
