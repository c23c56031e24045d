"""What an expression reads: the field paths it selects (`object.spec.model` -> ("object", "spec",
"model")), and the paths it tests with `has()`. Read from the parse tree; indexing (`m["k"]`) and
computed receivers are not paths and are left out."""

from __future__ import annotations

from typing import Any

from reconciler.expr.compile import Expression, parse_tree

__all__ = ["Path", "member_reads"]

Path = tuple[str, ...]


def member_reads(expression: Expression) -> tuple[frozenset[Path], frozenset[Path]]:
    """(paths read outside has(), paths tested by has())."""
    tree = parse_tree(expression.source)
    guarded: set[Path] = set()
    inside_has: set[int] = set()
    for node in tree.iter_subtrees():
        if node.data == "ident_arg" and node.children and str(node.children[0]) == "has":
            for inner in node.iter_subtrees():
                inside_has.add(id(inner))
                path = _path(inner)
                if path is not None:
                    guarded.add(path)
    reads = {path for node in tree.iter_subtrees() if id(node) not in inside_has
             and (path := _path(node)) is not None}
    return frozenset(reads), frozenset(guarded)


def _path(node: Any) -> Path | None:
    """The dotted path a `member` node selects, when it is one (name.field.field...)."""
    if getattr(node, "data", None) != "member" or not node.children:
        return None
    child = node.children[0]
    data = getattr(child, "data", None)
    if data == "primary":
        inner: Any = child.children[0] if child.children else None
        if inner is not None and getattr(inner, "data", None) == "ident" and inner.children:
            return (str(inner.children[0]),)
        return None
    if data == "member_dot" and len(child.children) == 2:
        receiver = _path(child.children[0])
        return None if receiver is None else (*receiver, str(child.children[1]))
    return None
