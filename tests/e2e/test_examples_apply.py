"""Every scenario folder under examples/ (and specs/) applies against the sandbox and is clean
afterwards: the examples are accepted by the API, not only by the validator."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
APPLYABLE = ["specs", "examples/supervised", "examples/dpo", "examples/reinforcement",
             "examples/shared-checkpoints", "examples/legacy", "examples/sweep", "examples/azure"]


@pytest.mark.parametrize("folder", APPLYABLE)
def test_example_applies_on_the_sandbox_and_is_then_clean(folder, tmp_path):
    runner = CliRunner()
    # each example in a workspace of its own, as its README says (`-w example-NAME`)
    workspace = "default" if folder == "specs" else f"example-{Path(folder).name}"
    base = ["-C", str(ROOT / folder), "--state", str(tmp_path / f"{workspace}.json"), "--sandbox"]
    env = {"NO_COLOR": "1", "RECONCILER_SANDBOX_SPEED": "1000"}
    applied = runner.invoke(cli, [*base, "apply", "--auto-approve", "--wait", "--poll-interval", "0.2",
                                  "--timeout", "60s"], env=env)
    assert applied.exit_code == 0, applied.output
    assert "Apply complete!" in applied.output and "failed" not in applied.output
    planned = runner.invoke(cli, [*base, "plan", "--detailed-exitcode"], env=env)
    assert planned.exit_code == 0, planned.output
    assert "No changes." in planned.output
