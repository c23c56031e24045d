"""One set of hostile strings through every output, by the real CLI against the sandbox.

The strings sit where the API puts outside text: each managed job's metadata (`team`, what
`cost --by team` groups by), its suffix, its error message (which is also its last event). Every
renderer then runs: drift in text, Markdown, JSON and JUnit (stdout and `--output` files), plan in
text and Markdown, cost in text, Markdown, JSON and CSV, `state show`, `report --html`. Each
output is checked by a real parser of its format:

- Markdown: markdown-it (CommonMark with raw HTML on, as a renderer that does not sanitise) finds
  no HTML but our own `<details>`/`<summary>`, no image, no link, every table row with as many
  cells as its header; the rendered HTML has no `<img`, `<script` or comment;
- JUnit: `xml.etree` (expat) parses it; every hostile value's visible part is there;
- CSV: no cell a spreadsheet evaluates (starting with `= + - @`, tab or CR);
- HTML: `html.parser` sees only the page's own elements, no comment;
- the terminal: no control, bidi or separator character, no escape sequence from a value (also
  with colour on);
- JSON: parses.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from reconciler_sandbox.testing import run_sandbox

from .helpers import Cli, chat_jsonl, jobs_by_address, report

LONG = "A" * 70_000 + "<img src=https://evil.example/long.png>"
HOSTILE = [
    "<img src=https://evil.example/p.png> <!--",
    "<script>alert(1)</script></details><details open>",
    "![x](https://evil.example/x.png) [click](https://evil.example/) **bold** _em_ ~~gone~~ $x$",
    "| pipe | cell | ``` fence ` tick `` two",
    "=cmd|' /C calc'!A0",
    "+1+1", "-2+3", "@SUM(1+1)", "\t=tab", "\r=cr",
    "ctl " + "".join(chr(i) for i in range(0x20)) + "\x7f \x9b6n end",
    "\x1b[8mhidden\x1b[0m \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ \x1b]0;title\x07",
    "bidi \u202eexe.txt\u202c \u2066iso\u2069 line\u2028sep",
    "lone \ud800 surrogate \udfff",
    "line one\n```\n<img src=https://evil.example/fence.png>\n```",
]
# characters that must never reach a terminal or a file raw
RAW = [chr(i) for i in range(0x20) if chr(i) not in "\n"] + ["\x7f", "\x9b", "\u202e", "\u202c", "\u2066",
                                                             "\u2069", "\u2028", "\ud800", "\udfff"]
_SGR = re.compile("\x1b\\[[0-9;]*m")
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _spec(n: int) -> str:
    docs = ["kind: File\nname: train\nspec: {path: data/train.jsonl}\n"]
    for i in range(n):
        docs.append(f"kind: FineTuningJob\nname: bot{i}\nspec:\n  model: gpt-4o-mini\n"
                    f"  training_file: ${{File.train.id}}\n  suffix: bot{i}\n  metadata: {{team: team{i}}}\n")
    return "---\n".join(docs)


def _raw(text: str, *, tabs_ok: bool = False) -> list[str]:
    return [repr(c) for c in RAW if c in text and not (tabs_ok and c == "\t")]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def check_markdown(text: str, where: str) -> int:
    """No raw HTML but our own collapsible sections, no image or link, tables intact. Returns the
    number of table rows checked."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
    tokens = md.parse(text)
    rows = 0
    header_cells = 0
    cells = 0
    for token in tokens:
        if token.type in ("html_block", "html_inline"):
            for line in token.content.strip().splitlines():
                assert line.strip() in ("</details>",) or (
                    line.startswith("<details><summary>") and line.endswith("</summary>")), (where, token.content)
        for child in token.children or ():
            assert child.type not in ("image", "link_open", "html_inline"), (where, child.type, child.content)
        if token.type == "thead_open":
            header_cells = -1
        if token.type == "tr_open":
            cells = 0
        if token.type in ("th_open", "td_open"):
            cells += 1
        if token.type == "tr_close":
            if header_cells == -1:
                header_cells = cells
            else:
                rows += 1
                assert cells == header_cells, (where, "a row with a different number of cells")
    rendered = md.render(text)
    for bad in ("<img", "<script", "<!--", "<details open"):
        assert bad not in rendered, (where, bad)
    assert not _raw(text), (where, _raw(text))
    return rows


