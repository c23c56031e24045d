"""Crash safety on Azure OpenAI: SIGKILL the apply after every mutating request of a mixed plan
(upload, create, cancel, replace = cancel + create) against the Azure-flavoured sandbox, then
converge: no job made twice for one intent, nothing lost, the state loads. The same Killer as
test_crash_matrix.py (the sandbox routes Azure's /openai paths to the /v1 handlers it wraps).

The matrix runs with the Azure sandbox keeping job metadata (its default): reconciler's marks are
found again. A real resource may drop them (docs/SANDBOX.md Z11/Z13): the last test kills a run
right after its create on a sandbox that drops them, and the next plan refuses in one line naming
the import (a lost create answer likewise: test_azure_e2e.py)."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path
from typing import Any

from reconciler.state import StateStore

from .helpers import Cli, chat_jsonl
from .test_crash_matrix import Killer, killer  # noqa: F401  (the fixture)

KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PROVIDER = """\
kind: Provider
name: default
spec:
  type: azure
  endpoint: {endpoint}
  api_version: 2025-04-01-preview
  api_key_env: AZURE_OPENAI_API_KEY
---
kind: File
name: train
spec: {{path: data/train.jsonl}}
"""
PHASE0 = """\
---
kind: FineTuningJob
name: old
spec: {{model: gpt-4o-mini-2024-07-18, training_file: "${{File.train.id}}", suffix: old}}
---
kind: FineTuningJob
name: swap
spec: {{model: gpt-4o-mini-2024-07-18, training_file: "${{File.train.id}}", suffix: swap-v1}}
"""
PHASE1 = """\
---
kind: File
name: extra
spec: {{path: data/extra.jsonl}}
---
kind: FineTuningJob
name: swap
spec: {{model: gpt-4o-mini-2024-07-18, training_file: "${{File.train.id}}", suffix: swap-v2}}
---
kind: FineTuningJob
name: new
spec: {{model: gpt-4o-mini-2024-07-18, training_file: "${{File.extra.id}}", suffix: new}}
"""


def _cli(root: Path, sb: Any, phase: str) -> Cli:
    cli = Cli(root, sb.url, extra_env={"AZURE_OPENAI_API_KEY": KEY, "RECONCILER_ALLOWED_BASE_URLS": sb.azure_endpoint})
    cli.write("main.yaml", (PROVIDER + phase).format(endpoint=sb.azure_endpoint))
    return cli


def _template(tmp: Path) -> Path:
    from reconciler_sandbox.testing import run_sandbox

    root = tmp / "template"
    (root / "specs" / "data").mkdir(parents=True)
    (root / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    (root / "specs" / "data" / "extra.jsonl").write_text(chat_jsonl(topic="shipping"))
    with run_sandbox(data=root / "world" / "world.json", flavor="azure", azure_key=KEY) as sb:
        _cli(root, sb, PHASE0).ok("apply", "--auto-approve")
        sb.advance(5)   # old and swap are validating: active, so the measured plan cancels them
    return root


def _trial(template: Path, dest: Path, k: Killer, kill_at: int | None) -> list[str]:
    from reconciler_sandbox.testing import run_sandbox

    shutil.copytree(template, dest, symlinks=True)
    with run_sandbox(data=dest / "world" / "world.json", flavor="azure", azure_key=KEY) as sb:
        cli = _cli(dest, sb, PHASE1)
        proc = cli.popen("apply", "--auto-approve", "--parallelism", "1")
        k.reset(proc, kill_at)
        proc.communicate(timeout=120)
        seen = list(k.seen)
        k.reset(None, None)
        StateStore(cli.state_file).load()   # always loads (journal replayed)
        cli.converge()
        jobs = list(sb.world.jobs.items.values())
        by_address = collections.defaultdict(list)
        for job in jobs:
            by_address[(job.get("metadata") or {}).get("reconciler_address")].append(job)
        intents = collections.Counter((a, j["metadata"]["reconciler_digest"]) for a, js in by_address.items() for j in js)
        assert max(intents.values()) == 1, intents                      # never a job twice for one intent
        state = StateStore(cli.state_file).load()
        for address in ("FineTuningJob.swap", "FineTuningJob.new"):
            assert state.resources[address].id in sb.world.jobs.items   # nothing lost
        assert "FineTuningJob.old" not in state.resources
        names = collections.Counter(m["filename"].split(".")[0] for m in sb.world.files.items.values())
        assert names == {"train": 1, "extra": 1}, names
    return seen


def test_kill_after_every_mutation_on_azure(tmp_path: Path, killer: Killer) -> None:  # noqa: F811
    template = _template(tmp_path)
    seen = _trial(template, tmp_path / "clean", killer, None)
    assert len(seen) == 5, seen   # upload, create new, cancel old, cancel swap, create swap
    for n in range(1, len(seen) + 1):
        _trial(template, tmp_path / f"kill-{n}", killer, n)



def test_kill_after_an_unrecorded_create_where_metadata_is_dropped(tmp_path: Path, killer: Killer) -> None:  # noqa: F811
    """A real resource may drop the marks (docs/SANDBOX.md Z13): the job made by a run killed right
    after its create carries none, so the next plan cannot adopt it; it refuses in one line naming
    the import, never creating a second job; after the import the folder converges."""
    from reconciler_sandbox.testing import run_sandbox

    root = tmp_path / "root"
    (root / "specs" / "data").mkdir(parents=True)
    (root / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    job = '---\nkind: FineTuningJob\nname: bot\nspec: {{model: gpt-4o-mini-2024-07-18, training_file: "${{File.train.id}}", suffix: bot}}\n'
    with run_sandbox(data=root / "world" / "world.json", flavor="azure", azure_key=KEY, azure_metadata=False) as sb:
        cli = _cli(root, sb, job)
        proc = cli.popen("apply", "--auto-approve", "--parallelism", "1")
        killer.reset(proc, 2)     # 1: the upload, 2: the job create (killed once it is made)
        proc.communicate(timeout=120)
        assert killer.killed_on == "after POST /v1/fine_tuning/jobs", killer.seen
        killer.reset(None, None)
        [made] = sb.world.jobs.items
        again = cli.run("apply", "--auto-approve")
        out = again.stdout + again.stderr
        assert again.returncode == 1 and "Traceback" not in out
        [line] = [x for x in out.splitlines() if "FineTuningJob.bot" in x and made in x]
        assert f"reconciler import FineTuningJob.bot {made}" in line and "nothing was sent" in line
        assert list(sb.world.jobs.items) == [made]
        cli.ok("import", "FineTuningJob.bot", made)
        assert cli.converge() >= 1
        assert list(sb.world.jobs.items) == [made]   # never a second job
