"""Grader templates checked against the training data: `{{item.X}}` in the grader of a reinforcement
job must name a field the job's training (and validation) examples have.

The API fills `{{item.X}}` from each example; a field no example has makes every grader call fail,
so the job would be paid for and end `failed`. Only the first MAX_EXAMPLES examples of each file
are read (streaming, one line at a time), so the check costs the same for a file of any size."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.config.documents import Document, SpecSet, display_path
from reconciler.config.refs import find_refs
from reconciler.errors import SpecError
from reconciler.kinds.job.inputs import KIND as JOB
from reconciler.kinds.names import FILE

__all__ = ["MAX_EXAMPLES", "check_grader_fields", "item_templates", "job_files"]

MAX_EXAMPLES = 100  # examples read per file; fields are the union of their top-level keys
_MAX_LINE_BYTES = 32 * 1024 * 1024  # as reconciler.training_data: a longer line is not read whole
_ITEM = re.compile(r"\{\{\s*item\.([A-Za-z_][A-Za-z0-9_\-]*)")


@dataclass(frozen=True)
class ItemTemplate:
    field: str  # the top-level key of the example: "reference_code" for {{item.reference_code.x}}
    path: tuple[Any, ...]  # where it is written, under the document ("spec", "method", ...)


def item_templates(value: Any, path: tuple[Any, ...]) -> Iterator[ItemTemplate]:
    """Every `{{item.X...}}` in the strings of `value` (a grader), with the path it is written at."""
    if isinstance(value, str):
        for match in _ITEM.finditer(value):
            yield ItemTemplate(match.group(1), path)
    elif isinstance(value, dict):
        for key, sub in value.items():
            yield from item_templates(sub, path + (key,))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from item_templates(sub, path + (index,))


@dataclass
class _Fields:
    examples: int  # examples read (at most MAX_EXAMPLES)
    counts: dict[str, int]  # top-level key -> examples that have it


def _read_fields(path: Path, limit: int) -> _Fields | None:
    """The top-level keys of the first `limit` JSON-object lines of `path`; None when it cannot be
    read (the training-file check reports that)."""
    counts: dict[str, int] = {}
    examples = 0
    try:
        with open(path, "rb") as fh:
            while examples < limit:
                line = fh.readline(_MAX_LINE_BYTES + 1)
                if not line:
                    break
                if len(line) > _MAX_LINE_BYTES and not line.endswith(b"\n"):
                    return None  # not JSONL; reported by the training-file check
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # blank or bad line: reported by the training-file check
                if not isinstance(record, dict):
                    continue
                examples += 1
                for key in record:
                    counts[key] = counts.get(key, 0) + 1
    except OSError:
        return None
    return _Fields(examples, counts)


def _first_line_without(path: Path, field: str, limit: int) -> int | None:
    examples = 0
    try:
        with open(path, "rb") as fh:
            for number, line in enumerate(iter(lambda: fh.readline(_MAX_LINE_BYTES + 1), b""), start=1):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(record, dict):
                    continue
                examples += 1
                if field not in record:
                    return number
                if examples >= limit:
                    break
    except OSError:
        pass
    return None


def job_files(job: Document, specset: SpecSet) -> list[tuple[str, Document]]:
    """(spec key, File document) for the job's training and validation file, when they are Files
    declared in the specs (a literal file id cannot be read locally)."""
    out = []
    for key in ("training_file", "validation_file"):
        for ref in find_refs(job.spec.get(key)):
            doc = specset.documents.get(ref.address)
            if ref.kind == FILE and ref.path[:1] == ("id",) and doc is not None and doc.kind == FILE:
                out.append((key, doc))
    return out


def check_grader_fields(specset: SpecSet, *, max_examples: int = MAX_EXAMPLES) -> list[SpecError]:
    """One error per reinforcement job and `{{item.X}}` its grader reads that the examples of its
    training or validation File lack: no example has X (naming the fields they do have), or some
    example lacks it (naming the first such line)."""
    errors: list[SpecError] = []
    cache: dict[Path, _Fields | None] = {}
    for job in specset.documents.values():
        if job.type != JOB:
            continue
        method = job.spec.get("method")
        if not isinstance(method, dict) or method.get("type") != "reinforcement":
            continue
        block = method.get("reinforcement")
        if not isinstance(block, dict):
            continue
        grader_path = ("spec", "method", "reinforcement", "grader")
        templates: dict[str, ItemTemplate] = {}
        for template in item_templates(block.get("grader"), grader_path):
            templates.setdefault(template.field, template)  # the first place each field is read
        if not templates:
            continue
        problems: dict[str, list[str]] = {}
        for key, file_doc in job_files(job, specset):
            path = file_doc.base_dir / file_doc.spec["path"]
            if path not in cache:
                cache[path] = _read_fields(path, max_examples)
            fields = cache[path]
            if fields is None or fields.examples == 0:
                continue
            shown = file_doc.spec["path"]
            role = key.partition("_")[0]  # training / validation
            read = f"first {fields.examples}" if fields.examples >= max_examples else f"all {fields.examples}"
            for name in templates:
                have = fields.counts.get(name, 0)
                if have == 0:
                    known = ", ".join(sorted(fields.counts)) or "none"
                    problems.setdefault(name, []).append(
                        f"no {role} example has {name!r} ({read} examples of {shown} read; "
                        f"their fields: {known})"
                    )
                elif have < fields.examples:
                    line = _first_line_without(path, name, max_examples)
                    problems.setdefault(name, []).append(
                        f"{fields.examples - have} of {'the ' if read.startswith('first') else ''}{read} {role} "
                        f"examples of {shown} have no {name!r}"
                        + (f" (first: line {line})" if line else "")
                    )
        for name, found in problems.items():
            errors.append(
                job.error(
                    display_path(templates[name].path),
                    f"{{{{item.{name}}}}}: " + "; ".join(found)
                    + ": the grader would fail on them; fix the template or add the field to the data",
                )
            )
    return errors
