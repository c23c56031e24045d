"""A state knows the spec folder it was applied from: the examples' own commands never plan to
take away the quick start's objects. The real CLI (`python -m reconciler`, a subprocess) with
`--sandbox`, in a copy of the repository's `specs/` and `examples/supervised/` inside a git work
tree, as a user's clone."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READMES = sorted((ROOT / "examples").glob("*/README.md"))
COMMAND = re.compile(r"reconciler\b[^\n`#]*?-C\s+examples/(?P<name>[\w-]+)[^\n`#]*")


@pytest.mark.parametrize("readme", READMES, ids=[r.parent.name for r in READMES])
def test_every_example_readme_plans_and_applies_in_its_own_workspace(readme: Path) -> None:
    for found in COMMAND.finditer(readme.read_text(encoding="utf-8")):
        command = found.group(0)
        if re.search(r"\b(plan|apply|destroy|sync|import|drift)\b", command):
            assert f"-w example-{found.group('name')}" in command, f"{readme.relative_to(ROOT)}: {command}"


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RECONCILER_"))}
    env.update(NO_COLOR="1", RECONCILER_SANDBOX_SPEED="1000",
               RECONCILER_CACHE_DIR=os.environ.get("RECONCILER_CACHE_DIR", "off"))
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def _ok(cwd: Path, *args: str, codes: tuple[int, ...] = (0,)) -> str:
    proc = _run(cwd, *args)
    assert proc.returncode in codes and "Traceback" not in proc.stdout + proc.stderr, \
        f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    root = tmp_path / "clone"
    shutil.copytree(ROOT / "specs", root / "specs")
    shutil.copytree(ROOT / "examples" / "supervised", root / "examples" / "supervised")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text('[remote "origin"]\n\turl = git@github.com:acme/ft.git\n')
    return root


def _world(root: Path) -> tuple[object, ...]:
    """What the sandbox holds (its clock moves on with every run): files, jobs, cancelled jobs, grants."""
    world = json.loads((root / "state" / "sandbox-world.json").read_text())
    cancelled = sorted(i for i, job in world["jobs"].items() if "cancel" in json.dumps(job))
    return sorted(world["files"]), sorted(world["jobs"]), cancelled, json.dumps(world["permissions"], sort_keys=True)


def test_an_example_planned_against_the_quick_starts_state_is_refused_naming_both_folders(clone: Path) -> None:
    _ok(clone, "apply", "--sandbox", "--auto-approve")          # the quick start: specs/, workspace default
    state = json.loads((clone / "state" / "default.json").read_text())
    assert state["folder"] == "github.com/acme/ft//specs"
    world = _world(clone)

    # The example's command as its README used to say: the quick start's state, another folder.
    for command in (("plan",), ("apply", "--auto-approve"), ("destroy", "--auto-approve")):
        refused = _run(clone, *command[:1], "-C", "examples/supervised", "--sandbox", *command[1:])
        text = refused.stdout + refused.stderr
        assert refused.returncode == 1 and "Traceback" not in text, text
        lines = [line for line in text.splitlines() if "belongs to spec folder" in line]
        assert len(lines) == 1, text
        assert lines[0].startswith("Error: state/default.json belongs to spec folder specs (github.com/acme/ft), "
                                   "but this plan is made from examples/supervised (github.com/acme/ft) and would "), lines
        assert "--allow-other-folder" in lines[0]
    assert _world(clone) == world                               # nothing deleted, revoked or created
    assert json.loads((clone / "state" / "default.json").read_text())["serial"] == state["serial"]

    # As the README says now: its own workspace, nothing of the quick start's in its plan.
    text = _ok(clone, "plan", "-C", "examples/supervised", "-w", "example-supervised", "--sandbox")
    assert "to destroy" in text and " 0 to destroy" in text and "forget" not in text, text
    # On purpose: the flag shows what it would take away (plan only: nothing is applied here).
    text = _ok(clone, "plan", "-C", "examples/supervised", "--sandbox", "--allow-other-folder")
    assert "- File.support_train" in text and "revoke" in text, text
    assert _world(clone) == world


def test_a_clone_at_another_path_is_the_same_folder(clone: Path, tmp_path: Path) -> None:
    """A CI runner clones to a new absolute path every run: the folder is named from the root of
    its git work tree and its remote, so the state's folder still matches and a plan that takes
    something away goes on."""
    _ok(clone, "apply", "--sandbox", "--auto-approve")
    runner = tmp_path / "runner" / "builds" / "0" / "ft"
    shutil.copytree(clone, runner)
    (runner / ".git" / "config").write_text('[remote "origin"]\n\turl = https://x-access-token:SECRET@github.com/acme/ft\n')
    (runner / "specs" / "dpo.yaml").unlink()                   # a change that takes something away
    text = _ok(runner, "apply", "--sandbox", "--auto-approve")
    assert "belongs to spec folder" not in text and "Apply complete!" in text, text
    state = json.loads((runner / "state" / "default.json").read_text())
    assert "File.release_notes_prefs" not in state["resources"] and state["folder"] == "github.com/acme/ft//specs"
    assert "SECRET" not in (runner / "state" / "default.json").read_text() + text
    assert "SECRET" not in (runner / "state" / "sandbox-world.json").read_text()  # nor in any job's marks
