"""The one table of kinds. Adding a kind: write reconciler/kinds/<kind>/kind.py (a `Kind`
subclass, see base.py) and list its instance here — nothing else branches on kind names.
docs/ARCHITECTURE.md ("Adding a kind") has the steps."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from reconciler.errors import PlanError
from reconciler.kinds.base import Kind
from reconciler.kinds.data.checkpoints import DATA_CHECKPOINTS
from reconciler.kinds.data.job import DATA_JOB
from reconciler.kinds.data.jobs import DATA_JOBS
from reconciler.kinds.data.permissions import DATA_PERMISSIONS
from reconciler.kinds.deployment.kind import DEPLOYMENT
from reconciler.kinds.file.kind import FILE
from reconciler.kinds.job.kind import JOB
from reconciler.kinds.legacy.kind import LEGACY
from reconciler.kinds.permission.kind import PERMISSION
from reconciler.state import ResourceState

__all__ = ["CHECKPOINT_PICKERS", "COSTED_KINDS", "GRANT_KINDS", "JOB_KINDS", "KINDS", "LOCAL_FILE_KINDS",
           "MODEL_KINDS", "admin_kinds", "all_kinds", "by_type", "get", "hosted_types", "imported_resource",
           "kind_of_address",
           "resource_types"]

# In the order specs document them: resources, then data sources.
KINDS: dict[str, Kind] = {k.name: k for k in (
    FILE, JOB, PERMISSION, DEPLOYMENT, LEGACY, DATA_JOB, DATA_JOBS, DATA_CHECKPOINTS, DATA_PERMISSIONS,
)}
_BY_TYPE: dict[str, Kind] = {k.type: k for k in KINDS.values() if k.name == k.type}


def _spellings(flag: Callable[[Kind], bool]) -> frozenset[str]:
    """Every spelling (the kind as written, its resource type) of the kinds `flag` holds for: what
    a document, a state record or a change of such a kind is called."""
    return frozenset(s for k in KINDS.values() if flag(k) for s in (k.name, k.type))


# What code outside kinds/ asks about a document, record or change by its kind, defined once here
# from the kinds' attributes (kinds/base.py); nothing outside kinds/ spells a kind's name.
JOB_KINDS = _spellings(lambda k: k.job)
COSTED_KINDS = _spellings(lambda k: k.costed)
MODEL_KINDS = _spellings(lambda k: k.has_model)
GRANT_KINDS = _spellings(lambda k: k.grants_access)
LOCAL_FILE_KINDS = _spellings(lambda k: k.local_file)
CHECKPOINT_PICKERS = _spellings(lambda k: k.picks_checkpoint)


def get(name: str) -> Kind:
    """The kind of a document (`doc.kind`), a change or a state record (`.kind`)."""
    try:
        return KINDS[name]
    except KeyError:
        raise PlanError(f"unknown kind {name}") from None


def by_type(type_: str) -> Kind:
    """The kind that plans, applies and stores objects of a resource type."""
    try:
        return _BY_TYPE[type_]
    except KeyError:
        raise PlanError(f"unknown kind {type_}") from None


def all_kinds() -> Iterator[Kind]:
    return iter(KINDS.values())


def resource_types() -> Iterator[Kind]:
    """One kind per resource type (LegacyFineTune is planned and stored as FineTuningJob)."""
    return (k for k in _BY_TYPE.values() if not k.data)


def hosted_types() -> frozenset[str]:
    """Resource types billed by the hour while they exist (cost/hosting.py)."""
    return frozenset(k.type for k in KINDS.values() if k.hosted)


def admin_kinds() -> frozenset[str]:
    """Kinds whose reads or changes need the admin key."""
    return frozenset(k.name for k in KINDS.values() if k.admin)


def imported_resource(address: str, kind_name: str, object_id: str, attributes: Mapping[str, Any],
                      depends_on: Iterable[str]) -> ResourceState:
    """A state record for an object taken over by `import` (inputs recorded once the spec matches)."""
    kind = get(kind_name)
    return ResourceState(address=address, kind=kind.type, id=object_id,
                         inputs=kind.imported_inputs(object_id, attributes), digest="",
                         attributes=dict(attributes), depends_on=list(depends_on), meta={"imported": True})


def kind_of_address(address: str) -> Kind | None:
    """The kind an address names (`File.x`, `data.FineTuningJobs.y`), if it is a known one."""
    head, _, rest = address.partition(".")
    if head == "data":
        head = "data." + rest.partition(".")[0]
    return KINDS.get(head)
