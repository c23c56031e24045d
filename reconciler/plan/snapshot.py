"""What the live API reported: an immutable snapshot the planner reads and never extends.

Refresh (`reconciler.planner.refresh`) makes it with bulk reads: every job page by page (never one
GET per job), every file page by page, one permission list per managed checkpoint. The planner
reads it through `SnapshotReads`; a value the snapshot does not hold (a data source's
checkpoints, the grants of a checkpoint that became known during the walk, a file's content hash)
raises `MissingRead`, the planner collects those, and refresh reads them and plans again with a
larger snapshot. Planning itself therefore does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, NamedTuple

from reconciler.resources.ownership import TAG_ADDRESS

__all__ = ["EMPTY", "MissingRead", "Read", "Snapshot", "SnapshotReads"]

Obj = dict[str, Any]


class Read(NamedTuple):
    """One read the planner needs: `op` names a Reader call, `args` its arguments."""

    op: str                    # permissions | permissions_query | checkpoints | job | jobs | file | file_sha256
    args: tuple[Any, ...] = ()


class MissingRead(Exception):
    """The snapshot does not hold `read`: refresh must read it, then plan again."""

    def __init__(self, read: Read, *more: Read):
        super().__init__(f"not read yet: {read.op}{read.args}")
        self.read = read
        self.more = more  # further reads known to be missing (one round reads them all)


_NOTHING: Mapping[Any, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Snapshot:
    jobs: Mapping[str, Obj] | None = None            # id -> job (None: not listed)
    files: Mapping[str, Obj] | None = None           # id -> file (None: not listed)
    permissions: Mapping[str, list[Obj]] = field(default_factory=lambda: _NOTHING)  # checkpoint -> grants
    reads: Mapping[Read, Any] = field(default_factory=lambda: _NOTHING)  # anything else, by what was asked
    server_time: float | None = None
    refreshed: bool = True                           # False with --refresh=false: state only
    warnings: tuple[str, ...] = ()                   # what refresh had to work around, for the plan
    jobs_by_address: Mapping[str, list[Obj]] = field(default_factory=lambda: _NOTHING, repr=False)
    jobs_complete: bool = True                       # False: `jobs` holds only this workspace's jobs
    # object id -> the provider profile whose listing showed it (api/profiles.py; empty with one
    # client): an interrupted run's object is adopted only by an address of that profile
    listed_in: Mapping[str, str] = field(default_factory=lambda: _NOTHING, repr=False)
    # model id -> shutdown_date (YYYY-MM-DD or None) as GET /v1/models answered; None: not read
    models: Mapping[str, str | None] | None = None

    @classmethod
    def of(cls, *, jobs: Mapping[str, Obj] | None = None, files: Mapping[str, Obj] | None = None,
           permissions: Mapping[str, list[Obj]] | None = None, reads: Mapping[Read, Any] | None = None,
           server_time: float | None = None, refreshed: bool = True,
           warnings: tuple[str, ...] = (), jobs_complete: bool = True,
           listed_in: Mapping[str, str] | None = None,
           models: Mapping[str, str | None] | None = None) -> Snapshot:
        """A snapshot over these values, indexed (jobs by the address tag reconciler gives them)."""
        by_address: dict[str, list[Obj]] = {}
        for job in (jobs or {}).values():
            address = (job.get("metadata") or {}).get(TAG_ADDRESS)
            if address:
                by_address.setdefault(address, []).append(job)
        return cls(jobs=_frozen(jobs), files=_frozen(files), permissions=_frozen(permissions) or _NOTHING,
                   reads=_frozen(reads) or _NOTHING, server_time=server_time, refreshed=refreshed,
                   warnings=warnings, jobs_by_address=MappingProxyType(by_address), jobs_complete=jobs_complete,
                   listed_in=_frozen(listed_in) or _NOTHING, models=_frozen(models))

    def with_reads(self, found: Mapping[Read, Any]) -> Snapshot:
        """A new snapshot that also holds `found` (grant lists join `permissions`)."""
        reads = dict(self.reads)
        permissions = dict(self.permissions)
        for read, value in found.items():
            if read.op == "permissions" and not isinstance(value, BaseException):
                permissions[read.args[0]] = value
            else:
                reads[read] = value
        return replace(self, reads=MappingProxyType(reads), permissions=MappingProxyType(permissions))

    def listed_for(self, object_id: str, profile: str) -> bool:
        """Whether `object_id` may belong to an address of `profile`: listed in that profile's
        project, or the listing did not say (one client)."""
        return self.listed_in.get(object_id, profile) == profile

    def job(self, job_id: str | None) -> Obj | None:
        return self.jobs.get(job_id) if self.jobs is not None and job_id is not None else None


def _frozen(value: Mapping[Any, Any] | None) -> Mapping[Any, Any] | None:
    if value is None:
        return None
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


EMPTY = Snapshot(refreshed=False)


class SnapshotReads:
    """The planner's only window on the API: answers from the snapshot or raises MissingRead."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot

    def _get(self, read: Read) -> Any:
        try:
            value = self.snapshot.reads[read]
        except KeyError:
            raise MissingRead(read) from None
        if isinstance(value, BaseException):
            raise value
        return value

    def permissions(self, checkpoint: str) -> list[Obj]:
        found = self.snapshot.permissions.get(checkpoint)
        if found is not None:
            return found
        return list(self._get(Read("permissions", (checkpoint,))))

    def permissions_query(self, checkpoint: str, project_id: str | None, order: str | None) -> list[Obj]:
        return list(self._get(Read("permissions_query", (checkpoint, project_id, order))))

    def checkpoints(self, job_id: str) -> list[Obj]:
        return list(self._get(Read("checkpoints", (job_id,))))

    def job(self, job_id: str) -> Obj | None:
        listed = self.snapshot.job(job_id)
        if listed is not None:
            return listed
        return dict(self._get(Read("job", (job_id,))))

    def all_jobs(self) -> Iterable[Obj]:
        if self.snapshot.jobs is not None and self.snapshot.jobs_complete:
            return self.snapshot.jobs.values()
        return list(self._get(Read("jobs")))

    def file(self, file_id: str) -> Obj:
        if self.snapshot.files is not None and file_id in self.snapshot.files:
            return self.snapshot.files[file_id]
        return dict(self._get(Read("file", (file_id,))))

    def deployments(self, profile: str) -> list[Obj]:
        """The ARM deployments of a provider profile's account (kinds/deployment)."""
        return list(self._get(Read("deployments", (profile,))))

    def file_sha256(self, file_id: str) -> str | None:
        value = self._get(Read("file_sha256", (file_id,)))
        return value if isinstance(value, str) else None
