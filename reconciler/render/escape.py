"""One escaping layer per output format, for every text that came from outside reconciler (API
values, spec and pull-request content, messages built from them).

| format | rule |
| --- | --- |
| every format | control, bidi and separator characters, lone surrogates: shown escaped (`\\u001b`) |
| Markdown text | one line (a line break is a space); `& < >` as entities (no raw HTML, no comment hiding the rest); the
  characters that start emphasis, links, images, code, strikethrough, maths or table cells
  backslash-escaped |
| Markdown code | a code span fenced by more backticks than the value holds; `|` escaped in a table |
| Markdown block | a fence longer than any backtick run inside; one line per entry |
| JUnit XML | characters XML 1.0 forbids replaced; `& < > "` escaped (attributes too) |
| CSV | a text cell starting with `= + - @`, tab or CR prefixed with `'` (a spreadsheet never
  evaluates it) |
| HTML | `& < > " '` escaped |

The terminal has its own layer (`secrets.redact`, applied to everything the CLI prints). JSON
keeps values exactly: its consumers escape for their own output.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr as _xml_quoteattr

from reconciler.secrets import neutralize

__all__ = ["clip", "csv_cell", "html_text", "md_code", "md_fence", "md_text", "xml_attr", "xml_text"]

MARKDOWN_VALUE_LIMIT = 2000  # characters of one value in a Markdown line (a comment has 65,536)
# `_` only where it can open or close emphasis (not inside a word: proj_alpha stays as it is)
# `$` only where it can open or close inline maths (not before a digit: $1.50 stays as it is)
_MD_PUNCTUATION = re.compile(r"([\\`*\[\]~|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|\$(?!\d))")
_BREAKS = re.compile("\r\n|[\r\n\t]")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_ENTITY = re.compile("[&<>]")
_BACKTICKS = re.compile("`+")
_HTML_SPECIAL = re.compile("[&<>\"']")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying so."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"{text[:limit]}… ({cut:,} more characters)"


# ---- Markdown (GitHub / GitLab flavoured) -----------------------------------------------------------

def _md_line(value: object, limit: int) -> str:
    """One line: a line break or tab is a space (a multi-line API message reads as one line)."""
    return clip(neutralize(_BREAKS.sub(" ", str(value))), limit)


def md_text(value: object, *, limit: int = MARKDOWN_VALUE_LIMIT) -> str:
    """`value` as inline Markdown text that renders as exactly those characters, on one line."""
    text = _md_line(value, limit)
    text = _MD_PUNCTUATION.sub(r"\\\1", text)
    return _MD_ENTITY.sub(lambda m: _MD_ENTITIES[m.group()], text)


def md_code(value: object, *, table: bool = False, limit: int = MARKDOWN_VALUE_LIMIT) -> str:
    """`value` as a code span (inside a table cell when `table`)."""
    text = _md_line(value, limit)
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each side of a span that starts and ends with one.
    pad = " " if (text[:1] == "`" or text[-1:] == "`" or (text[:1] == text[-1:] == " ") or not text) else ""
    if table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def md_fence(lines: Iterable[str], info: str = "") -> list[str]:
    """`lines` as a fenced code block: each one line, under a fence no line can close."""
    body = [_md_line(line, 1 << 30) for line in lines]
    longest = max((len(run) for line in body for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *body, fence]


# ---- JUnit XML ------------------------------------------------------------------------------------

def xml_text(value: object) -> str:
    """`value` as XML 1.0 character data."""
    return _xml_escape(neutralize(str(value)))


def xml_attr(value: object) -> str:
    """`value` as a quoted XML 1.0 attribute value (quotes included)."""
    return _xml_quoteattr(neutralize(str(value)))


# ---- CSV ------------------------------------------------------------------------------------------

def csv_cell(value: object) -> object:
    """A cell for `csv.writer`: numbers as they are, text that a spreadsheet would take for a
    formula prefixed with `'`."""
    if value is None or isinstance(value, (int, float)):
        return "" if value is None else value
    text = neutralize(str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


# ---- HTML -----------------------------------------------------------------------------------------

def html_text(value: object) -> str:
    """`value` as HTML text or attribute value (quotes escaped too)."""
    text = "" if value is None else neutralize(str(value))
    return html.escape(text, quote=True) if _HTML_SPECIAL.search(text) else text