def check_csv(text: str, where: str) -> int:
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    evaluated = [cell for cell in cells if cell.startswith(FORMULA)]
    assert not evaluated, (where, evaluated)
    assert not _raw(text, tabs_ok=True), (where, _raw(text, tabs_ok=True))
    return len(cells)


def check_junit(text: str, where: str) -> ET.Element:
    root = ET.fromstring(text.encode("utf-8"))   # expat: a real XML 1.0 parser
    assert root.tag == "testsuites", where
    assert not _raw(text, tabs_ok=True), (where, _raw(text, tabs_ok=True))
    return root


def check_terminal(text: str, where: str) -> None:
    """With colour on our own styles (ESC [ digits m) are there; a value's are shown escaped."""
    assert "Traceback" not in text, (where, text[-2000:])
    assert "\x1b[8m" not in text, where   # the hostile set's "conceal": never ours
    text = _SGR.sub("", text)
    assert not _raw(text, tabs_ok=True), (where, _raw(text, tabs_ok=True))   # a tab moves nothing


@pytest.mark.parametrize("color", [False, True], ids=["plain", "colour"])
def test_one_hostile_set_through_every_output(tmp_path: Path, color: bool) -> None:
    (tmp_path / "specs" / "data").mkdir(parents=True)
    (tmp_path / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    (tmp_path / "specs" / "main.yaml").write_text(_spec(len(HOSTILE)))
    env = {"FORCE_COLOR": "1"} if color else {}
    figures: dict[str, int] = {}
    with run_sandbox() as sb:
        cli = Cli(tmp_path, sb.base_url)
        cli.ok("apply", "--auto-approve")
        jobs = jobs_by_address(sb)
        with sb.world.lock:
            for i, value in enumerate(HOSTILE):
                job = sb.world.jobs.items[jobs[f"FineTuningJob.bot{i}"][0]["id"]]
                job["metadata"] = {**job["metadata"], "team": value}
                job["suffix"] = value
                if i % 3:   # a failed job: its error is a health finding and its last event
                    job["error"] = {"code": value, "param": None, "message": value + (" " + LONG if i == 8 else "")}
        sb.advance(7200)
        outputs: dict[str, str] = {}

        def run(name: str, *args: str, codes: tuple[int, ...] = (0, 2)) -> str:
            environ = cli.env(**env)
            if color:
                environ.pop("NO_COLOR")
            proc = subprocess.run(cli.argv(*args), env=environ, capture_output=True, text=True, timeout=300,
                                  cwd=tmp_path, check=False)
            assert proc.returncode in codes, (args, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
            check_terminal(proc.stderr, name + " stderr")
            outputs[name] = proc.stdout
            return proc.stdout

        files = {kind: tmp_path / f"drift.{kind}" for kind in ("md", "xml", "json", "txt")}
        text = run("drift", "drift", *(a for path in files.values() for a in ("--output", str(path))),
                   "--fail-on", "any")
        check_terminal(text, "drift text")
        assert "\\u001b[8m" in text and "\x1b[8m" not in text  # a value's SGR is shown, never applied
        assert ("\x1b[" in text) is color   # colour on: our own styles are there
        figures["drift_md_rows"] = check_markdown(files["md"].read_text(encoding="utf-8"), "drift.md")
        figures["drift_md_rows"] += check_markdown(run("drift md", "drift", "--format", "markdown"), "drift stdout md")
        root = check_junit(files["xml"].read_text(encoding="utf-8"), "drift.xml")
        check_junit(run("drift junit", "drift", "--format", "junit"), "drift stdout junit")
        junit_text = "".join(root.itertext()) + "".join(v for e in root.iter() for v in e.attrib.values())
        assert "<script>alert(1)</script></details>" in junit_text   # escaped, not dropped
        assert "\\u0001" in junit_text and "\\ud800" in junit_text
        figures["junit_cases"] = len(root.findall(".//testcase"))
        json.loads(files["json"].read_text(encoding="utf-8"))
        check_terminal(files["txt"].read_text(encoding="utf-8"), "drift.txt")
        json.loads(run("drift json", "drift", "--format", "json"))

        plan_md = run("plan md", "plan", "--format", "markdown")
        check_markdown(plan_md, "plan md")
        assert "<script>alert(1)</script></details><details open>" in plan_md   # in a code block: inert
        check_terminal(run("plan", "plan"), "plan text")
        json.loads(run("plan json", "plan", "--json"))

        rows = check_csv(run("cost csv", "cost", "--format", "csv", "--by", "team"), "cost csv by team")
        rows += check_csv(run("cost csv all", "cost", "--format", "csv"), "cost csv")
        figures["csv_cells"] = rows
        assert "'=cmd|' /C calc'!A0" in outputs["cost csv"]
        figures["cost_md_rows"] = check_markdown(run("cost md", "cost", "--format", "markdown", "--by", "team"),
                                                 "cost md")
        assert figures["cost_md_rows"] >= len(HOSTILE) - 1
        check_terminal(run("cost", "cost", "--by", "team"), "cost text")
        json.loads(run("cost json", "cost", "--json", "--by", "team"))
        check_terminal(run("state show", "state", "show", "FineTuningJob.bot0"), "state show")
        check_terminal(run("show", "show"), "show")

        page = tmp_path / "report.html"
        run("report", "report", "--html", str(page))
        elements = _Elements()
        html_text = page.read_text(encoding="utf-8")
        elements.feed(html_text)
        assert not elements.comments and not {"img", "script", "iframe"} & elements.tags, elements.tags
        assert not _raw(html_text, tabs_ok=True), _raw(html_text, tabs_ok=True)
        for name, out in outputs.items():
            check_terminal(out, name)
        assert len(jobs_by_address(sb)) == len(HOSTILE)   # nothing was created by reading
    figures.update({"hostile_strings": len(HOSTILE), "outputs": len(outputs) + len(files) + 1, "colour": color})
    report("hostile_outputs", figures)


def test_a_lone_surrogate_from_the_api_is_written_to_state_and_read_back(tmp_path: Path) -> None:
    """JSON's `"\\ud800"` decodes to a lone surrogate, which UTF-8 cannot encode: the state file and
    the journal keep it as the same JSON escape instead of crashing the apply that writes them."""
    (tmp_path / "specs" / "data").mkdir(parents=True)
    (tmp_path / "specs" / "data" / "train.jsonl").write_text(chat_jsonl())
    (tmp_path / "specs" / "main.yaml").write_text(_spec(1))
    with run_sandbox() as sb:
        cli = Cli(tmp_path, sb.base_url)
        cli.ok("apply", "--auto-approve")
        job_id = jobs_by_address(sb)["FineTuningJob.bot0"][0]["id"]
        with sb.world.lock:
            job = sb.world.jobs.items[job_id]
            job["error"] = {"code": "x", "param": None, "message": "lone \ud800 surrogate \udfff"}
            job["metadata"] = {**job["metadata"], "team": "t\udfff"}
        sb.advance(7200)
        (tmp_path / "specs" / "main.yaml").write_text(_spec(2))   # an apply that writes the state
        proc = cli.run("apply", "--auto-approve")
        assert proc.returncode == 0 and "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        check_terminal(proc.stdout + proc.stderr, "apply")
        raw = cli.state_file.read_bytes()
        state = json.loads(raw.decode("utf-8"))    # valid UTF-8, valid JSON
        attributes = state["resources"]["FineTuningJob.bot0"]["attributes"]
        assert attributes["error"]["message"] == "lone \ud800 surrogate \udfff"   # the same value
        assert b"\\ud800" in raw
        assert not cli.state_file.with_name("default.json.journal").exists()
        plan = cli.ok("plan", "--detailed-exitcode", codes=(0,))
        check_terminal(plan.stdout, "plan")
        assert len(jobs_by_address(sb)) == 2
    report("hostile_surrogate_state", {"apply_exit": 0, "state_utf8": True, "value_kept": True})
