"""Shared pieces of the reliability suite: the CLI as a real subprocess against an in-process
sandbox, a mixed spec set, and world/state inspection with the official SDK.

Every figure a test reports is printed as one `RELIABILITY <name>: {...}` line (run with `-s` to
see them); RELIABILITY.md quotes them."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMIN_KEY = "sk-admin-rel-0123456789abcdef"
PROJECT_KEY = "sk-proj-rel-0123456789abcdef"


def report(name: str, figures: dict[str, Any]) -> None:
    print(f"\nRELIABILITY {name}: {json.dumps(figures, sort_keys=True, default=str)}")


# One training set for every end-to-end suite (re-exported for the reliability tests).
from tests.e2e.conftest import chat_jsonl as chat_jsonl  # noqa: E402

# `python -c PEAK_WRAPPER ARGS…` runs the CLI and, as it exits, writes its own memory high-water
# mark after its exec (VmHWM, KiB) to $PEAK_FILE: a wait4 or RUSAGE_CHILDREN figure would also
# count the pages of the test worker the fork started from.
PEAK_WRAPPER = """\
import atexit, os, sys
def _peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["PEAK_FILE"], "w") as out:
        out.write(kib)
atexit.register(_peak)
sys.argv[0] = "reconciler"
from reconciler.cli import main
main()
"""

@dataclass
class Cli:
    """`python -m reconciler -C ROOT/specs --state ROOT/state/default.json ...` as a subprocess."""

    root: Path
    base_url: str
    api_key: str = PROJECT_KEY
    admin_key: str = ADMIN_KEY
    extra_env: dict[str, str] = field(default_factory=dict)
    # how the CLI is started (before -C ...): `python -m reconciler`, or e.g. the console script
    command: tuple[str, ...] = (sys.executable, "-m", "reconciler")

    @property
    def specs(self) -> Path:
        return self.root / "specs"

    @property
    def state_file(self) -> Path:
        return self.root / "state" / "default.json"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RECONCILER_"))}
        env.update({"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": self.api_key,
                    "OPENAI_ADMIN_KEY": self.admin_key, "NO_COLOR": "1"})
        env.update(self.extra_env)
        env.update(extra)
        return env

    def argv(self, *args: str) -> list[str]:
        return [*self.command, "-C", str(self.specs), "--state", str(self.state_file), *args]

    def popen(self, *args: str, **env: str) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*args), env=self.env(**env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=self.root)

    def run(self, *args: str, timeout: float = 120, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args), env=self.env(**env), check=False, capture_output=True, text=True,
                              timeout=timeout, cwd=self.root, input=input)

    def ok(self, *args: str, codes: tuple[int, ...] = (0,), **env: str) -> subprocess.CompletedProcess:
        proc = self.run(*args, **env)
        assert proc.returncode in codes, f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stdout + proc.stderr
        return proc

    def write(self, name: str, text: str) -> Path:
        path = self.specs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def converge(self, tries: int = 5, *extra: str) -> int:
        """apply until a plan shows no changes; returns the number of applies it took."""
        last = ""
        for attempt in range(1, tries + 1):
            proc = self.run("apply", "--auto-approve", *extra)
            last = proc.stdout + proc.stderr
            assert "Traceback" not in last and proc.returncode in (0, 1), last
            check = self.run("plan", "--detailed-exitcode")
            assert "Traceback" not in check.stdout + check.stderr
            if check.returncode == 0:
                return attempt
            last += check.stdout + check.stderr
        raise AssertionError(f"did not converge after {tries} applies:\n{last}")


def sdk(base_url: str):
    import openai

    return openai.OpenAI(base_url=base_url, api_key=ADMIN_KEY, max_retries=8)


def jobs_by_address(sandbox) -> dict[str | None, list[dict[str, Any]]]:
    found: dict[str | None, list[dict[str, Any]]] = collections.defaultdict(list)
    for job in sdk(sandbox.base_url).fine_tuning.jobs.list(limit=100):
        found[(job.metadata or {}).get("reconciler_address")].append(job.model_dump())
    return found


def files(sandbox) -> list[dict[str, Any]]:
    return [f.model_dump() for f in sdk(sandbox.base_url).files.list()]


def plain_name(file: dict[str, Any]) -> str:
    """A listed file's name without the workspace mark reconciler uploads it with
    (`train.reconciler-<lineage>.jsonl` -> `train.jsonl`)."""
    import re

    return re.sub(r"\.reconciler-[A-Za-z0-9-]+(?=\.[A-Za-z0-9]+$|$)", "", str(file["filename"]))


def grants(sandbox, checkpoint: str) -> list[dict[str, Any]]:
    client = sdk(sandbox.base_url)
    return [p.model_dump() for p in client.fine_tuning.checkpoints.permissions.list(checkpoint, limit=100)]
