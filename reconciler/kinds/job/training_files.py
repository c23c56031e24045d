"""Local checks of the JSONL a File uploads, in the format the jobs that use it need."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from reconciler.config.documents import Document, SpecSet
from reconciler.config.refs import find_refs
from reconciler.errors import SpecError
from reconciler.kinds.job.inputs import KIND as JOB
from reconciler.kinds.names import FILE
from reconciler.training_data import check_file, format_for

__all__ = ["check_training_files", "file_formats"]


def _job_format(job: Document) -> str:
    method = job.spec.get("method") or {}
    model = job.spec.get("model")
    return format_for(
        method.get("type") if isinstance(method, dict) else None, model if isinstance(model, str) else None
    )


def file_formats(specset: SpecSet) -> dict[str, dict[str, list[str]]]:
    """File address -> {format: [addresses of the jobs that need it]}."""
    uses: dict[str, dict[str, dict[str, None]]] = {}  # ordered sets: a list lookup made this quadratic
    for job in specset.documents.values():
        if job.type != JOB:
            continue
        fmt = _job_format(job)
        for key in ("training_file", "validation_file"):
            for ref in find_refs(job.spec.get(key)):
                if ref.kind == FILE and ref.path[:1] == ("id",):
                    uses.setdefault(ref.address, {}).setdefault(fmt, {})[job.address] = None
    return {file: {fmt: list(jobs) for fmt, jobs in formats.items()} for file, formats in uses.items()}


def check_training_files(specset: SpecSet, only: Collection[str] | None = None) -> list[SpecError]:
    """Stream every File's JSONL through reconciler.training_data with the format implied by the jobs
    that reference it (chat when no job does); one SpecError per bad record or conflict.

    `only` limits the check to these File addresses (plan and apply pass the Files they would
    upload: a File already uploaded is not read again); `validate` checks them all. Each file is
    streamed line by line, so memory does not grow with its size."""
    uses = file_formats(specset)
    errors: list[SpecError] = []
    for doc in specset.documents.values():
        if doc.kind != FILE or (only is not None and doc.address not in only):
            continue
        formats = uses.get(doc.address, {})
        if len(formats) > 1:
            detail = "; ".join(f"{fmt} for {', '.join(jobs)}" for fmt, jobs in formats.items())
            errors.append(
                doc.error(
                    "spec.path",
                    f"used by jobs that need different formats ({detail}); give each format its own File",
                )
            )
            continue
        fmt = next(iter(formats), "chat")
        errors.extend(_check_one(doc, fmt))
    return errors


def _check_one(doc: Document, fmt: str) -> list[SpecError]:
    path: Any = doc.base_dir / doc.spec["path"]
    shown = doc.spec["path"]
    try:
        result = check_file(path, fmt)
    except OSError as exc:
        return [doc.error("spec.path", f"{shown}: cannot read ({exc.strerror or exc})")]
    errors = [
        doc.error(
            "spec.path",
            f"{shown} {problem} ({fmt} format)"
            if problem.line == 0
            else f"{shown} {problem}" + ("" if "format" in problem.message else f" ({fmt} format)"),
        )
        for problem in result.problems
    ]
    if result.truncated:
        errors.append(doc.error("spec.path", f"{shown}: more bad records not shown"))
    return errors
