"""Helpers for the converter tests: run the real CLI in-process, read the YAML it wrote."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEEDS = ("seed000", "seed001", "seed003", "seed004")


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None) -> Run:
    from reconciler.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def docs_by_address(folder: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for file in sorted(folder.glob("*.yaml")):
        for doc in load_docs(file):
            if "kind" in doc:
                out[f"{doc['kind']}.{doc['name']}"] = doc
    return out

