"""The docs cite the sandbox's fidelity rows by id (F54): every id cited is a link, and every link
has its row's anchor, so a reader can look it up."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [*ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md"), *(ROOT / "examples").rglob("*.md")]
SANDBOX = ROOT / "docs" / "SANDBOX.md"


def test_every_cited_row_id_is_a_link_to_an_existing_anchor():
    anchors = set(re.findall(r'<a id="(f\d{2})"></a>', SANDBOX.read_text()))
    assert len(anchors) >= 50
    for doc in DOCS:
        text = doc.read_text()
        bare = re.sub(r'<a id="f\d{2}"></a>F\d{2}|\[F\d{2}\]\([^)]*#f\d{2}\)', "", text)
        assert not re.findall(r"\bF\d{2}\b", bare), (doc, re.findall(r".{30}\bF\d{2}\b.{10}", bare))
        for target in re.findall(r"\[F\d{2}\]\(([^)]*)#(f\d{2})\)", text):
            assert target[1] in anchors, (doc, target)
