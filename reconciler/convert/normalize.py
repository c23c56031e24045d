"""One provider's block → the seeds' spelling, before mapping.py converts it.

Arguments another provider names differently are renamed (`checkpoint_id` →
`fine_tuned_model_checkpoint`, `training_file_id` → `training_file`, `epochs` →
`hyperparameters.n_epochs`); arguments no spec can hold are dropped with the reason. Each change
that loses something is a note with its line.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from reconciler.convert.hcl import Attribute, Block, Body, Literal, Template, Unsupported
from reconciler.convert.providers import DROPPED, argument_aliases, file_argument

__all__ = ["normalize_body"]

Note = Callable[[int, str, str], None]  # (line, what, reason)


# `file("PATH")` / `filebase64("PATH")` as the whole of `content` (mkdev-me's documented form,
# terraform-provider-openai docs: `content = file("${path.module}/data/training.jsonl")`).
_FILE_CALL = re.compile(r'^(?:file|filebase64)\(\s*"([^"$]*(?:\$\{path\.module\}[^"$]*)*)"\s*\)$')


def _file_call(attr: Attribute) -> str | None:
    """The path `content = file("...")` reads, relative to the .tf folder; None for anything else."""
    expr = attr.expr
    if not isinstance(expr, Unsupported):
        return None
    match = _FILE_CALL.match(expr.source.strip())
    if match is None:
        return None
    path = match.group(1).replace("${path.module}/", "").replace("${path.module}", ".")
    return path or None


def normalize_body(mode: str, canonical: str, body: Body, label: str, note: Note) -> Body | None:
    """The body with every alias renamed; None when the whole block cannot be expressed."""
    attrs = dict(body.attributes)
    blocks = list(body.blocks)
    if mode == "resource" and canonical == "openai_file":
        purpose = _literal(attrs["purpose"]) if "purpose" in attrs else None
        if purpose is not None and purpose != "fine-tune":
            note(attrs["purpose"].line, f"{label} left out",
                 f"purpose {purpose!r}: reconciler manages training files (purpose fine-tune) only")
            return None
        path_arg, filename = file_argument(set(attrs))
        read = _file_call(attrs["content"]) if path_arg is None and "content" in attrs else None
        if read is not None:  # content = file("${path.module}/data/train.jsonl"): the upload is that file
            attrs = {("file" if k == "content" else k): (Attribute("file", Literal(read, v.line), v.line)
                                                         if k == "content" else v) for k, v in attrs.items()}
            path_arg = "file"
        if path_arg is None:
            reason = ("inline content cannot be uploaded by reconciler: write it to a .jsonl file next to "
                      "the specs and give its path") if "content" in attrs else "no file path is given"
            line = attrs["content"].line if "content" in attrs else None
            note(line or 0, f"{label} left out", reason)
            return None
        if filename == "name":
            note(attrs["filename"].line, f"argument filename of {label} left out",
                 "reconciler uploads the file under its own name (the path's last part)")
            del attrs["filename"]
        if path_arg != "file":
            attrs = {("file" if k == path_arg else k): (Attribute("file", v.expr, v.line) if k == path_arg else v)
                     for k, v in attrs.items()}
        for other in ("content", "filepath", "file_path"):
            if other in attrs and other != path_arg:
                note(attrs[other].line, f"argument {other} of {label} left out", f"{path_arg} gives the path")
                del attrs[other]
    for name, reason in DROPPED.get((mode, canonical), {}).items():
        if name in attrs:
            note(attrs[name].line, f"argument {name} of {label} left out", reason)
            del attrs[name]
    for alias, target in argument_aliases(mode, canonical).items():
        if alias not in attrs:
            continue
        attr = attrs.pop(alias)
        head, _, rest = target.partition(".")
        if not rest:
            if head in attrs:
                note(attr.line, f"argument {alias} of {label} left out", f"{head} is set too")
                continue
            attrs[head] = Attribute(head, attr.expr, attr.line)  # mapping.py orders by line
            continue
        index = next((i for i, b in enumerate(blocks) if b.type == head), None)
        if index is None:
            blocks.append(Block(head, (), Body({rest: Attribute(rest, attr.expr, attr.line)}), attr.line))
        elif rest in blocks[index].body.attributes:
            note(attr.line, f"argument {alias} of {label} left out", f"{target} is set too")
        else:
            inner = blocks[index].body
            blocks[index] = Block(head, (), Body(inner.attributes | {rest: Attribute(rest, attr.expr, attr.line)},
                                                 inner.blocks), blocks[index].line)
    return Body(attrs, tuple(blocks))



def _literal(attr: Attribute) -> str | None:
    """The text of a plain string argument; None for anything computed."""
    expr = attr.expr
    if isinstance(expr, Literal) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, Template) and all(isinstance(p, str) for p in expr.parts):
        return "".join(str(p) for p in expr.parts)
    return None
