"""The CI examples are YAML that parses, and every `reconciler …` command in them uses options
that exist (each is run with --help appended: click rejects unknown options before --help)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import cli

CI = Path(__file__).resolve().parent.parent / "examples" / "ci"
FILES = sorted(p for p in CI.rglob("*.yml"))


def _commands(node) -> list[str]:
    found = []
    if isinstance(node, dict):
        for value in node.values():
            found += _commands(value)
    elif isinstance(node, list):
        for value in node:
            found += _commands(value)
    elif isinstance(node, str):
        for line in node.replace("\\\n", " ").splitlines():
            for match in re.finditer(r"\breconciler ([a-z][a-z-]*(?: [^|>;&\n$]*)?)", line):
                text = match.group(0).strip()
                if text.startswith(("reconciler:", "reconciler-")) or "@" in text:
                    continue
                found.append(text)
    return found


def test_there_are_examples():
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_ci_example_commands_exist(path):
    data = yaml.safe_load(path.read_text())
    commands = [c for c in _commands(data) if not c.startswith("reconciler state after")]
    assert commands, f"no reconciler command found in {path}"
    for command in commands:
        argv = shlex.split(command)[1:]
        argv = [a for a in argv if not a.startswith("${{")]
        if argv[0] in ("validate",):
            argv = argv[:1]
        result = CliRunner().invoke(cli, [*argv, "--help"])
        assert result.exit_code == 0, f"{path.name}: `{command}` → {result.output}"
