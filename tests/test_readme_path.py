"""README.md's "Your first spec in five minutes", run as written.

The shell blocks marked `<!-- five-minute-path -->` are run line by line with /bin/sh, in a temp
copy of what a fresh clone has (specs/, and a `.venv/bin/reconciler` that is this test's
`reconciler`), with the files the README tells the user to save (the yaml blocks marked
`<!-- five-minute-path: PATH -->`) written from the README itself. Every command must exit 0 and
print what the README says it prints; the test fails when a command or the YAML stops working."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARK = re.compile(r"<!--\s*five-minute-path(?::\s*(\S+))?\s*-->")
SECTION = "## Your first spec in five minutes"


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    save_as: str | None  # for a file the user is told to save


def marked_blocks(markdown: str) -> list[Block]:
    """The fenced blocks that follow a five-minute-path marker, in README order."""
    lines = markdown.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        mark = MARK.fullmatch(line.strip())
        if not mark:
            continue
        start = next(j for j in range(i + 1, len(lines)) if lines[j].strip())
        fence = re.fullmatch(r"```(\w+)\s*", lines[start])
        assert fence, f"README.md:{i + 1}: a five-minute-path marker must be followed by a fenced block"
        end = next(j for j in range(start + 1, len(lines)) if lines[j].startswith("```"))
        blocks.append(Block(fence.group(1), "\n".join(lines[start + 1 : end]) + "\n", mark.group(1)))
    return blocks


def commands(block: Block) -> list[str]:
    """One command per line (a trailing backslash continues it); blank lines and comments skipped."""
    out: list[str] = []
    pending = ""
    for line in block.text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        out.append(pending + line)
        pending = ""
    return out


def reconciler_executable() -> Path:
    for candidate in (Path(sys.prefix) / "bin" / "reconciler", Path(sys.executable).parent / "reconciler"):
        if candidate.exists():
            return candidate
    found = shutil.which("reconciler")
    if not found:
        pytest.fail("the `reconciler` console script of this environment was not found (pip install -e .)")
    return Path(found)


def test_the_section_is_marked() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = marked_blocks(section)
    assert blocks == marked_blocks(text), "every five-minute-path block belongs in the five-minute section"
    assert [b.save_as for b in blocks if b.lang == "yaml"] == ["first/specs.yaml"]
    assert all(b.save_as is None for b in blocks if b.lang == "sh")


def test_the_five_minute_path_runs_as_written(tmp_path: Path) -> None:
    blocks = marked_blocks(README.read_text(encoding="utf-8"))
    work = tmp_path / "clone"
    shutil.copytree(ROOT / "specs", work / "specs")  # what a fresh clone has that the path reads
    (work / "state").mkdir()
    venv_bin = work / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "reconciler").symlink_to(reconciler_executable())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RECONCILER_"))}
    env["NO_COLOR"] = "1"

    runs: list[tuple[str, str]] = []  # (command, output) in order
    for block in blocks:
        if block.save_as:  # "Save this as first/specs.yaml"
            target = work / block.save_as
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")
            continue
        assert block.lang == "sh", block
        for command in commands(block):
            done = subprocess.run(
                ["/bin/sh", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=600
            )
            output = done.stdout + done.stderr
            assert done.returncode == 0, f"$ {command}\nexit {done.returncode}\n{output}"
            assert "Traceback" not in output, f"$ {command}\n{output}"
            runs.append((command, output))

    def outputs(subcommand: str) -> list[str]:
        return [out for command, out in runs if re.search(rf"\breconciler {subcommand}\b", command)]

    validates, plans, applies = outputs("validate"), outputs("plan"), outputs("apply")
    assert len(validates) == 1 and "Success! 3 documents in 1 file are valid." in validates[0]
    assert len(plans) == 3 and len(applies) == 2, [c for c, _ in runs]

    first_plan, replace_plan, last_plan = plans
    assert "# File.train will be created" in first_plan
    assert "# FineTuningJob.first_bot will be created" in first_plan
    assert "CheckpointPermission.share_first" in first_plan and "Pending" in first_plan
    assert "Plan: 2 to add, 0 to change, 0 to destroy. (1 pending)" in first_plan

    assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in applies[0]
    assert "CheckpointPermission.share_first: Grants complete" in applies[0]

    assert re.search(r"# FineTuningJob\.first_bot \(ftjob-\S+\) must be replaced \(changed: suffix", replace_plan)
    assert '~ suffix = "first-v1" -> "first-v2"  # forces replacement' in replace_plan
    assert "has succeeded and keeps existing" in replace_plan

    assert "Apply complete! Resources: 1 added, 1 changed, 0 destroyed. (1 forgotten)" in applies[1]
    assert "No changes." in last_plan

    # the path's order: validate, plan, apply, edit, plan, apply, plan
    order = [c for c, _ in runs]
    edit = next(i for i, c in enumerate(order) if "first-v2" in c)
    assert order.index(next(c for c in order if " apply " in c)) < edit < len(order) - 3
