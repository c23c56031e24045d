"""The escaping layer of each output format (reconciler/render/escape.py), table-driven, each case
checked by a real parser of the format: markdown-it for Markdown, expat for XML, the csv module."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from markdown_it import MarkdownIt

from reconciler.render.escape import csv_cell, html_text, md_code, md_fence, md_text, xml_attr, xml_text
from reconciler.secrets import neutralize

MD = MarkdownIt("commonmark", {"html": True}).enable("table")

HOSTILE = [
    "<img src=https://evil.example/p.png> <!--",
    "<script>alert(1)</script>",
    "![x](https://evil.example/x.png)",
    "[click](https://evil.example/)",
    "**bold** _em_ *em* ~~s~~",
    "a | b | c",
    "`tick` ``two`` ```three```",
    "`",
    " ` ",
    "line one\n```\n<img src=x>\n```",
    "&lt;img src=x&gt; &amp;",
    "\\<img src=x>",
    "\x00\x01\x1b[31m\x7f\x9b\u202e\u2028\ud800\ufffe end",
    "",
]


def _inline_text(rendered_md: str) -> str:
    """What a Markdown renderer shows for one paragraph: its text, with code spans as their text."""
    tokens = MD.parse(rendered_md)
    inline = [t for t in tokens if t.type == "inline"]
    assert len(inline) <= 1, rendered_md
    if not inline:
        return ""
    kinds = {c.type for c in inline[0].children or ()}
    assert kinds <= {"text", "code_inline", "softbreak"}, (rendered_md, kinds)
    return "".join(c.content for c in inline[0].children or ())


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_text_renders_as_exactly_its_characters(value: str) -> None:
    shown = _inline_text(md_text(value))
    assert shown == neutralize(value.replace("\n", " ")).strip(" ") or not value.strip()


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_code_span_holds_its_value(value: str) -> None:
    out = md_code(value)
    shown = _inline_text(out)
    expected = neutralize(value.replace("\n", " "))
    assert shown == (expected if expected.strip() else shown), out
    assert "\n" not in out


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_table_cells_stay_cells(value: str) -> None:
    table = "| a | b | c |\n|---|---|---|\n" + f"| {md_code(value, table=True)} | {md_text(value)} | z |\n"
    tokens = MD.parse(table)
    cells = sum(1 for t in tokens if t.type == "td_open")
    assert cells == 3, table
    assert not [t for t in tokens if t.type.startswith("html")], table
    assert "<img" not in MD.render(table) and "<script" not in MD.render(table)


def test_markdown_fence_is_never_closed_by_its_content() -> None:
    block = "\n".join(md_fence(HOSTILE, "diff"))
    tokens = MD.parse(block)
    assert [t.type for t in tokens] == ["fence"], block
    assert tokens[0].info == "diff"


@pytest.mark.parametrize("value", HOSTILE)
def test_junit_text_and_attributes_parse_as_xml_1_0(value: str) -> None:
    doc = f"<testcase name={xml_attr(value)}><failure>{xml_text(value)}</failure></testcase>"
    root = ET.fromstring(doc.encode("utf-8"))
    assert root.get("name") == neutralize(value)
    assert root.findtext("failure") == neutralize(value)


@pytest.mark.parametrize(("value", "cell"), [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+1", "'+1"), ("-1+2", "'-1+2"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "\\u000d=1"), ("team", "team"), ("a=b", "a=b"), (3, 3), (None, ""),
])
def test_csv_cells_a_spreadsheet_never_evaluates(value: object, cell: object) -> None:
    assert csv_cell(value) == cell
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(value)])
    [parsed] = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert not parsed[0].startswith(("=", "+", "-", "@", "\t", "\r"))


def test_html_text_escapes_markup_and_controls() -> None:
    assert html_text("<img src=x> \"q\" 'a' &") == "&lt;img src=x&gt; &quot;q&quot; &#x27;a&#x27; &amp;"
    assert html_text("a\x1b[31m\ud800") == "a\\u001b[31m\\ud800"
    assert html_text(None) == ""
