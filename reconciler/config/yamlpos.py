"""Safe YAML loading that keeps line numbers.

Files are composed into `yaml.SafeLoader` nodes and turned into plain Python values here, never
through a constructor that could build objects: only the core YAML tags (str, int, float, bool,
null, map, seq; timestamps and binary are kept as their text) are accepted, anything else, such as
`!!python/object`, is refused. Alias expansion is bounded (a "billion laughs" file stops after
MAX_NODES values), as are nesting depth and file size. Every problem becomes a SpecError.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.bounded import MAX_SPEC_FILE_BYTES, RefusedFile, read_regular
from reconciler.config.positions import line_finder, path_key
from reconciler.errors import SpecError

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "RawDocument", "line_finder", "load_file", "load_text",
           "path_key"]

MAX_FILE_BYTES = MAX_SPEC_FILE_BYTES
MAX_NODES = 10_000
MAX_DEPTH = 64

_CORE = "tag:yaml.org,2002:"
_SCALARS_AS_TEXT = {_CORE + "timestamp", _CORE + "binary"}


@dataclass
class RawDocument:
    """One YAML document as plain values, with the line of every key and list item."""

    value: Any
    line: int  # line of the document's first key (1-based)
    positions: dict[str, int] = field(default_factory=dict)  # "spec.method.type" -> line


class _Fail(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def _tag_text(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


class _Builder:
    def __init__(self, strings: dict[str, str] | None = None) -> None:
        self.count = 0
        self.positions: dict[str, int] = {}
        # Equal string values of one file are one object (a base model or a `${File.x.id}` written
        # in 10,000 documents is otherwise 10,000 strings held for the whole run).
        self.strings: dict[str, str] = {} if strings is None else strings
        self.constructor = yaml.constructor.SafeConstructor()  # only its scalar helpers are used

    def build(self, node: yaml.Node, path: str, depth: int) -> Any:
        """`path` is the positions key of `node` ("" for the document, "spec.method.type" below:
        the same text path_key gives, built one step at a time)."""
        self.count += 1
        if self.count > MAX_NODES:
            raise _Fail(
                node.start_mark.line + 1,
                f"document expands to more than {MAX_NODES} values (too many aliases or items)",
            )
        if depth > MAX_DEPTH:
            raise _Fail(node.start_mark.line + 1, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _CORE + "seq":
                raise _Fail(node.start_mark.line + 1, f"tag {_tag_text(node.tag)} is not allowed")
            items = []
            for i, child in enumerate(node.value):
                key = sys.intern(f"{path}.{i}" if path else str(i))
                self.positions.setdefault(key, child.start_mark.line + 1)
                items.append(self.build(child, key, depth + 1))
            return items
        if isinstance(node, yaml.MappingNode):
            if node.tag != _CORE + "map":
                raise _Fail(node.start_mark.line + 1, f"tag {_tag_text(node.tag)} is not allowed")
            return self.mapping(node, path, depth)
        raise _Fail(node.start_mark.line + 1, "unsupported YAML node")  # pragma: no cover

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        line = node.start_mark.line + 1
        try:
            if tag == _CORE + "str":
                return self.strings.setdefault(node.value, node.value)
            if tag == _CORE + "null":
                return None
            if tag == _CORE + "bool":
                return self.constructor.construct_yaml_bool(node)
            if tag == _CORE + "int":
                return self.constructor.construct_yaml_int(node)
            if tag == _CORE + "float":
                value = self.constructor.construct_yaml_float(node)
                if value != value or value in (float("inf"), float("-inf")):
                    raise _Fail(line, f"{node.value!r} is not a finite number")
                return value
        except _Fail:
            raise
        except Exception:
            raise _Fail(line, f"cannot read {node.value!r} as {_tag_text(tag)}") from None
        if tag in _SCALARS_AS_TEXT:
            return node.value
        raise _Fail(line, f"tag {_tag_text(tag)} is not allowed")

    def mapping(self, node: yaml.MappingNode, path: str, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _CORE + "merge":
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise _Fail(value_node.start_mark.line + 1, "'<<' merges only mappings")
                    merged.extend(source.value)
                continue
            key = self.key(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _Fail(line, f"duplicate key {key!r} (first at line {seen[key]})")
            seen[key] = line
            where = sys.intern(f"{path}.{key}" if path else key)
            self.positions[where] = line
            result[key] = self.build(value_node, where, depth + 1)
        for key_node, value_node in merged:  # explicit keys win over merged ones
            key = self.key(key_node)
            if key in result:
                continue
            where = sys.intern(f"{path}.{key}" if path else key)
            self.positions.setdefault(where, key_node.start_mark.line + 1)
            result[key] = self.build(value_node, where, depth + 1)
        return result

    @staticmethod
    def key(node: yaml.Node) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise _Fail(node.start_mark.line + 1, "a key must be a plain string, not a list or mapping")
        if node.tag not in (_CORE + "str", _CORE + "int", _CORE + "bool", _CORE + "null", _CORE + "float"):
            raise _Fail(node.start_mark.line + 1, f"tag {_tag_text(node.tag)} is not allowed")
        return sys.intern(str(node.value))  # keys as written: `on:` stays "on", `1:` stays "1"


def _first_line(node: yaml.Node) -> int:
    if isinstance(node, yaml.MappingNode) and node.value:
        return int(node.value[0][0].start_mark.line) + 1
    return int(node.start_mark.line) + 1


def _documents(loader: Any, file: str, documents: list[RawDocument], errors: list[SpecError]) -> None:
    strings: dict[str, str] = {}
    while loader.check_node():
        node = loader.get_node()
        if node is None:
            continue
        if (
            isinstance(node, yaml.ScalarNode)
            and node.tag == _CORE + "null"
            and node.value in ("", "~", "null")
        ):
            continue  # an empty document (`---` alone)
        builder = _Builder(strings)
        try:
            value = builder.build(node, "", 0)
        except _Fail as fail:
            errors.append(SpecError(file, fail.line, fail.message))
            continue
        documents.append(RawDocument(value, _first_line(node), builder.positions))


# libyaml composes the same nodes (marks included) about 10x faster than the pure-Python parser.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)
# ... but it composes recursively in C: tens of thousands of nested levels overflow the C stack
# (a segfault, no error) and take quadratic time first. Text that *might* nest deeper than this
# goes to the pure-Python loader, which stops at Python's recursion limit.
_FAST_MAX_NESTING = 1000


def _nesting_bound(text: str) -> int:
    """A cheap upper bound on the nesting depth of `text`: every flow level needs a `[` or `{`;
    block levels need indentation or an indicator (`-`, `?`, `:`) on the line, and a mapping and
    its sequence value may share a column (hence x2)."""
    block = 0
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped:
            width = len(line) - len(stripped) + stripped.count("-") + stripped.count("?") + stripped.count(":") + 1
            block = max(block, width)
    # Flow levels: counted per document. A flow collection never spans a document marker (`---` or
    # `...` at column 0, then a blank or the end of the line: inside flow context it is an error),
    # so a file of many small `[a, b]` lists is not mistaken for one deep one. Only "\n" starts a
    # line here (a form feed or other break that YAML may not treat as one never resets the count).
    flow = most = 0
    for line in text.split("\n"):
        if line[:3] in ("---", "...") and (len(line) == 3 or line[3] in " \t\r"):
            flow = 0
        flow += line.count("[") + line.count("{")
        most = max(most, flow)
    return 2 * block + most


_DOCUMENT_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t\r\n]|\Z)", re.MULTILINE)


def _coarse_bound(text: str) -> int:
    """A looser bound than _nesting_bound, from C-speed string methods only: a line's block width
    (indentation plus indicators, + 1) is at most its length + 1, and a document's flow depth at
    most its count of `[` and `{` (documents split where _nesting_bound resets its count)."""
    block = max(map(len, text.split("\n"))) + 1
    starts = [m.start() for m in _DOCUMENT_MARKER.finditer(text)] + [len(text)]
    flow, begin = 0, 0
    for end in starts:
        part = text[begin:end]
        flow = max(flow, part.count("[") + part.count("{"))
        begin = end
    return 2 * block + flow


def _shallow(text: str) -> bool:
    """True when the fast loader can compose `text` safely: a cheap bound says so, or libyaml's
    (iterative) event scan finds no more than _FAST_MAX_NESTING levels - stopping as soon as it
    does, so a deep file costs little here too."""
    if _coarse_bound(text) <= _FAST_MAX_NESTING or _nesting_bound(text) <= _FAST_MAX_NESTING:
        return True
    if _FAST_LOADER is None:
        return False
    scanner = _FAST_LOADER(text)
    depth = 0
    try:
        while scanner.check_event():
            event = scanner.get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > _FAST_MAX_NESTING:
                    return False
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return False  # the pure-Python loader reports it
    finally:
        scanner.dispose()
    return True


def load_text(text: str, file: str) -> tuple[list[RawDocument], list[SpecError]]:
    """Every non-empty document of `text`; on a YAML error, the documents before it and the error."""
    if _FAST_LOADER is not None and _shallow(text):
        fast = None
        try:
            fast = _FAST_LOADER(text)
            documents_fast: list[RawDocument] = []
            errors_fast: list[SpecError] = []
            _documents(fast, file, documents_fast, errors_fast)
            return documents_fast, errors_fast
        except Exception:
            pass  # any YAML problem: the pure-Python loader below reports it with its position
        finally:
            if fast is not None:
                fast.dispose()
    documents: list[RawDocument] = []
    errors: list[SpecError] = []
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        _documents(loader, file, documents, errors)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "not valid YAML"
        errors.append(SpecError(file, line, f"invalid YAML: {problem}"))
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        errors.append(SpecError(file, line, f"invalid YAML: character {char} is not allowed"))
    except yaml.YAMLError as exc:
        errors.append(SpecError(file, None, f"invalid YAML: {exc}"))
    except RecursionError:
        errors.append(SpecError(file, None, "invalid YAML: nested too deeply"))
    except Exception as exc:  # the YAML library should not fail otherwise; never a traceback
        errors.append(SpecError(file, None, f"invalid YAML: {type(exc).__name__}: {exc}"))
    finally:
        if loader is not None:
            loader.dispose()
    return documents, errors


def load_file(path: Path, display: str) -> tuple[list[RawDocument], list[SpecError]]:
    """Read one spec file (bounded in size, UTF-8) and load its documents."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [
                SpecError(
                    display,
                    None,
                    f"file is {size} bytes; spec files are limited to {MAX_FILE_BYTES // (1024 * 1024)} MB",
                )
            ]
        data = read_regular(path, MAX_FILE_BYTES)
    except RefusedFile as exc:
        return [], [SpecError(display, None, str(exc))]
    except OSError as exc:
        return [], [SpecError(display, None, f"cannot read: {exc.strerror or exc}")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return [], [SpecError(display, line, "not valid UTF-8")]
    return load_text(text, display)
