"""File: a local JSONL uploaded with purpose fine-tune. Its content (sha256) is its identity: new
content is a new upload (and a new training run for the jobs that use it). Inputs:
reconciler/kinds/file/inputs.py; planning: plan.py; applying: apply.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from reconciler.kinds.base import ApplyContext, Kind
from reconciler.kinds.file import inputs as F
from reconciler.kinds.file.checks import check_file
from reconciler.kinds.file.schema import file_spec

if TYPE_CHECKING:
    from pathlib import Path

    from reconciler.config.documents import Document
    from reconciler.plan.model import Change
    from reconciler.plan.snapshot import SnapshotReads
    from reconciler.plan.walk import Walk
    from reconciler.state import ResourceState

__all__ = ["FILE", "FileKind"]


class FileKind(Kind):
    name = type = F.KIND
    listings = frozenset({"files"})
    importable = True
    show_fields = ("id", "filename", "bytes")
    attributes = frozenset({"id", "filename", "bytes", "created_at", "path", "sha256", "status"})

    terraform_types = ("openai_file",)
    local_file = True

    def spec_schema(self) -> dict[str, Any]:
        return file_spec()

    def check(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        return check_file(spec)

    def plan(self, doc: Document, spec: dict[str, Any], walk: Walk, unresolved: list[str]) -> Change:
        from reconciler.kinds.file.plan import plan_file  # lazy: start-up

        return plan_file(doc, spec, walk)

    def plan_destroy(self, address: str, rs: ResourceState, walk: Walk, *, prevent_destroy: bool,
                     delete_model: bool = False) -> Change:
        from reconciler.kinds.file.plan import plan_file_destroy  # lazy: start-up

        return plan_file_destroy(address, rs, walk, prevent_destroy=prevent_destroy)

    def local_content(self, resource: ResourceState, doc: Document | None) -> Path | None:
        from reconciler.kinds.file.inputs import local_path, sha256_of  # lazy: start-up

        inputs = resource.inputs or {}
        if doc is None or not inputs.get("sha256") or not isinstance(doc.spec.get("path"), str):
            return None
        path = local_path(doc, doc.spec)
        try:
            return path if path.is_file() and sha256_of(path)[0] == inputs["sha256"] else None
        except OSError:
            return None

    def read_for_import(self, address: str, object_id: str, reads: SnapshotReads) -> dict[str, Any]:
        return dict(reads.file(object_id))

    def apply(self, ctx: ApplyContext, change: Change) -> str | None:
        from reconciler.kinds.file.apply import apply_file  # lazy: start-up

        return apply_file(ctx, change)

    def view(self, change: Change, obj: Mapping[str, Any]) -> Mapping[str, Any]:
        if change.after:
            return {**obj, **{k: change.after.get(k) for k in ("path", "sha256")}}
        return obj

    def refreshed_resource(self, resource: ResourceState, live: dict[str, Any], change: Change,
                           spec: Callable[[], dict[str, Any] | None]) -> ResourceState:
        updated = super().refreshed_resource(resource, live, change, spec)
        if change.after and not resource.inputs.get("sha256"):
            updated.inputs = dict(change.after)
        return updated


FILE = FileKind()
