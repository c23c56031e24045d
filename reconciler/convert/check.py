"""Convert never writes an invalid spec: every converted document goes through the loader's own
validation (schema, kind checks, training files, references) before anything is written; one that
fails is left out and listed with its file, line and the loader's message. A document that uses a
variable without a value is not judged here (`validate --var NAME=...` does)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from reconciler.config.checks import retired_model_problem, retired_model_successor
from reconciler.convert.mapping import Doc
from reconciler.convert.notes import TODO, Note
from reconciler.convert.writer import dump_yaml
from reconciler.kinds.job.grader_fields import check_grader_fields
from reconciler.kinds.job.training_files import check_training_files
from reconciler.kinds.registry import LOCAL_FILE_KINDS
from reconciler.loading import collect_specs

__all__ = ["drop_invalid"]


def drop_invalid(docs: dict[str, list[Doc]], out_dir: Path) -> list[Note]:
    """Remove the documents the loader rejects (and, in turn, those that refer to them). A File
    whose data file is not where its path points is kept and flagged (a TODO above it and in the
    report): the mapping is right, only the data is elsewhere, and the jobs that use it stay too."""
    notes: list[Note] = []
    missing = _missing_data(docs, out_dir, notes)
    display_of = {id(d): display for display, ds in docs.items() for d in ds}

    def flag(doc: Doc, todo: str) -> None:  # written and flagged: a retired base model to choose again
        if todo not in doc.todo:
            doc.todo.append(todo)
            notes.append(Note(display_of[id(doc)], doc.line, f"{doc.source} written", todo, severity=TODO))

    for doc in (d for ds in docs.values() for d in ds if d.raw is None):
        problem = retired_model_problem(doc.spec.get("model"))
        if problem is not None:
            flag(doc, f"spec.model: {problem}")
    for _ in range(10):  # each round can only leave out more; references settle in a few rounds
        rejected = _rejected([d for ds in docs.values() for d in ds if d.raw is None], out_dir, missing)
        if not rejected:
            break
        for display, file_docs in docs.items():
            for doc in list(file_docs):
                reason = rejected.get(id(doc))
                if reason is not None:
                    file_docs.remove(doc)
                    notes.append(Note(display, doc.line, f"{doc.source} left out",
                                      f"the converted spec would not validate: {reason}"))
    return notes


def _missing_data(docs: dict[str, list[Doc]], out_dir: Path, notes: list[Note]) -> set[str]:
    """The absolute paths of the Files' data files that do not exist; each File flagged."""
    missing: set[str] = set()
    for display, file_docs in docs.items():
        for doc in file_docs:
            path = doc.spec.get("path") if doc.kind in LOCAL_FILE_KINDS and doc.raw is None else None
            if not isinstance(path, str) or "${" in path:
                continue
            where = os.path.abspath(Path(out_dir) / path)
            if os.path.exists(where):
                continue
            missing.add(where)
            todo = (f"put the data file at {path} (relative to the folder of this spec file): it was not found, "
                    "and validate fails until it is there")
            doc.todo.append(todo)
            notes.append(Note(display, doc.line, f"{doc.source} written", todo, severity=TODO))
    return missing


def _rejected(docs: list[Doc], out_dir: Path, missing: set[str]) -> dict[int, str]:
    with tempfile.TemporaryDirectory(prefix="reconciler-convert-") as tmp:
        by_file: dict[str, Doc] = {}
        for i, doc in enumerate(docs):
            path = Path(tmp) / f"d{i:05d}.yaml"
            path.write_text(dump_yaml(_checkable(doc, out_dir)), encoding="utf-8")
            by_file[str(path)] = doc
        collected = collect_specs(Path(tmp), {})
        out: dict[int, str] = {}

        def judged(errors: list[Any]) -> list[Any]:  # a missing data file is a TODO, not a rejection
            return [e for e in errors if not any(m in e.message for m in missing)]

        errors = judged(list(collected.errors))
        if not errors:  # as `validate` does: the training data against the jobs that use it
            errors = judged(check_training_files(collected.specset) + check_grader_fields(collected.specset))
        for error in errors:
            owner = by_file.get(error.file)
            if owner is None or error.severity != "error" or id(owner) in out or "${var." in dump_yaml(owner.spec):
                continue
            field = f"{error.field}: " if error.field else ""
            out[id(owner)] = f"{field}{error.message}"
        return out


def _checkable(doc: Doc, out_dir: Path) -> dict[str, Any]:
    """The document as the loader would read it from out_dir: a File's relative path is made
    absolute (the check runs in a temporary folder); a retired base model (flagged) is checked as
    its successor, so that everything else about the job (its data, its references) is checked."""
    data = doc.document()
    spec = dict(data["spec"])
    successor = retired_model_successor(spec.get("model"))
    if successor is not None:
        spec["model"] = successor
    path = spec.get("path")
    if doc.kind in LOCAL_FILE_KINDS and isinstance(path, str) and "${" not in path:
        spec["path"] = os.path.abspath(Path(out_dir) / path)
        spec["allow_outside_spec_dir"] = True
    data["spec"] = spec
    return data
