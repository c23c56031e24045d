"""What a kind is: everything reconciler knows about one kind of object, behind one interface.

A kind module (reconciler/kinds/<kind>/kind.py) subclasses `Kind` and is listed in
reconciler/kinds/registry.py; nothing else in the code branches on kind names. See
docs/ARCHITECTURE.md ("Adding a kind").

The planner calls `plan` / `plan_destroy` with a `Walk` (pure: the walk reads an immutable
snapshot); the executor calls `apply` with an `ApplyContext` — the narrow interface through which
a kind reaches the API, the state journal and the values other changes see. The executor never
calls planner code, and a kind's apply never plans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.errors import PlanError

if TYPE_CHECKING:
    from pathlib import Path

    from reconciler.api.protocols import Client
    from reconciler.config.documents import Document, SpecSet
    from reconciler.plan.finding import Finding
    from reconciler.plan.model import Change, Plan, Step
    from reconciler.plan.snapshot import Snapshot, SnapshotReads
    from reconciler.plan.walk import Walk
    from reconciler.state import ResourceState, State

__all__ = ["ApplyContext", "DataReads", "Kind", "KindTable", "Pending"]


class Pending(Exception):
    """An action cannot run yet (a value it needs is not known); not a failure."""


class DataReads(Protocol):
    """Reads a data source makes: from the snapshot while planning (`SnapshotReads`), from the API
    when apply reads a source again after the jobs it depends on finished (`ClientReads`)."""

    def job(self, job_id: str) -> dict[str, Any] | None: ...
    def all_jobs(self) -> Iterable[dict[str, Any]]: ...
    def checkpoints(self, job_id: str) -> list[dict[str, Any]]: ...
    def permissions_query(self, checkpoint: str, project_id: str | None,
                          order: str | None) -> list[dict[str, Any]]: ...


class ApplyContext(Protocol):
    """What the executor lends a kind while it applies one change."""

    @property
    def client(self) -> Client: ...
    @property
    def state(self) -> State: ...
    @property
    def lock(self) -> AbstractContextManager[Any]: ...             # guards read-modify-write of state

    def record(self, address: str, resource: ResourceState | None) -> None:
        """Put (or drop) a resource in state and journal it (fsync) before returning."""

    def remember(self, change: Change, obj: Mapping[str, Any]) -> None:
        """`obj` is what references to change.address now see (through the kind's `view`)."""

    def resolve(self, change: Change) -> dict[str, Any]:
        """change.config with every reference resolved; raises Pending while one is unknown."""

    def resolve_or_wait(self, change: Change) -> dict[str, Any]:
        """As resolve, but with --wait first waits for the jobs the change depends on."""

    def observed(self, address: str) -> dict[str, Any] | None:
        """What the plan's refresh read for this address."""

    def key(self, address: str, digest: str, op: str) -> str:
        """The Idempotency-Key for one creating call."""

    def canonical(self, value: Any) -> Any:
        """One shared object per distinct value (method blocks of jobs trained the same way)."""

    def note(self, address: str, text: str) -> None: ...

    def announce(self, address: str, text: str) -> None:
        """Say at once what is being done (each revoke, cancel and delete, as it happens)."""

    def pause(self) -> None:
        """Wait one poll interval (a long-running operation not done yet); raises Pending once the
        apply is interrupted."""


class Kind:
    """Defaults for a kind; subclasses override what applies to them."""

    name: str = ""                     # as written in a spec: File, FineTuningJob, data.FineTuningJob, ...
    type: str = ""                     # the resource type in state and plans (LegacyFineTune -> FineTuningJob)
    data: bool = False                 # a data source: read, never changed
    job: bool = False                  # a training run: bought, tagged with its address, adopted after a crash
    costed: bool = False               # creating or replacing one starts paid training (cost, budgets)
    has_model: bool = False            # it produces a fine-tuned model (delete_model_on_destroy)
    grants_access: bool = False        # it lets projects use a model (its grants are read per checkpoint)
    picks_checkpoint: bool = False     # it picks one checkpoint among a job's (the report shows which)
    admin: bool = False                # reading or changing it needs the admin key
    # what refresh reads for it in bulk: "jobs", "files" (every page), "permissions" (the grants
    # of each managed checkpoint)
    listings: frozenset[str] = frozenset()
    importable: bool = False
    waitable: bool = False             # apply --wait can wait for one to finish (see `poll`)
    show_fields: tuple[str, ...] = ()  # what `reconciler output ADDR` shows without an attribute
    shows_unknown_id: bool = True      # a planned create shows `id = (known after apply)`
    # attributes references can name (config/refs.py checks `${Kind.name.attr}` against them)
    attributes: frozenset[str] = frozenset()

    # Terraform resource / data types that convert to this kind (`reconciler convert terraform`)
    terraform_types: tuple[str, ...] = ()
    uses_graders: bool = False         # its schema carries the grader definitions
    local_file: bool = False           # its spec names a local file (`spec.path`), checked while loading
    pending_verbs: tuple[str, str] = ("Granting", "Grants")  # apply's words for a change that waited
    hosted: bool = False               # billed by the hour while it exists (cost/hosting.py)
    control_plane: bool = False        # managed through Azure Resource Manager: its provider needs an ARM account
    # platforms (Provider types) that have no such object: Azure OpenAI has no checkpoint permissions
    absent_on: frozenset[str] = frozenset()

    # -- the spec language ------------------------------------------------------------------------
    def spec_schema(self) -> dict[str, Any]:
        """The JSON Schema of this kind's `spec` (built in the kind's folder: reconciler/kinds/<kind>/schema.py)."""
        raise NotImplementedError

    def check(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        """(normalised spec, findings) for a schema-valid spec: the checks JSON Schema cannot say."""
        return spec, []

    # -- planning (pure: everything comes from the walk) ------------------------------------------
    def plan(self, doc: Document, spec: dict[str, Any], walk: Walk, unresolved: list[str]) -> Change:
        raise NotImplementedError

    def plan_destroy(self, address: str, rs: ResourceState, walk: Walk, *, prevent_destroy: bool,
                     delete_model: bool = False) -> Change:
        """The change destroying `address`; `delete_model`: its lifecycle.delete_model_on_destroy."""
        raise PlanError(f"{address}: {self.name} objects cannot be destroyed")

    def checkpoint_of(self, spec: Mapping[str, Any]) -> Any:
        """The checkpoint whose grants planning this document reads, if any (listed up front)."""
        return None

    # -- importing ---------------------------------------------------------------------------------
    def read_for_import(self, address: str, object_id: str, reads: SnapshotReads) -> dict[str, Any]:
        raise PlanError(f"cannot import {address}: {self.name} objects cannot be imported "
                        "(only FineTuningJob, File and CheckpointPermission)")

    def imported_inputs(self, object_id: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def output_attributes(self, resource: ResourceState) -> dict[str, Any]:
        """What `reconciler output` shows of a recorded object."""
        return {"id": resource.id, **(resource.attributes or {})}

    # -- inventory ---------------------------------------------------------------------------------
    def produced_model(self, resource: ResourceState) -> Mapping[str, Any] | None:
        """The job-shaped object (`id`, `model`, `fine_tuned_model`, `status`, `finished_at`) of a
        fine-tuned model this record produced, if it produces one (`reconciler inventory`)."""
        return None

    def model_grants(self, resource: ResourceState) -> tuple[str, tuple[str, ...]] | None:
        """(model or checkpoint id, project ids) this record lets use it, if it shares one."""
        return None

    def deployed_model(self, resource: ResourceState) -> tuple[str, str, str, int | None] | None:
        """(model, deployment name, sku, capacity) this record serves, if it is a deployment."""
        return None

    def local_content(self, resource: ResourceState, doc: Document | None) -> Path | None:
        """A local file holding exactly this object's content (checked by sha256), if there is one."""
        return None

    # -- applying ----------------------------------------------------------------------------------
    def apply(self, ctx: ApplyContext, change: Change) -> str | None:
        """Run change.steps; return the object id the change produced or touched, if any."""
        raise NotImplementedError

    def view(self, change: Change, obj: Mapping[str, Any]) -> Mapping[str, Any]:
        """What references to this address see of `obj` (never a copy: 10,000 jobs)."""
        return obj

    def stored(self, resource: ResourceState) -> ResourceState:
        """The resource as the state keeps it (a job drops what repeats elsewhere)."""
        return resource

    def waiting_reason(self, address: str, attrs: Mapping[str, Any], now: float) -> str | None:
        """Why a reference to this object's after-finish attributes is unknown, if it is."""
        return None

    def refreshed_resource(self, resource: ResourceState, live: dict[str, Any], change: Change,
                           spec: Callable[[], dict[str, Any] | None]) -> ResourceState:
        """The state record of an object this apply did not change, with its fresh read."""
        import copy

        updated = copy.copy(resource)
        updated.attributes = dict(live)
        return updated

    def poll(self, client: Client, object_id: str) -> tuple[dict[str, Any], bool, str, str]:
        """(object, finished, status, detail for a progress line): one read while --wait waits."""
        raise NotImplementedError

    def progress(self, client: Client, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        """How far a polled object is, for --wait's progress lines (None: nothing to show)."""
        return None

    # -- drift -----------------------------------------------------------------------------------------
    def unmanaged(self, plan: Plan, snapshot: Snapshot | None, specs: SpecSet, state: State,
                  selector: Mapping[str, str], include_finished: bool) -> Iterable[Finding]:
        """Drift findings for objects of this kind that no spec or state record manages."""
        return ()

    def prune(self, finding: Finding, plan: Plan, snapshot: Snapshot | None,
              planned_revokes: set[tuple[Any, Any]]) -> Change | None:
        """The change `sync --prune` makes for an unmanaged finding of this kind, if any."""
        return None

    # -- reading data sources ------------------------------------------------------------------------
    def read(self, address: str, spec: dict[str, Any], reads: DataReads) -> tuple[dict[str, Any], str | None]:
        """A data source's result and, when it found nothing to select yet, why."""
        raise NotImplementedError

    # -- helpers shared by kinds -------------------------------------------------------------------
    @staticmethod
    def forget(ctx: ApplyContext, change: Change, step: Step) -> ResourceState | None:
        current = ctx.state.resources.get(change.address)
        if current is not None and current.id == step.args.get("id", current.id):
            ctx.record(change.address, None)
        return ctx.state.resources.get(change.address)

    def __repr__(self) -> str:
        return f"<kind {self.name}>"


class KindTable(Protocol):
    """The table of kinds the planner is given (kinds/registry.py, the module, is one): it asks it,
    never imports it."""

    def get(self, name: str) -> Kind: ...

    def by_type(self, type_: str) -> Kind: ...

    def all_kinds(self) -> Iterator[Kind]: ...

    def kind_of_address(self, address: str) -> Kind | None: ...

    def imported_resource(self, address: str, kind_name: str, object_id: str, attributes: Mapping[str, Any],
                          depends_on: Iterable[str]) -> ResourceState: ...
