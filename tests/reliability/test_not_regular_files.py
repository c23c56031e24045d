"""State, journal, saved plan and spec files that are not regular files (a link to /dev/full or
/dev/zero, a FIFO) or are larger than their limit are refused in one line, through the real CLI,
without reading them: nothing blocks on a FIFO, nothing reads /dev/zero until memory runs out."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reconciler.bounded import MAX_PLAN_BYTES, MAX_STATE_BYTES

from .helpers import Cli, chat_jsonl, report

SPEC = "kind: File\nname: train\nspec: {path: data/train.jsonl}\n"


def make(path: Path, what: str, limit: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if what in ("/dev/full", "/dev/zero"):
        path.symlink_to(what)
    elif what == "fifo":
        os.mkfifo(path)
    elif what == "huge":  # sparse: over the limit without using the disk
        with open(path, "wb") as fh:
            fh.truncate(limit + 1)
    else:
        raise AssertionError(what)


def refused(cli: Cli, args: tuple[str, ...], path: Path, what: str) -> float:
    started = time.monotonic()
    proc = cli.run(*args, timeout=60)
    seconds = time.monotonic() - started
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 1, f"exit {proc.returncode}: {output}"
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith(("error", "Error", str(path)))]
    assert len(errors) == 1 and str(path) in errors[0], output
    assert ("not a regular file" in errors[0]) if what != "huge" else ("over the limit of" in errors[0]), output
    return seconds


@pytest.fixture
def cli(sandbox, tmp_path: Path) -> Cli:
    cli = Cli(tmp_path, sandbox.base_url)
    cli.write("files.yaml", SPEC)
    cli.write("data/train.jsonl", chat_jsonl())
    return cli


@pytest.mark.parametrize("what", ["/dev/full", "/dev/zero", "fifo", "huge"])
def test_a_state_file_that_is_not_a_regular_file(cli: Cli, what: str) -> None:
    make(cli.state_file, what, MAX_STATE_BYTES)
    seconds = refused(cli, ("plan",), cli.state_file, what)
    report(f"state-{what.strip('/').replace('/', '-')}", {"seconds": round(seconds, 2)})


@pytest.mark.parametrize("what", ["/dev/full", "/dev/zero", "fifo", "huge"])
def test_a_journal_that_is_not_a_regular_file(cli: Cli, what: str) -> None:
    cli.ok("apply", "--auto-approve")
    journal = cli.state_file.with_name(cli.state_file.name + ".journal")
    make(journal, what, MAX_STATE_BYTES)
    before = cli.state_file.read_bytes()
    seconds = refused(cli, ("plan",), journal, what)
    assert cli.state_file.read_bytes() == before
    report(f"journal-{what.strip('/').replace('/', '-')}", {"seconds": round(seconds, 2)})


@pytest.mark.parametrize("what", ["/dev/zero", "fifo", "huge"])
def test_a_saved_plan_that_is_not_a_regular_file(cli: Cli, what: str) -> None:
    plan = cli.root / "plan.json"
    make(plan, what, MAX_PLAN_BYTES)
    seconds = refused(cli, ("apply", str(plan)), plan, what)
    assert not cli.state_file.exists()
    report(f"plan-{what.strip('/').replace('/', '-')}", {"seconds": round(seconds, 2)})


def test_a_spec_file_that_is_a_fifo(cli: Cli) -> None:
    fifo = cli.specs / "more.yaml"
    make(fifo, "fifo", 0)
    proc = cli.run("validate", timeout=60)
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 1 and "Traceback" not in output, output
    assert f"{fifo}: is a FIFO, not a regular file; not read" in output, output


def test_files_beside_the_state_that_are_devices_are_not_read(cli: Cli) -> None:
    """The token count cache, the drift memory and the selected workspace live beside the state
    (committed with it when there is no database): a link to /dev/zero or a FIFO there is not read,
    and nothing of it is needed to plan or report drift."""
    cli.write("jobs.yaml", "kind: FineTuningJob\nname: bot\n"
              "spec: {model: gpt-4o-mini, training_file: \"${File.train.id}\", suffix: s}\n")
    cli.ok("apply", "--auto-approve")
    state_dir = cli.state_file.parent
    (state_dir / ".cache").mkdir(exist_ok=True)
    for path, what in ((state_dir / ".cache" / "token-counts.json", "/dev/zero"),
                       (cli.state_file.with_name(cli.state_file.name + ".drift.json"), "/dev/zero"),
                       (state_dir / ".workspace", "fifo"), (state_dir / ".backend", "/dev/zero")):
        path.unlink(missing_ok=True)
        make(path, what, 0)
    cli.write("jobs.yaml", "kind: FineTuningJob\nname: bot\n"
              "spec: {model: gpt-4o-mini, training_file: \"${File.train.id}\", suffix: s2}\n")
    started = time.monotonic()
    plan = cli.run("plan", timeout=60)
    assert plan.returncode == 0 and "Estimated training cost" in plan.stdout, plan.stdout + plan.stderr
    drift = cli.run("drift", timeout=60)
    assert drift.returncode in (0, 2) and "Traceback" not in drift.stdout + drift.stderr, drift.stdout + drift.stderr
    report("state-siblings-devices", {"seconds_plan_and_drift": round(time.monotonic() - started, 2)})
