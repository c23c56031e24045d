"""FineTuningJob: a training run. Every create argument forces a new run (a job cannot be
updated); only `status` (running/paused) changes in place; a finished job cannot be deleted, so
destroying it only forgets it. Inputs: reconciler/kinds/job/inputs.py; planning: plan.py;
applying: apply.py; how references see a job: view.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from reconciler.kinds.base import ApplyContext, Kind
from reconciler.kinds.job import inputs as J
from reconciler.kinds.job.checks import check_job
from reconciler.kinds.job.schema import fine_tuning_job_spec

if TYPE_CHECKING:
    from reconciler.api.protocols import Client
    from reconciler.config.documents import Document, SpecSet
    from reconciler.plan.finding import Finding
    from reconciler.plan.model import Change, Plan
    from reconciler.plan.snapshot import Snapshot, SnapshotReads
    from reconciler.plan.walk import Walk
    from reconciler.state import ResourceState, State

__all__ = ["JOB", "JOB_ATTRIBUTES", "JobKind"]

# attributes `${FineTuningJob.name.attr}` may name
JOB_ATTRIBUTES = frozenset({
    "id", "status", "model", "fine_tuned_model", "trained_tokens", "result_files", "created_at", "finished_at",
    "estimated_finish", "organization_id", "seed", "training_file", "validation_file", "suffix", "metadata",
    "error", "hyperparameters", "method", "integrations",
})


class JobKind(Kind):
    name = type = J.KIND
    job = costed = has_model = True
    listings = frozenset({"jobs"})
    importable = True
    waitable = True
    show_fields = ("id", "status", "fine_tuned_model")
    attributes = JOB_ATTRIBUTES

    terraform_types = ("openai_fine_tuning_job",)
    uses_graders = True

    def spec_schema(self) -> dict[str, Any]:
        return fine_tuning_job_spec()

    def check(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        return check_job(spec)

    def plan(self, doc: Document, spec: dict[str, Any], walk: Walk, unresolved: list[str]) -> Change:
        from reconciler.kinds.job.plan import plan_job  # lazy: start-up

        return plan_job(doc, spec, walk, unresolved)

    def plan_destroy(self, address: str, rs: ResourceState, walk: Walk, *, prevent_destroy: bool,
                     delete_model: bool = False) -> Change:
        from reconciler.kinds.job.plan import plan_job_destroy  # lazy: start-up

        return plan_job_destroy(address, rs, walk, prevent_destroy=prevent_destroy, delete_model=delete_model)

    def read_for_import(self, address: str, object_id: str, reads: SnapshotReads) -> dict[str, Any]:
        return dict(reads.job(object_id) or {})

    def unmanaged(self, plan: Plan, snapshot: Snapshot | None, specs: SpecSet, state: State,
                  selector: Mapping[str, str], include_finished: bool) -> Iterable[Finding]:
        from reconciler.kinds.job.drift import unmanaged  # lazy: start-up

        return unmanaged(plan, snapshot, specs, state, selector, include_finished)

    def prune(self, finding: Finding, plan: Plan, snapshot: Snapshot | None,
              planned_revokes: set[tuple[Any, Any]]) -> Change | None:
        from reconciler.kinds.job.drift import prune  # lazy: start-up

        return prune(finding, plan, snapshot)

    def apply(self, ctx: ApplyContext, change: Change) -> str | None:
        from reconciler.kinds.job.apply import apply_job  # lazy: start-up

        return apply_job(ctx, change)

    def view(self, change: Change, obj: Mapping[str, Any]) -> Mapping[str, Any]:
        from reconciler.kinds.job.view import LiveJobView  # lazy: start-up

        return LiveJobView(obj, (change.after or {}).get("suffix"))

    def waiting_reason(self, address: str, attrs: Mapping[str, Any], now: float) -> str | None:
        from reconciler.kinds.job.view import waiting_reason  # lazy: start-up

        return waiting_reason(address, attrs, now) if attrs.get("status") else None

    def output_attributes(self, resource: ResourceState) -> dict[str, Any]:
        attrs = super().output_attributes(resource)
        attrs["metadata"] = {k: v for k, v in (attrs.get("metadata") or {}).items()
                             if not k.startswith("reconciler_")}
        return attrs

    def poll(self, client: Client, object_id: str) -> tuple[dict[str, Any], bool, str, str]:
        import time

        job = dict(client.get_job(object_id))
        status = job.get("status")
        eta = job.get("estimated_finish")
        detail = f", estimated finish {time.strftime('%H:%M:%S', time.gmtime(eta))} UTC" if eta else ""
        return job, status in J.FINISHED, str(status), detail

    def progress(self, client: Client, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        from reconciler.kinds.job.progress import job_progress  # lazy: start-up

        return job_progress(client, obj)

    def produced_model(self, resource: ResourceState) -> Mapping[str, Any] | None:
        attrs, inputs = resource.attributes or {}, resource.inputs or {}
        return {"id": resource.id, "model": attrs.get("model") or inputs.get("model"),
                "fine_tuned_model": attrs.get("fine_tuned_model"), "status": attrs.get("status"),
                "finished_at": attrs.get("finished_at"), "seed": attrs.get("seed", inputs.get("seed")),
                "training_file": attrs.get("training_file") or inputs.get("training_file"),
                "validation_file": attrs.get("validation_file") or inputs.get("validation_file")}

    def stored(self, resource: ResourceState) -> ResourceState:
        if resource.attributes:
            resource.attributes = J.state_attributes(resource.attributes, keep_method=not resource.inputs)
        return resource

    def refreshed_resource(self, resource: ResourceState, live: dict[str, Any], change: Change,
                           spec: Callable[[], dict[str, Any] | None]) -> ResourceState:
        updated = super().refreshed_resource(resource, live, change, spec)
        if change.config is not None and not resource.inputs:
            # imported, and the spec matched: record the inputs it would have been created with
            resolved = spec()
            if resolved is not None:
                updated.inputs = J.inputs_from_spec(resolved)
                updated.digest = J.inputs_digest(updated.inputs)
                updated.meta = {**resource.meta, "settings": J.settings_from_spec(resolved)}
        rebound = [a.path for a in change.attrs if a.path in ("training_file", "validation_file")
                   and not a.forces_replacement and resource.inputs]
        resolved = spec() if rebound else None
        if resolved is not None:
            # The plan kept this job because its file was uploaded again with the same content:
            # record the new id, so the job follows its File from now on.
            ids = {p: resolved.get(p) for p in rebound if isinstance(resolved.get(p), str)}
            updated.inputs = {**updated.inputs, **ids}
        updated.attributes = J.state_attributes(updated.attributes, keep_method=not updated.inputs)
        return updated


JOB = JobKind()
