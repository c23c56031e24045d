"""End-to-end fixtures: the real CLI (click's runner, in-process) against the real sandbox over
HTTP, with a spec folder and a state file of the test's own."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli

ADMIN_KEY = "sk-admin-e2e-0123456789abcdef"
PROJECT_KEY = "sk-proj-e2e-0123456789abcdef"


def chat_jsonl(n: int = 12, topic: str = "billing") -> str:
    lines = []
    for i in range(n):
        lines.append(json.dumps({"messages": [
            {"role": "system", "content": "You are a support agent."},
            {"role": "user", "content": f"Question {i} about {topic}?"},
            {"role": "assistant", "content": f"Answer {i} about {topic}."}]}))
    return "\n".join(lines) + "\n"


JOB_SPEC = """\
kind: File
name: train
spec:
  path: data/train.jsonl
---
kind: FineTuningJob
name: bot
spec:
  model: gpt-4o-mini
  training_file: ${File.train.id}
  suffix: support-v1
  metadata: {team: support}
  method:
    type: supervised
    supervised:
      hyperparameters: {n_epochs: auto, batch_size: auto, learning_rate_multiplier: auto}
"""

PERMISSION_SPEC = """\
---
kind: CheckpointPermission
name: share
spec:
  fine_tuned_model_checkpoint: ${FineTuningJob.bot.fine_tuned_model}
  project_ids: [proj_alpha, proj_beta]
  exclusive: %s
"""


@dataclass
class World:
    sandbox: Any
    root: Path
    runner: CliRunner = field(default_factory=CliRunner)

    @property
    def specs(self) -> Path:
        return self.root / "specs"

    @property
    def state_file(self) -> Path:
        return self.root / "state" / "default.json"

    def env(self, **extra: str) -> dict[str, str]:
        env = {"OPENAI_BASE_URL": self.sandbox.base_url, "OPENAI_API_KEY": PROJECT_KEY,
               "OPENAI_ADMIN_KEY": ADMIN_KEY, "NO_COLOR": "1"}
        env.update(extra)
        return env

    def write(self, name: str, text: str) -> Path:
        path = self.specs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def run(self, *args: str, input: str | None = None, **env: str) -> Result:
        argv = ["-C", str(self.specs), "--state", str(self.state_file), *args]
        return self.runner.invoke(cli, argv, env=self.env(**env), input=input, catch_exceptions=False)

    def ok(self, *args: str, code: int = 0) -> Result:
        result = self.run(*args)
        assert result.exit_code == code, f"exit {result.exit_code}\n{result.output}"
        assert "Traceback" not in result.output
        return result

    def sdk(self, admin: bool = True) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.sandbox.base_url, api_key=ADMIN_KEY if admin else PROJECT_KEY,
                             max_retries=0)

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def jobs(self) -> list[dict[str, Any]]:
        return [j.model_dump() for j in self.sdk().fine_tuning.jobs.list(limit=100)]

    def finish_jobs(self) -> None:
        self.sandbox.advance(3600)


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path):
    """The sandbox on the wall clock, or from the moment a `@pytest.mark.sandbox_now("2027-01-07T09:00:00Z")`
    names."""
    from reconciler.cli.runtime import parse_instant
    from reconciler_sandbox.testing import run_sandbox

    marker = request.node.get_closest_marker("sandbox_now")
    now = parse_instant(marker.args[0]) if marker is not None else None
    with run_sandbox(now=now) as sandbox:
        w = World(sandbox, tmp_path)
        (w.specs / "data").mkdir(parents=True)
        (w.specs / "data" / "train.jsonl").write_text(chat_jsonl())
        yield w
