"""Every YAML example of docs/SPEC.md that declares documents validates with the real CLI, so a user
who copies one gets a working spec. Blocks that only show part of a document are marked
`<!-- fragment -->` on the line before them and skipped; all others are written, one file per
block, into one spec folder (they reference each other, as a spec folder's files do) and
`reconciler validate` must accept the set."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SPEC_MD = ROOT / "docs" / "SPEC.md"
FRAGMENT = "<!-- fragment -->"


@dataclass(frozen=True)
class Block:
    line: int  # line of the opening fence in docs/SPEC.md
    text: str
    fragment: bool


def yaml_blocks(markdown: str) -> list[Block]:
    lines = markdown.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if re.fullmatch(r"```ya?ml\s*", lines[i]):
            before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            blocks.append(Block(i + 1, "\n".join(lines[i + 1 : end]) + "\n", before == FRAGMENT))
            i = end
        i += 1
    return blocks


BLOCKS = yaml_blocks(SPEC_MD.read_text(encoding="utf-8"))
WHOLE = [b for b in BLOCKS if not b.fragment]


def test_the_doc_has_whole_examples_and_marks_its_fragments() -> None:
    assert len(WHOLE) >= 7, [b.line for b in WHOLE]
    assert any("type: multi" in b.text for b in WHOLE), "the multi grader example must be a whole document"
    for block in WHOLE:
        docs = [d for d in yaml.safe_load_all(block.text) if d is not None]
        assert docs, f"docs/SPEC.md:{block.line}: an empty block: mark it {FRAGMENT}"
        for doc in docs:
            assert isinstance(doc, dict) and ({"kind", "name"} <= doc.keys() or doc.keys() & {"import", "moved"}), (
                f"docs/SPEC.md:{block.line}: not a whole document; complete it or mark it {FRAGMENT}"
            )


def test_every_whole_example_validates(tmp_path: Path) -> None:
    root = tmp_path / "specs"
    (root / "data").mkdir(parents=True)
    # the File example uploads data/support_train.jsonl, which the FineTuningJob example trains on
    shutil.copy(ROOT / "specs" / "data" / "support_train.jsonl", root / "data" / "support_train.jsonl")
    for block in WHOLE:
        (root / f"spec_md_line_{block.line:04d}.yaml").write_text(block.text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "-C", str(root)], env={"NO_COLOR": "1"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("Success!"), result.output


@pytest.mark.parametrize("block", [b for b in WHOLE if "type: multi" in b.text], ids=lambda b: f"line{b.line}")
def test_the_multi_grader_example_as_a_list_is_refused(tmp_path: Path, block: Block) -> None:
    """The form the doc showed before (graders as a list) is what the spec language refuses: the
    doc's map form is the one that works."""
    root = tmp_path / "specs"
    root.mkdir()
    as_list = re.sub(r"^(\s+)(\w+): \{type:", r"\1- {type:", block.text, flags=re.M)
    assert as_list != block.text
    (root / "s.yaml").write_text(as_list, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "-C", str(root)], env={"NO_COLOR": "1"}, catch_exceptions=False)
    assert result.exit_code == 1
    assert "expected a grader or a map of named graders, got a list" in result.output, result.output
