"""No code from the working directory or the spec folder runs, and no child process gets a key.

A pull request can add files anywhere in the checkout CI runs `reconciler` in. Here the working
directory and the spec folder hold a hostile `reconciler` package (with `cost/count_worker.py`,
what the token counting child runs), `sitecustomize.py` and `usercustomize.py`; each writes a
marker file when imported. Every command a CI runs (validate, plan, apply, drift, cost, report) is
started the two safe ways the README gives (the console script, `python -P -m reconciler`) with the
keys in its environment, under `strace -ff -e trace=execve`, which records every process the CLI
starts with the argv and the environment the kernel actually handed it. No marker may appear, every
child Python is isolated (`-I`), and no child's environment holds a key, a connection string or a
webhook URL."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from .helpers import Cli, chat_jsonl

SPEC = """\
kind: File
name: train
spec: {path: data/train.jsonl}
---
kind: FineTuningJob
name: bot
spec: {model: gpt-4o-mini, training_file: "${File.train.id}", suffix: isolated}
"""

# What CI's environment holds besides the two keys (values the children must never see).
SECRETS = {"RECONCILER_PG_CONN_STR": "postgresql://ci:HUNTER2-conn@db/x",
           "RECONCILER_NOTIFY_SECRET": "HUNTER2-notify",
           "RECONCILER_WEBHOOK_URL": "https://hooks.example.invalid/HUNTER2-hook"}
NEEDLES = ("sk-proj-", "sk-admin-", "HUNTER2")

HOSTILE = "import pathlib; pathlib.Path({marker!r}).write_text('ran')\n"
HOSTILE_FILES = ("reconciler/__init__.py", "reconciler/__main__.py", "reconciler/cost/__init__.py",
                 "reconciler/cost/count_worker.py", "reconciler/cli/__init__.py", "bpe_openai/__init__.py",
                 "sitecustomize.py", "usercustomize.py")

LAUNCHERS = {
    "console-script": (str(Path(sys.executable).parent / "reconciler"),),
    "python -P -m": (sys.executable, "-P", "-m", "reconciler"),
}
COMMANDS = (("validate",), ("plan",), ("apply", "--auto-approve"), ("drift",), ("cost",),
            ("report", "--html", "report.html"))


def plant(folder: Path, markers: Path) -> None:
    for relative in HOSTILE_FILES:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HOSTILE.format(marker=str(markers / f"{folder.name}-{relative.replace('/', '_')}")))


def started(trace_dir: Path) -> list[str]:
    """The first execve line of every process strace followed: how each was started."""
    lines = []
    for log in sorted(trace_dir.glob("trace.*")):
        first = next((line for line in log.read_text(errors="replace").splitlines() if "execve(" in line), None)
        if first is not None:
            lines.append(first)
    return lines


STRACE = shutil.which("strace")


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_no_code_from_the_checkout_runs_and_no_child_gets_a_key(sandbox, tmp_path: Path, launcher: str) -> None:
    command = LAUNCHERS[launcher]
    if not Path(command[0]).exists():
        pytest.skip(f"{command[0]} is not installed")
    markers = tmp_path / "markers"
    markers.mkdir()
    cli = Cli(tmp_path / "checkout", sandbox.base_url, extra_env=SECRETS)
    cli.write("jobs.yaml", SPEC)
    cli.write("data/train.jsonl", chat_jsonl())
    plant(cli.root, markers)     # the working directory every command runs in
    plant(cli.specs, markers)    # the spec folder
    children: list[str] = []
    for args in COMMANDS:
        traces = tmp_path / "traces" / args[0]
        traces.mkdir(parents=True)
        # without strace (not installed): the markers are still checked; tests/cost/test_count_child.py
        # checks the child's argv and environment as built
        cli.command = ("strace", "-ff", "-qq", "-e", "trace=execve", "-v", "-s", "100000",
                       "-o", str(traces / "trace"), *command) if STRACE else command
        proc = cli.ok(*args, codes=(0, 2))
        assert not list(markers.iterdir()), f"{args[0]} ran code from the checkout: {sorted(markers.iterdir())}"
        cli_pid = re.compile(r'execve\("[^"]*", \[[^\]]*"-C", ')
        for line in started(traces):
            if not cli_pid.search(line):
                children.append(line)
        assert "Traceback" not in proc.stdout + proc.stderr
    # the plan counted the training file's tokens in a child (nothing was cached): that child was
    # seen, it was an isolated interpreter, and nothing secret was in its environment
    if not STRACE:
        return
    counting = [line for line in children if "reconciler.cost.count_worker" in line]
    assert counting, "no token counting child was started"
    for line in counting:
        assert re.search(r'execve\("[^"]*", \["[^"]*", "-I", ', line), f"not an isolated interpreter: {line[:300]}"
    for line in children:
        for needle in NEEDLES:
            assert needle not in line, f"a child received {needle}...: {line[:200]}"


def test_the_shipped_workflows_never_start_reconciler_with_python_m() -> None:
    root = Path(__file__).resolve().parents[2]
    workflows = [p for p in (root / "examples" / "ci").rglob("*") if p.suffix in (".yml", ".yaml")]
    assert workflows
    for path in workflows:
        text = path.read_text()
        assert not re.search(r"python[0-9.]*\s+(-[A-Za-z]+\s+)*-m\s+reconciler", text), path
        assert re.search(r"^\s*(- )?(run: )?(set \+e; )?reconciler (validate|plan|apply|drift|sync|report)", text, re.M), path
