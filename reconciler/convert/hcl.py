"""Parse Terraform `.tf` files into a small typed tree that keeps a line number on every node.

python-hcl2 (8.x) gives the grammar and the parser; its dict form loses line numbers and folds
expressions back into source text, so this module walks the raw Lark tree instead (the parser is
built with ``propagate_positions``) and keeps, for each expression, either a value we understand
(literal, quoted template, traversal such as ``openai_file.x.id``, tuple, object) or an
``Unsupported`` node naming the construct (function call, conditional, for expression, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

from reconciler.errors import ConfigError, ReconcilerError

__all__ = [
    "Attribute",
    "Block",
    "Body",
    "Expr",
    "HclParseError",
    "Literal",
    "ObjectExpr",
    "Template",
    "Traversal",
    "TupleExpr",
    "Unsupported",
    "parse_file",
    "parse_text",
]


class HclParseError(ReconcilerError):
    """A `.tf` file that is not valid HCL. str() is ``file:line: message``, one line."""

    def __init__(self, file: str, line: int | None, message: str):
        self.file = file
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


# --- expressions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool | None
    line: int


@dataclass(frozen=True)
class Template:
    """A quoted string; parts are literal text or interpolated expressions (``"a-${var.x}"``)."""

    parts: tuple[str | Expr, ...]
    line: int


@dataclass(frozen=True)
class Traversal:
    """``root.step.step[0]``: attribute names as str, index keys as int or str."""

    root: str
    steps: tuple[str | int, ...]
    line: int
    source: str

    @property
    def dotted(self) -> str:
        return ".".join([self.root, *(str(s) for s in self.steps)])


@dataclass(frozen=True)
class TupleExpr:
    items: tuple[Expr, ...]
    line: int


@dataclass(frozen=True)
class ObjectExpr:
    items: tuple[tuple[str, Expr, int], ...]  # (key, value, line)
    line: int


@dataclass(frozen=True)
class Unsupported:
    what: str  # "function call", "conditional expression", ...
    source: str  # the expression as written (first line, shortened)
    line: int


Expr = Literal | Template | Traversal | TupleExpr | ObjectExpr | Unsupported


# --- structure ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    name: str
    expr: Expr
    line: int


@dataclass(frozen=True)
class Block:
    type: str
    labels: tuple[str, ...]
    body: Body
    line: int


@dataclass(frozen=True)
class Body:
    attributes: dict[str, Attribute] = field(default_factory=dict)  # in source order
    blocks: tuple[Block, ...] = ()


# --- parsing -----------------------------------------------------------------------------------

_TOKEN_NAMES = {
    "RBRACE": "'}'", "LBRACE": "'{'", "RSQB": "']'", "LSQB": "'['", "RPAR": "')'", "LPAR": "'('",
    "EQ": "'='", "COMMA": "','", "DBLQUOTE": "'\"'", "NAME": "a name", "INT_LITERAL": "a number",
    "FLOAT_LITERAL": "a number", "NL_OR_COMMENT": "a new line", "$END": "end of file",
    "STRING_CHARS": "text", "INTERP_START": "'${'",
}


def _parse_message(exc: LarkError) -> tuple[int | None, str]:
    line = getattr(exc, "line", None)
    line = line if isinstance(line, int) and line > 0 else None
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            got = "unexpected end of file"
        else:
            text = str(tok.value).strip().splitlines()[0] if str(tok.value).strip() else repr(str(tok.value))
            got = f"unexpected {text[:40]!r}" if not text.startswith("'") else f"unexpected {text[:40]}"
        expected = sorted({_TOKEN_NAMES.get(t, t.lower()) for t in (exc.expected or ()) if t in _TOKEN_NAMES})
        hint = f" (expected {', '.join(expected[:6])})" if expected else ""
        return line, f"{got}{hint}"
    if isinstance(exc, UnexpectedCharacters):
        return line, f"unexpected character {exc.char!r}"
    if isinstance(exc, UnexpectedEOF):
        return line, "unexpected end of file"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return line, first


def parse_text(text: str, filename: str) -> Body:
    """Parse HCL source. Raises HclParseError (``filename:line: message``) on invalid input."""
    try:
        from hcl2.api import parses_to_tree
    except ImportError:  # python-hcl2 before 8.0 has another API

        raise ConfigError("reconciler convert terraform needs python-hcl2 >= 8.0 "
                          "(pip install 'python-hcl2>=8')") from None
    try:
        tree = parses_to_tree(text)
    except LarkError as exc:
        line, message = _parse_message(exc)
        raise HclParseError(filename, line, message) from None
    except (ValueError, RuntimeError) as exc:  # postlexer / heredoc helpers
        raise HclParseError(filename, None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    builder = _Builder(text + "\n", filename)
    body = tree.children[0]
    return builder.body(body)


def parse_file(path: Path, display: str | None = None) -> Body:
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise HclParseError(name, None, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise HclParseError(name, None, exc.strerror or str(exc)) from None
    return parse_text(text, name)


def _line(node: Any) -> int:
    if isinstance(node, Token):
        return node.line or 0
    meta = getattr(node, "meta", None)
    if meta is not None and not getattr(meta, "empty", True):
        return int(meta.line)
    for child in getattr(node, "children", ()):
        found = _line(child)
        if found:
            return found
    return 0


def _unquote(raw: str) -> str:
    from hcl2.utils import process_escape_sequences

    return process_escape_sequences(raw)


class _Builder:
    def __init__(self, source: str, filename: str):
        self.source = source
        self.filename = filename

    def text_of(self, node: Any) -> str:
        if isinstance(node, Token):
            text = str(node.value)
        else:
            meta = node.meta
            text = self.source[meta.start_pos:meta.end_pos] if not meta.empty else ""
        first = " ".join(text.split())
        return first if len(first) <= 60 else first[:57] + "..."

    # structure
    def body(self, tree: Tree[Any]) -> Body:
        attributes: dict[str, Attribute] = {}
        blocks: list[Block] = []
        for child in tree.children:
            if not isinstance(child, Tree):
                continue
            if child.data == "attribute":
                name = self.name_of(child.children[0])
                line = _line(child)
                if name in attributes:
                    raise HclParseError(self.filename, line,
                                        f"attribute {name!r} redefined (first set on line {attributes[name].line})")
                attributes[name] = Attribute(name, self.expr(child.children[-1]), line)
            elif child.data == "block":
                blocks.append(self.block(child))
        return Body(attributes, tuple(blocks))

    def block(self, tree: Tree[Any]) -> Block:
        parts = [c for c in tree.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]
        body_tree = parts[-1]
        head = parts[:-1]
        type_ = self.name_of(head[0])
        labels = tuple(self.label_of(p) for p in head[1:])
        return Block(type_, labels, self.body(body_tree), _line(tree))

    def name_of(self, node: Any) -> str:
        if isinstance(node, Token):
            return str(node.value)
        if node.data in ("identifier", "keyword", "literal_value"):
            return str(node.children[0])
        return self.label_of(node)

    def label_of(self, node: Any) -> str:
        if isinstance(node, Tree) and node.data == "string":
            return "".join(str(p.children[0]) for p in node.children
                           if isinstance(p, Tree) and p.data == "string_part" and isinstance(p.children[0], Token))
        return self.name_of(node)

    # expressions
    def expr(self, node: Any) -> Expr:
        line = _line(node)
        if isinstance(node, Token):
            return Unsupported("token", str(node.value), line)
        kind = node.data
        if kind == "expr_term":
            inner = [c for c in node.children
                     if not (isinstance(c, Token) and c.type in ("LPAR", "RPAR"))
                     and not (isinstance(c, Tree) and c.data == "new_line_or_comment")]
            if len(inner) == 1:
                return self.expr(inner[0])
            return Unsupported("expression", self.text_of(node), line)
        if kind == "int_lit":
            return Literal(int(str(node.children[0])), line)
        if kind == "float_lit":
            return Literal(float(str(node.children[0])), line)
        if kind == "literal_value":
            word = str(node.children[0])
            return Literal({"true": True, "false": False, "null": None}[word], line)
        if kind == "unary_op":
            op = str(node.children[0])
            operand = self.expr(node.children[1])
            if op == "-" and isinstance(operand, Literal) and isinstance(operand.value, (int, float)) \
                    and not isinstance(operand.value, bool):
                return Literal(-operand.value, line)
            return Unsupported("operator expression", self.text_of(node), line)
        if kind == "identifier":
            return Traversal(str(node.children[0]), (), line, self.text_of(node))
        if kind == "string":
            return self.string(node)
        if kind in ("heredoc_template", "heredoc_template_trim"):
            return self.heredoc(node, trim=kind.endswith("trim"))
        if kind == "tuple":
            items = [self.expr(c) for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]
            return TupleExpr(tuple(items), line)
        if kind == "object":
            return self.object(node)
        if kind in ("get_attr_expr_term", "index_expr_term"):
            return self.traversal(node)
        names = {
            "function_call": "function call", "conditional": "conditional expression",
            "binary_op": "operator expression", "for_tuple_expr": "for expression",
            "for_object_expr": "for expression", "attr_splat_expr_term": "splat expression",
            "full_splat_expr_term": "splat expression", "template_string": "template directive",
        }
        return Unsupported(names.get(kind, f"{kind} expression"), self.text_of(node), line)

    def traversal(self, node: Tree[Any]) -> Expr:
        steps: list[str | int] = []
        cur: Any = node
        while isinstance(cur, Tree) and cur.data in ("get_attr_expr_term", "index_expr_term", "expr_term"):
            if cur.data == "expr_term":
                inner = [c for c in cur.children if isinstance(c, Tree)]
                if len(inner) != 1 or any(isinstance(c, Token) for c in cur.children):
                    break
                cur = inner[0]
                continue
            base, step = cur.children[0], cur.children[1]
            if cur.data == "get_attr_expr_term":
                steps.append(self.name_of(step.children[-1]))
            else:
                if step.data == "short_index":
                    steps.append(int(str(step.children[-1])))
                else:
                    key = self.expr(next(c for c in step.children if isinstance(c, Tree)
                                         and c.data != "new_line_or_comment"))
                    if isinstance(key, Literal) and isinstance(key.value, (int, str)) \
                            and not isinstance(key.value, bool):
                        steps.append(key.value)
                    elif isinstance(key, Template) and all(isinstance(p, str) for p in key.parts):
                        steps.append("".join(p for p in key.parts if isinstance(p, str)))
                    else:
                        return Unsupported("computed index", self.text_of(node), _line(node))
            cur = base
        if isinstance(cur, Tree) and cur.data == "identifier":
            return Traversal(str(cur.children[0]), tuple(reversed(steps)), _line(node), self.text_of(node))
        return Unsupported("expression", self.text_of(node), _line(node))

    def string(self, node: Tree[Any]) -> Expr:
        parts: list[str | Expr] = []
        for part in node.children:
            if not (isinstance(part, Tree) and part.data == "string_part"):
                continue
            inner = part.children[0]
            if isinstance(inner, Token):
                if inner.type == "ESCAPED_INTERPOLATION":
                    return Unsupported("literal '${' in a string (written $${)", self.text_of(node), _line(node))
                if inner.type == "ESCAPED_DIRECTIVE":
                    parts.append(_unquote(str(inner.value))[1:])
                    continue
                parts.append(_unquote(str(inner.value)))
            elif inner.data == "interpolation":
                expr_node = next(c for c in inner.children if isinstance(c, Tree))
                parts.append(self.expr(expr_node))
            else:
                return Unsupported("template directive (%{...})", self.text_of(node), _line(node))
        merged: list[str | Expr] = []
        for p in parts:
            if isinstance(p, str) and merged and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + p
            else:
                merged.append(p)
        return Template(tuple(merged), _line(node))

    def heredoc(self, node: Tree[Any], *, trim: bool) -> Expr:
        raw = str(node.children[0])
        lines = raw.split("\n")
        content = lines[1:-2] if lines and lines[-1] == "" else lines[1:-1]
        if any("${" in c or "%{" in c for c in content):
            return Unsupported("heredoc with interpolation", self.text_of(node), _line(node))
        if trim:
            indents = [len(c) - len(c.lstrip(" \t")) for c in content if c.strip()]
            cut = min(indents) if indents else 0
            content = [c[cut:] for c in content]
        return Literal("\n".join(content) + ("\n" if content else ""), _line(node))

    def object(self, node: Tree[Any]) -> Expr:
        items: list[tuple[str, Expr, int]] = []
        for elem in node.children:
            if not (isinstance(elem, Tree) and elem.data == "object_elem"):
                continue
            key_node = elem.children[0]
            key_inner = key_node.children[0] if isinstance(key_node, Tree) and key_node.data == "object_elem_key" \
                else key_node
            key_expr = self.expr(key_inner) if not (isinstance(key_inner, Tree) and key_inner.data == "keyword") \
                else Traversal(str(key_inner.children[0]), (), _line(elem), "")
            if isinstance(key_expr, Traversal) and not key_expr.steps:
                key = key_expr.root
            elif isinstance(key_expr, Template) and all(isinstance(p, str) for p in key_expr.parts):
                key = "".join(p for p in key_expr.parts if isinstance(p, str))
            elif isinstance(key_expr, Literal) and key_expr.value is not None:
                key = str(key_expr.value)
            else:
                return Unsupported("computed object key", self.text_of(elem), _line(elem))
            value = self.expr(elem.children[-1])
            items.append((key, value, _line(elem)))
        return ObjectExpr(tuple(items), _line(node))
