"""End-to-end goldens: the real CLI as a subprocess, its stdout (and stderr when there is any)
compared byte for byte after normalising run-specific values (tests/golden/golden.py).

- Every spec folder in the repository is planned with `--sandbox` (plain text, JSON, Markdown;
  one of them coloured), and validated.
- Two flows run against an in-process sandbox (seeded ids, clock frozen at a fixed instant and
  moved only by `advance`): apply, then edits to the specs and changes made outside reconciler,
  pinning create, update (pause, grant/revoke), replace (cancel or forget), destroy, refresh-only,
  drift reports, saved plans and `show`, as printed by the real code path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import openai
import pytest

from reconciler_sandbox import SandboxHandle, run_sandbox
from tests.golden.golden import Normaliser, check_all

ROOT = Path(__file__).resolve().parents[2]
# Every spec folder of the repository (examples/ci and examples/terraform hold no specs).
EXAMPLES = ["specs", "examples/supervised", "examples/dpo", "examples/reinforcement",
            "examples/shared-checkpoints", "examples/legacy", "examples/seeds"]
# examples/seeds imports job ids that only exist in the seeds' documents: planning it fails (exit 1).
PLAN_FAILS = {"examples/seeds"}

# 2026-12-01T00:00:00Z: a fixed day before OpenAI's job-creation end (2027-01-06), so jobs can be
# created and plans say "N days from now" the same on every run
SIM_START = 1_796_083_200.0
SIM_START_TEXT = "2026-12-01T00:00:00Z"
FROZEN = 1e-9                  # sandbox speed: simulated time moves only when a test advances it
SEED = 7
ADMIN_KEY = "sk-admin-golden-0123456789abcdef"
PROJECT_KEY = "sk-proj-golden-0123456789abcdef"


@dataclass
class Cli:
    """`python -m reconciler -C SPECS --state STATE ...` run in `root`, with relative paths so the
    output names files as a user in a checkout would see them."""

    root: Path
    specs: str
    state: str
    normalise: Normaliser
    base_url: str | None = None     # None: the built-in --sandbox
    outputs: list[tuple[str, str]] = field(default_factory=list)

    def env(self, *, colour: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OPENAI_", "RECONCILER_")) and k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE")}
        env.update({"PYTHONIOENCODING": "utf-8", "TERM": "xterm-256color"})
        if colour:
            env["FORCE_COLOR"] = "1"
        env["RECONCILER_SANDBOX_NOW"] = SIM_START_TEXT   # the built-in --sandbox starts on that day too
        if self.base_url is not None:
            env.update({"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": PROJECT_KEY,
                        "OPENAI_ADMIN_KEY": ADMIN_KEY})
        return env

    def run(self, *args: str, code: int = 0, colour: bool = False) -> tuple[str, str]:
        argv = [sys.executable, "-m", "reconciler", "-C", self.specs, "--state", self.state, *args]
        if self.base_url is None:
            argv.append("--sandbox")
        if not colour:
            argv.append("--no-color")
        proc = subprocess.run(argv, cwd=self.root, env=self.env(colour=colour), capture_output=True,
                              encoding="utf-8", timeout=180, check=False)
        assert proc.returncode == code, f"{args}: exit {proc.returncode}, wanted {code}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
        return self.normalise(proc.stdout), self.normalise(proc.stderr)

    def golden(self, name: str, *args: str, code: int = 0, colour: bool = False) -> str:
        """Run, and keep stdout (and stderr if any) for comparison as `name` (and `name.stderr`)."""
        stdout, stderr = self.run(*args, code=code, colour=colour)
        self.outputs.append((name, stdout))
        if stderr:
            self.outputs.append((name + ".stderr", stderr))
        return stdout


def _copy(folder: str, root: Path) -> Path:
    target = root / folder
    shutil.copytree(ROOT / folder, target, ignore=shutil.ignore_patterns("state", "*.pyc"))
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxHandle]:
    """The sandbox with seeded ids and a clock frozen at SIM_START: every id and timestamp the API
    hands out is the same on every run."""
    world = tmp_path / "world" / "sandbox.json"
    world.parent.mkdir()
    with run_sandbox(data=world, seed=SEED) as handle:
        handle.flush()
    data = json.loads(world.read_text())
    data.update(sim_now=SIM_START, seed=SEED)
    world.write_text(json.dumps(data))
    with run_sandbox(data=world, speed=FROZEN, seed=SEED, now=SIM_START) as handle:
        assert handle.now() == pytest.approx(SIM_START, abs=1e-3)
        yield handle


def _sdk(sandbox: SandboxHandle) -> openai.OpenAI:
    return openai.OpenAI(base_url=sandbox.base_url, api_key=ADMIN_KEY, max_retries=0)


@pytest.mark.parametrize("folder", EXAMPLES)
def test_example_plans(folder: str, tmp_path: Path) -> None:
    _copy(folder, tmp_path)
    name = folder.replace("examples/", "")
    cli = Cli(tmp_path, folder, f"state-{name}/default.json", Normaliser(tmp_path))
    code = 1 if folder in PLAN_FAILS else 0
    cli.golden(f"cli-{name}.validate.txt", "validate")
    cli.golden(f"cli-{name}.plan.txt", "plan", code=code)
    cli.golden(f"cli-{name}.plan.json", "plan", "--json", code=code)
    cli.golden(f"cli-{name}.plan.md", "plan", "--format", "markdown", code=code)
    if folder == "examples/supervised":
        cli.golden(f"cli-{name}.plan.ansi", "plan", colour=True)
        cli.golden(f"cli-{name}.plan-detailed-exitcode.txt", "plan", "--detailed-exitcode", code=2)
    check_all(cli.outputs)


def test_flow_supervised(tmp_path: Path, sandbox: SandboxHandle) -> None:
    """apply; pause by spec (update); change the suffix (replace, cancelling the paused job);
    destroy plan; cancel outside (drift, refresh-only, replace that forgets); apply the replace."""
    spec = _copy("examples/supervised", tmp_path) / "specs.yaml"
    cli = Cli(tmp_path, "examples/supervised", "state/default.json", Normaliser(tmp_path),
              base_url=sandbox.base_url)
    cli.normalise.literals[sandbox.url] = "<sandbox-url>"
    g = "flow-supervised-"
    cli.golden(g + "01-apply.txt", "apply", "--auto-approve", "--parallelism", "1")
    cli.golden(g + "02-plan-clean.txt", "plan")
    cli.golden(g + "02-show-state.txt", "show")

    sandbox.advance(30)  # validating (10 s) and queued (10 s) are over: the job is running
    _edit(spec, "  seed: 7\n", "  seed: 7\n  status: paused\n")
    cli.golden(g + "03-plan-pause.txt", "plan")
    cli.golden(g + "03-plan-pause.json", "plan", "--json")
    cli.golden(g + "03-plan-pause.md", "plan", "--format", "markdown")
    cli.golden(g + "04-apply-pause.txt", "apply", "--auto-approve", "--parallelism", "1")

    _edit(spec, "suffix: sql-assistant", "suffix: sql-assistant-v2")
    cli.golden(g + "05-plan-replace.txt", "plan")
    cli.golden(g + "05-plan-replace.ansi", "plan", colour=True)
    cli.golden(g + "05-plan-replace.json", "plan", "--json")
    cli.golden(g + "05-plan-replace.md", "plan", "--format", "markdown")
    cli.golden(g + "05-plan-replace-out.txt", "plan", "--out", "replace.plan")
    cli.outputs.append((g + "05-saved-plan.json", cli.normalise((tmp_path / "replace.plan").read_text("utf-8"))))
    cli.golden(g + "05-show-saved-plan.txt", "show", "replace.plan")
    cli.golden(g + "05-show-saved-plan.json", "show", "--json", "replace.plan")

    cli.golden(g + "06-plan-destroy.txt", "plan", "--destroy")
    cli.golden(g + "06-plan-destroy.json", "plan", "--destroy", "--json")

    job = _sdk(sandbox).fine_tuning.jobs.list(limit=10).data[0]
    _sdk(sandbox).fine_tuning.jobs.cancel(job.id)
    cli.golden(g + "07-plan-cancelled-outside.txt", "plan")
    cli.golden(g + "07-plan-cancelled-outside.json", "plan", "--json")
    cli.golden(g + "07-plan-cancelled-outside.md", "plan", "--format", "markdown")
    cli.golden(g + "08-plan-refresh-only.txt", "plan", "--refresh-only")
    cli.golden(g + "08-plan-refresh-only.json", "plan", "--refresh-only", "--json")
    cli.golden(g + "09-drift.txt", "drift", code=2)
    cli.golden(g + "09-drift.md", "drift", "--format", "markdown", code=2)
    cli.golden(g + "09-drift.json", "drift", "--format", "json", code=2)
    cli.golden(g + "09-drift.xml", "drift", "--format", "junit", code=2)
    cli.golden(g + "10-apply-replace.txt", "apply", "--auto-approve", "--parallelism", "1")
    cli.golden(g + "11-plan-after.txt", "plan")
    check_all(cli.outputs)


def test_flow_shared_checkpoints(tmp_path: Path, sandbox: SandboxHandle) -> None:
    """apply (the permission waits for the job); the job finishes (create the permission); a grant
    added outside (drift, unmanaged grant); exclusive with a changed project list (grants and
    revokes); change the suffix of the finished job (replace that forgets, permission pending)."""
    spec = _copy("examples/shared-checkpoints", tmp_path) / "specs.yaml"
    cli = Cli(tmp_path, "examples/shared-checkpoints", "state/default.json", Normaliser(tmp_path),
              base_url=sandbox.base_url)
    cli.normalise.literals[sandbox.url] = "<sandbox-url>"
    g = "flow-shared-"
    cli.golden(g + "01-apply.txt", "apply", "--auto-approve", "--parallelism", "1")
    cli.golden(g + "02-plan-pending.txt", "plan")
    cli.golden(g + "02-plan-pending.json", "plan", "--json")

    sandbox.advance(3600)  # the job has succeeded; its checkpoints exist
    cli.golden(g + "03-plan-permission.txt", "plan")
    cli.golden(g + "03-plan-permission.json", "plan", "--json")
    cli.golden(g + "03-plan-permission.md", "plan", "--format", "markdown")
    cli.golden(g + "04-apply-permission.txt", "apply", "--auto-approve", "--parallelism", "1")

    sdk = _sdk(sandbox)
    checkpoint = json.loads((tmp_path / "state" / "default.json").read_text())[
        "resources"]["CheckpointPermission.share_best"]["id"]
    sdk.fine_tuning.checkpoints.permissions.create(checkpoint, project_ids=["proj_intruder"])
    cli.golden(g + "05-drift.txt", "drift", code=2)
    cli.golden(g + "05-drift.md", "drift", "--format", "markdown", code=2)
    cli.golden(g + "05-drift.json", "drift", "--format", "json", code=2)
    cli.golden(g + "05-drift.xml", "drift", "--format", "junit", code=2)

    _edit(spec, "project_ids: [proj_analytics_eu, proj_analytics_us]\n  exclusive: false",
          "project_ids: [proj_analytics_eu, proj_ops]\n  exclusive: true")
    cli.golden(g + "06-plan-grants.txt", "plan")
    cli.golden(g + "06-plan-grants.ansi", "plan", colour=True)
    cli.golden(g + "06-plan-grants.json", "plan", "--json")
    cli.golden(g + "06-plan-grants.md", "plan", "--format", "markdown")
    cli.golden(g + "07-apply-grants.json", "apply", "--auto-approve", "--parallelism", "1", "--json")

    _edit(spec, "suffix: sql-v1", "suffix: sql-v2")
    cli.golden(g + "08-plan-replace.txt", "plan")
    cli.golden(g + "08-plan-replace.json", "plan", "--json")
    cli.golden(g + "08-plan-replace.md", "plan", "--format", "markdown")
    check_all(cli.outputs)
