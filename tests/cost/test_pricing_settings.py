"""Price overrides in the Settings document: used by the plan, and refused in one line (file:line,
field, what to do) with exit 1 before any request when malformed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.loading.settings import find_settings


def _validate(tmp_path: Path, pricing: str) -> tuple[int, str]:
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "settings.yaml").write_text("kind: Settings\nname: default\nspec:\n  pricing:\n"
                                         + textwrap.indent(textwrap.dedent(pricing), "    "))
    result = CliRunner().invoke(cli, ["-C", str(specs), "validate"], env={"NO_COLOR": "1"})
    return result.exit_code, result.output


@pytest.mark.parametrize(("pricing", "line", "message"), [
    ("- {model: gpt-4.1-2025-04-14, method: supervised}\n", 5,
     "spec.pricing[0]: give exactly one of per_1m_tokens (supervised, dpo) or per_hour (reinforcement)"),
    ("- model: o4-mini-2025-04-16\n  method: reinforcement\n  per_1m_tokens: 3\n", 5,
     "spec.pricing[0]: reinforcement is billed per hour: use per_hour"),
    ("- model: gpt-4.1-2025-04-14\n  method: supervised\n  per_1m_tokens: 25\n  price: 3\n", 8,
     "unknown field 'price'"),
    ("- model: gpt-4.1-2025-04-14\n  method: sft\n  per_1m_tokens: 25\n", 6, "spec.pricing[0].method"),
    ("- model: gpt-4.1-2025-04-14\n  method: supervised\n  per_1m_tokens: -1\n", 7, "per_1m_tokens"),
])
def test_a_bad_price_is_one_line_with_its_place(tmp_path: Path, pricing: str, line: int, message: str) -> None:
    code, output = _validate(tmp_path, pricing)
    assert code == 1, output
    first = output.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'specs' / 'settings.yaml'}:{line}:") and message in first, output
    assert "Traceback" not in output


def test_a_good_override_is_kept(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, "- model: gpt-4.1-2025-04-14\n  method: supervised\n  per_1m_tokens: 25\n"
                                       "  source: https://example.com/contract\n")
    assert code == 0, output
    settings = find_settings(tmp_path / "specs")
    assert settings.pricing == ({"model": "gpt-4.1-2025-04-14", "method": "supervised", "per_1m_tokens": 25,
                                 "source": "https://example.com/contract"},)
