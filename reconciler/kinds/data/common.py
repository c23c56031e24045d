"""What the data sources share: planning a read, selecting among checkpoints, matching metadata."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from reconciler.api.protocols import Reader
from reconciler.kinds.base import DataReads, Kind
from reconciler.plan.model import Action, Change
from reconciler.values import UNKNOWN, contains_unknown

if TYPE_CHECKING:
    from reconciler.config.documents import Document
    from reconciler.plan.walk import Walk

__all__ = ["ClientReads", "DataKind", "matches", "newest_first", "select"]

METRICS = ("train_loss", "valid_loss", "full_valid_loss", "train_mean_token_accuracy",
           "valid_mean_token_accuracy", "full_valid_mean_token_accuracy")

_UNKNOWN_FIELDS = ("id", "items", "ids", "project_ids", "fine_tuned_model", "status",
                   "fine_tuned_model_checkpoint", "step_number", "metrics")


class DataKind(Kind):
    """A data source: planned as a read whose result feeds references."""

    data = True

    def plan(self, doc: Document, spec: dict[str, Any], walk: Walk, unresolved: list[str]) -> Change:
        address = doc.address

        change = Change(address=address, kind=doc.kind, action=Action.READ, config=doc.spec,
                        depends_on=tuple(doc.depends_on))
        result, waiting = self.result(address, spec, walk.reads, unresolved)
        walk.planned[address] = result
        if waiting:
            walk.waiting[address] = waiting
        return change

    def result(self, address: str, spec: dict[str, Any], reads: DataReads,
               unresolved: list[str] = ()) -> tuple[dict[str, Any], str | None]:  # type: ignore[assignment]
        """What references see, and why part of it is unknown (if it is): all unknown while the
        spec itself is, else what `read` found."""
        if contains_unknown(spec):
            return (dict.fromkeys(_UNKNOWN_FIELDS, UNKNOWN),
                    "; ".join(unresolved) or f"{address} depends on values not known yet")
        result, waiting = self.read(address, spec, reads)
        if waiting is None and any(v is UNKNOWN for v in result.values()):
            waiting = f"{address} found nothing to select yet"
        return result, waiting


def matches(job: Mapping[str, Any], metadata: Mapping[str, str] | None) -> bool:
    if not metadata:
        return True
    have = job.get("metadata") or {}
    return all(have.get(k) == v for k, v in metadata.items())


def newest_first(jobs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(jobs, key=lambda j: (-(j.get("created_at") or 0), j["id"]))


def select(items: list[dict[str, Any]], how: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not items:
        return None
    how = how or {"latest": True}
    if "step" in how:
        found = [c for c in items if c.get("step_number") == how["step"]]
        return found[0] if found else None
    for key, pick in (("lowest", min), ("highest", max)):
        if key in how:
            metric = how[key]
            scored = [c for c in items if isinstance((c.get("metrics") or {}).get(metric), (int, float))]
            return pick(scored, key=lambda c: (c["metrics"][metric], -c.get("step_number", 0))) if scored else None
    return max(items, key=lambda c: c.get("step_number") or 0)


class ClientReads:
    """DataReads straight from the API, for a data source read again during apply."""

    def __init__(self, client: Reader):
        self.client = client

    def job(self, job_id: str) -> dict[str, Any] | None:
        return dict(self.client.get_job(job_id))

    def all_jobs(self) -> Iterable[dict[str, Any]]:
        return list(self.client.list_jobs(page_size=100))

    def checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        return list(self.client.list_checkpoints(job_id))

    def permissions_query(self, checkpoint: str, project_id: str | None,
                          order: str | None) -> list[dict[str, Any]]:
        return list(self.client.list_permissions(checkpoint, project_id=project_id, order=order))


_: type[DataReads] = ClientReads  # ClientReads is a DataReads (checked by mypy)
