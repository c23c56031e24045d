"""Compiling a CEL expression at load time: syntax errors, identifiers other than the ones the
context provides, and rules whose outermost operation cannot give a boolean are refused with one
line naming the file, line and field, before any request is made."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from reconciler.errors import SpecError
from reconciler.expr.values import to_cel

__all__ = ["Expression", "Where", "compile_expression", "parse_tree"]

_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_TYPE_NAMES = frozenset({"bool", "bytes", "double", "duration", "int", "list", "map", "null_type", "string",
                         "timestamp", "type", "uint"})  # CEL's type denotations: type(x) == string
_BOOLEAN_RELATIONS = frozenset({"relation_lt", "relation_le", "relation_gt", "relation_ge", "relation_eq",
                                "relation_ne", "relation_in"})
_NON_BOOLEAN = {"addition_add": "a sum", "addition_sub": "a difference", "multiplication_mul": "a product",
                "multiplication_div": "a quotient", "multiplication_mod": "a remainder",
                "unary_neg": "a negative number", "list_lit": "a list", "map_lit": "a map"}


@dataclass(frozen=True)
class Where:
    """Where an expression was written, for one-line errors."""

    file: str
    line: int | None
    address: str | None = None
    field: str | None = None

    def error(self, message: str) -> SpecError:
        return SpecError(self.file, self.line, message, self.address, self.field)


@cache
def _environment() -> Any:
    import celpy

    return celpy.Environment()


_lock = threading.Lock()  # the lark parser behind celpy.Environment is not documented thread-safe


@lru_cache(maxsize=1024)
def _compiled(source: str) -> tuple[Any, Any]:
    """(parse tree, program) of a source; the same rule on 1,000 instances is compiled once."""
    with _lock:
        env = _environment()
        tree = env.compile(source)
        return tree, env.program(tree)


@dataclass(frozen=True)
class Expression:
    source: str
    where: Where
    names: tuple[str, ...]
    _program: Any = field(repr=False, compare=False)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (config/cache.py) as its source and compiled again when read: the CEL program is
        # celpy's internals, and the source compiled when it was stored (same code: the cache is
        # keyed by it)
        return (_recompiled, (self.source, self.where, self.names))

    def evaluate(self, activation: Mapping[str, Any]) -> bool:
        """True or False; a SpecError naming the rule when it fails to evaluate or is not boolean."""
        from celpy import celtypes
        from celpy.evaluation import CELEvalError


        values = to_cel({name: activation.get(name) for name in self.names})
        try:
            with _lock:
                result = self._program.evaluate(values)
        except CELEvalError as exc:
            raise self.where.error(f"{self.source!r} failed to evaluate: {_eval_message(exc)}") from None
        except (TypeError, ValueError, KeyError, ZeroDivisionError, OverflowError) as exc:
            raise self.where.error(f"{self.source!r} failed to evaluate: {type(exc).__name__}: {exc}") from None
        if isinstance(result, CELEvalError):
            raise self.where.error(f"{self.source!r} failed to evaluate: {_eval_message(result)}")
        if not isinstance(result, celtypes.BoolType):
            raise self.where.error(f"{self.source!r} gave {_describe(result)}, not true or false; a rule must be "
                                   "a comparison or another boolean expression")
        return bool(result)


def parse_tree(source: str) -> Any:
    """The parse tree of a source that compiles (from the same cache as its program)."""
    return _compiled(source)[0]


def _recompiled(source: str, where: Where, names: tuple[str, ...]) -> Expression:
    return Expression(source, where, names, _compiled(source)[1])


def compile_expression(source: Any, names: Iterable[str], where: Where) -> Expression:
    """A compiled expression over `names` (e.g. object, plan, self); SpecError when it cannot be."""
    from celpy.celparser import CELParseError

    allowed = tuple(names)
    if not isinstance(source, str) or not source.strip():
        raise where.error("expected a CEL expression (a non-empty string), e.g. object.spec.n_epochs <= 4")
    try:
        tree, program = _compiled(source)
    except CELParseError as exc:
        raise where.error(f"CEL syntax error in {source!r}: {_parse_message(exc, source)}") from None
    except Exception as exc:  # lark raises a few of its own
        raise where.error(f"CEL syntax error in {source!r}: {type(exc).__name__}: {exc}") from None
    unknown = sorted(_identifiers(tree) - set(allowed) - _TYPE_NAMES)
    if unknown:
        raise where.error(f"unknown name {unknown[0]!r} in {source!r}; an expression here can read "
                          f"{_join(allowed)}")
    shape = _outer_shape(tree)
    if shape is not None:
        raise where.error(f"{source!r} gives {shape}, not true or false; a rule must be a comparison or "
                          "another boolean expression")
    return Expression(source, where, allowed, program)


def _join(names: tuple[str, ...]) -> str:
    return " and ".join(", ".join(names).rsplit(", ", 1)) if names else "nothing"


def _parse_message(exc: Exception, source: str) -> str:
    column = getattr(exc, "column", None)
    if isinstance(column, int) and column > 0:
        return f"unexpected text at column {column} ({source[column - 1:column + 9]!r})" \
            if column <= len(source) else "the expression ends too early"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _eval_message(exc: Any) -> str:
    args = getattr(exc, "args", ())
    text = str(args[0]) if args else str(exc)
    if text.startswith("undeclared reference"):
        return text.split(" (in activation", 1)[0]
    return text.splitlines()[0] if text else type(exc).__name__


def _describe(value: Any) -> str:
    from celpy import celtypes

    for cel_type, text in ((celtypes.StringType, "a string"), (celtypes.IntType, "a number"),
                           (celtypes.UintType, "a number"), (celtypes.DoubleType, "a number"),
                           (celtypes.ListType, "a list"), (celtypes.MapType, "a map")):
        if isinstance(value, cel_type):
            if isinstance(value, celtypes.StringType):
                return f"{text} ({str(value)!r})"
            return f"{text} ({value})" if isinstance(value, celtypes.IntType | celtypes.DoubleType) else text
    return "null" if value is None else type(value).__name__


def _identifiers(tree: Any) -> set[str]:
    """Top-level names the expression reads, less the variables its macros bind (`x` in
    `list.all(x, x > 0)`)."""
    found: set[str] = set()
    bound: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data == "primary":
            for child in node.children:
                if getattr(child, "type", None) == "IDENT":
                    found.add(str(child))
                elif getattr(child, "data", None) == "ident":
                    found.add(str(child.children[0]))
        if node.data == "member_dot_arg" and len(node.children) >= 3 and str(node.children[1]) in _MACROS:
            args = node.children[2]
            first = args.children[0] if getattr(args, "children", None) else None
            if first is not None:
                for leaf in first.iter_subtrees():
                    if leaf.data == "ident":
                        bound.add(str(leaf.children[0]))
    return found - bound


def _outer_shape(tree: Any) -> str | None:
    """What the outermost operation gives when it is plainly not a boolean (None: a boolean, or
    known only when evaluated)."""
    node = tree
    while True:
        children = [c for c in getattr(node, "children", ()) if hasattr(c, "data")]
        data = node.data
        if data in ("conditionalor", "conditionaland") and len(children) > 1:
            return None  # || and &&
        if data == "expr" and len(children) > 1:
            return None  # ?: — either branch
        operators = [c.data for c in children]
        if data in _BOOLEAN_RELATIONS or data == "unary_not" or _BOOLEAN_RELATIONS.intersection(operators):
            return None
        if data in _NON_BOOLEAN:
            return _NON_BOOLEAN[data]
        for operator in operators:
            if operator in _NON_BOOLEAN:
                return _NON_BOOLEAN[operator]
        if data == "literal":
            text = str(node.children[0])
            if text in ("true", "false"):
                return None
            return "null" if text == "null" else f"the constant {text}"
        if data == "ident":
            return None
        if len(children) != 1:
            return None
        node = children[0]
