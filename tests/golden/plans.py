"""Hand-built Plans and DriftReports for the renderer goldens: every Action, UNKNOWN and MISSING
values, nested dicts, grants and revokes, drift, health, warnings, moves and imports, refresh-only
and destroy plans, and the empty plan. Fixed lineage and times: the renderers' output is fully
determined by these values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.drift.findings import DRIFT, HEALTH, DriftReport, Finding, build_report
from reconciler.drift.ignore import IgnoreRule, IgnoreRules
from reconciler.plan.model import Action, AttrChange, Change, Drift, Health, Op, Plan, ReplaceMode, Step
from reconciler.resources.canonical import MISSING
from reconciler.values import UNKNOWN

LINEAGE = "0b7d3c1e-5a2f-4e8b-9c6d-1f2e3a4b5c6d"
CREATED_AT = 1_700_000_000.25  # 2023-11-14T22:13:20Z
MODEL = "ft:gpt-4o-mini-2024-07-18:acme:support-v2:AbC123xY"
CHECKPOINT = MODEL + ":ckpt-step-120"

_FILE_AFTER = {"path": "data/train.jsonl", "filename": "train.jsonl",
               "sha256": "5f1d8c0a" * 8, "bytes": 48213, "purpose": "fine-tune"}

_JOB_AFTER: dict[str, Any] = {
    "model": "gpt-4o-mini-2024-07-18",
    "training_file": UNKNOWN,
    "validation_file": "file-Valid0000000000000001",
    "seed": 42,
    "suffix": "support-v2",
    "metadata": {"team": "support", "owner": "ml-platform", "empty": {}},
    "integrations": [{"type": "wandb", "wandb": {"project": "support", "entity": "acme",
                                                 "tags": ["supervised", "support", "v2", "a-long-tag-to-truncate"]}}],
    "method": {"type": "supervised", "supervised": {"hyperparameters": {
        "n_epochs": 4, "batch_size": "auto", "learning_rate_multiplier": 0.05}}},
    "status": "running",
    "cancel_after_timeout": 5400,
    "notes": "déjà vu — “quoted” text",
    "nothing": None,
    "enabled": True,
}

_CONFIG = {"model": "gpt-4o-mini", "training_file": "${File.train.id}", "suffix": "support-v2"}


def _job_before(**changes: Any) -> dict[str, Any]:
    before = {k: v for k, v in _JOB_AFTER.items() if v is not UNKNOWN}
    before["training_file"] = "file-Train0000000000000001"
    before.update(changes)
    return before


def full_plan() -> Plan:
    """One change of every action (some twice, in their variants), unsorted on purpose: the text
    renderer sorts by address, JSON keeps plan order."""
    changes = (
        Change("FineTuningJob.support_bot", "FineTuningJob", Action.CREATE, reasons=("not in the state",),
               after=dict(_JOB_AFTER), config=_CONFIG, depends_on=("File.train",),
               steps=(Step(Op.CREATE_JOB, "create a supervised job on gpt-4o-mini-2024-07-18",
                           {"address": "FineTuningJob.support_bot"}),)),
        Change("File.train", "File", Action.CREATE, after=dict(_FILE_AFTER),
               config={"path": "data/train.jsonl"},
               steps=(Step(Op.UPLOAD, "upload data/train.jsonl (48213 bytes)", {"path": "data/train.jsonl"}),)),
        Change("File.unchanged", "File", Action.NOOP, before=dict(_FILE_AFTER), after=dict(_FILE_AFTER),
               prior_id="file-Same00000000000000001"),
        Change("FineTuningJob.paused_bot", "FineTuningJob", Action.UPDATE, reasons=("spec status is paused",),
               before=_job_before(), after=_job_before(status="paused"),
               attrs=(AttrChange("status", "running", "paused"),),
               steps=(Step(Op.PAUSE_JOB, "pause ftjob-Paused00000000000000001", {"job_id": "ftjob-Paused00000000000000001"}),),
               prior_id="ftjob-Paused00000000000000001"),
        Change("FineTuningJob.replaced_bot", "FineTuningJob", Action.REPLACE,
               reasons=("changed: suffix, model (a job cannot be updated)", "hyperparameters resolved by the API are kept",
                        "a second note"),
               before=_job_before(suffix="support-v1", model="gpt-4o-mini-2024-07-18"),
               after=_job_before(model="gpt-4.1-mini-2025-04-14"),
               attrs=(AttrChange("model", "gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14", True),
                      AttrChange("suffix", "support-v1", "support-v2", True),
                      AttrChange("metadata.owner", MISSING, "ml-platform"),
                      AttrChange("metadata", {"team": "support"}, {"team": "support", "owner": "ml-platform"})),
               steps=(Step(Op.CANCEL_JOB, "cancel ftjob-Replaced000000000000001 (running)",
                           {"job_id": "ftjob-Replaced000000000000001"}),
                      Step(Op.CREATE_JOB, "create a supervised job on gpt-4.1-mini-2025-04-14")),
               config=_CONFIG, depends_on=("File.train",), prior_id="ftjob-Replaced000000000000001",
               replace=ReplaceMode.DESTROY_THEN_CREATE),
        Change("FineTuningJob.cbd_bot", "FineTuningJob", Action.REPLACE, reasons=("changed: training_file",),
               before=_job_before(), after=dict(_JOB_AFTER),
               attrs=(AttrChange("training_file", "file-Train0000000000000001", UNKNOWN, True),),
               steps=(Step(Op.CREATE_JOB, "create a supervised job on gpt-4o-mini-2024-07-18"),
                      Step(Op.CANCEL_JOB, "cancel ftjob-Cbd00000000000000000001 (queued)",
                           {"job_id": "ftjob-Cbd00000000000000000001"})),
               create_before_destroy=True, prior_id="ftjob-Cbd00000000000000000001",
               replace=ReplaceMode.CREATE_THEN_DESTROY),
        Change("FineTuningJob.finished_bot", "FineTuningJob", Action.REPLACE, reasons=("changed: seed",),
               before=_job_before(seed=1), after=_job_before(seed=2),
               attrs=(AttrChange("seed", 1, 2, True),),
               steps=(Step(Op.FORGET, "ftjob-Done0000000000000000001 has succeeded and keeps existing; it leaves state"),
                      Step(Op.CREATE_JOB, "create a supervised job on gpt-4o-mini-2024-07-18")),
               prior_id="ftjob-Done0000000000000000001", replace=ReplaceMode.FORGET_THEN_CREATE),
        Change("File.old", "File", Action.DELETE, reasons=("not in the specs",), before=dict(_FILE_AFTER),
               steps=(Step(Op.DELETE_FILE, "delete file-Old000000000000000001", {"file_id": "file-Old000000000000000001"}),),
               prior_id="file-Old000000000000000001"),
        Change("FineTuningJob.old_run", "FineTuningJob", Action.DELETE,
               reasons=("not in the specs; ftjob-OldRun000000000000001 is running and will be cancelled",),
               before=_job_before(),
               steps=(Step(Op.CANCEL_JOB, "cancel ftjob-OldRun000000000000001 (running)"),
                      Step(Op.FORGET, "remove from state")),
               prior_id="ftjob-OldRun000000000000001"),
        Change("FineTuningJob.done_run", "FineTuningJob", Action.FORGET,
               reasons=("not in the specs; ftjob-DoneRun00000000000001 has succeeded and cannot be deleted",),
               before=_job_before(),
               steps=(Step(Op.FORGET, "forget ftjob-DoneRun00000000000001 (it keeps existing)"),),
               prior_id="ftjob-DoneRun00000000000001"),
        Change("FineTuningJob.adopted_bot", "FineTuningJob", Action.ADOPT,
               reasons=("made by an interrupted run (metadata reconciler_address matches)",),
               after=_job_before(), steps=(Step(Op.ADOPT, "adopt ftjob-Adopt0000000000000000001"),),
               prior_id=None),
        Change("CheckpointPermission.share_new", "CheckpointPermission", Action.PENDING,
               after={"fine_tuned_model_checkpoint": UNKNOWN, "project_ids": ["proj_a"], "exclusive": False},
               pending="${FineTuningJob.support_bot.fine_tuned_model}: FineTuningJob.support_bot is not created yet",
               depends_on=("FineTuningJob.support_bot",)),
        Change("CheckpointPermission.share", "CheckpointPermission", Action.UPDATE,
               reasons=("project_ids changed",),
               before={"fine_tuned_model_checkpoint": CHECKPOINT, "project_ids": ["proj_a", "proj_old"],
                       "exclusive": False},
               after={"fine_tuned_model_checkpoint": CHECKPOINT, "project_ids": ["proj_a", "proj_b", "proj_c"],
                      "exclusive": True},
               attrs=(AttrChange("exclusive", False, True), AttrChange("grant[proj_b]", None, "proj_b"),
                      AttrChange("grant[proj_c]", None, "proj_c"), AttrChange("grant[proj_old]", "proj_old", None)),
               steps=(Step(Op.GRANT, "grant proj_b, proj_c", {"checkpoint": CHECKPOINT, "project_ids": ["proj_b", "proj_c"]}),
                      Step(Op.REVOKE, "revoke proj_old (not listed and exclusive is true)",
                           {"checkpoint": CHECKPOINT, "permission_id": "cp_Old0000000000000000001"})),
               pending="grants for proj_z wait for the job to finish", prior_id=CHECKPOINT),
        Change("data.FineTuningJobs.all_jobs", "data.FineTuningJobs", Action.READ,
               after={"ids": ["ftjob-Read0000000000000000001"], "count": 1}),
    )
    return Plan(
        lineage=LINEAGE, serial=7, changes=changes,
        drift=(Drift("FineTuningJob.paused_bot", "FineTuningJob", "paused_outside",
                     "paused outside reconciler (running → paused)", "running", "paused"),
               Drift("File.gone", "File", "deleted", "file-Gone000000000000000001 was deleted outside reconciler",
                     "file-Gone000000000000000001", None),
               Drift("CheckpointPermission.share", "CheckpointPermission", "grant_added",
                     "proj_intruder was granted outside reconciler", None, "proj_intruder")),
        health=(Health("FineTuningJob.broken", "FineTuningJob", "failed",
                       "job ftjob-Broken000000000000001 failed: invalid_training_file: line 3: no messages",
                       {"code": "invalid_training_file", "message": "line 3: no messages", "param": "training_file"}),
                Health("FineTuningJob.slow", "FineTuningJob", "timed_out",
                       "running for 2h1m, past cancel_after_timeout (2h)")),
        warnings=("specs/jobs.yaml:12: FineTuningJob.support_bot: spec.hyperparameters: hyperparameters is deprecated",),
        targets=("FineTuningJob.support_bot",), created_at=CREATED_AT,
        observed={"FineTuningJob.paused_bot": {"id": "ftjob-Paused00000000000000001", "status": "paused",
                                               "metadata": {"team": "support"}, "created_at": 1_699_999_000},
                  "File.unchanged": {"id": "file-Same00000000000000001", "bytes": 48213}},
        moves=(("FineTuningJob.old_name", "FineTuningJob.paused_bot"),),
        imports={"FineTuningJob.imported": "ftjob-Import0000000000000001"},
    )


def empty_plan() -> Plan:
    return Plan(lineage=LINEAGE, serial=0, changes=(), created_at=CREATED_AT)


def noop_pending_plan() -> Plan:
    """Nothing to do but a value still unknown: "No changes." plus the pending list."""
    return Plan(lineage=LINEAGE, serial=3, created_at=CREATED_AT, changes=(
        Change("File.train", "File", Action.NOOP, before=dict(_FILE_AFTER), after=dict(_FILE_AFTER),
               prior_id="file-Train0000000000000001"),
        Change("CheckpointPermission.share", "CheckpointPermission", Action.PENDING,
               after={"fine_tuned_model_checkpoint": UNKNOWN, "project_ids": ["proj_a"], "exclusive": False},
               pending="FineTuningJob.support_bot is running (fine_tuned_model is known when it succeeds)"),
    ))


def health_only_plan() -> Plan:
    """No changes, but drift and health to report."""
    return Plan(lineage=LINEAGE, serial=4, created_at=CREATED_AT,
                changes=(Change("FineTuningJob.broken", "FineTuningJob", Action.NOOP, prior_id="ftjob-Broken000000000000001"),),
                drift=(Drift("FineTuningJob.broken", "FineTuningJob", "adopted", "adopted from an interrupted run"),),
                health=(Health("FineTuningJob.broken", "FineTuningJob", "cancelled",
                               "job ftjob-Broken000000000000001 was cancelled"),))


def moves_imports_plan() -> Plan:
    """Only moved blocks and imports: a plan with changes and no actionable change."""
    return Plan(lineage=LINEAGE, serial=5, created_at=CREATED_AT,
                changes=(Change("FineTuningJob.renamed", "FineTuningJob", Action.NOOP, prior_id="ftjob-Renamed0000000000001"),
                         Change("File.imported", "File", Action.NOOP, prior_id="file-Imported00000000000001")),
                moves=(("FineTuningJob.before_rename", "FineTuningJob.renamed"),
                       ("File.a", "File.b")),
                imports={"File.imported": "file-Imported00000000000001"})


def refresh_only_plan() -> Plan:
    return Plan(lineage=LINEAGE, serial=6, created_at=CREATED_AT, refresh_only=True, changes=(),
                drift=(Drift("FineTuningJob.support_bot", "FineTuningJob", "cancelled_outside",
                             "cancelled outside reconciler (running → cancelled)", "running", "cancelled"),
                       Drift("CheckpointPermission.share", "CheckpointPermission", "grant_removed",
                             "proj_b was revoked outside reconciler", "proj_b", None)),
                observed={"FineTuningJob.support_bot": {"id": "ftjob-Support0000000000001", "status": "cancelled"}})


def refresh_only_clean_plan() -> Plan:
    return Plan(lineage=LINEAGE, serial=6, created_at=CREATED_AT, refresh_only=True, changes=())


def destroy_plan() -> Plan:
    return Plan(lineage=LINEAGE, serial=9, created_at=CREATED_AT, destroy=True, refreshed=False, changes=(
        Change("File.train", "File", Action.DELETE, reasons=("destroy",), before=dict(_FILE_AFTER),
               steps=(Step(Op.DELETE_FILE, "delete file-Train0000000000000001"),), prior_id="file-Train0000000000000001"),
        Change("FineTuningJob.support_bot", "FineTuningJob", Action.DELETE,
               reasons=("destroy; ftjob-Support0000000000001 is running and will be cancelled",), before=_job_before(),
               steps=(Step(Op.CANCEL_JOB, "cancel ftjob-Support0000000000001 (running)"),
                      Step(Op.FORGET, "remove from state")), prior_id="ftjob-Support0000000000001"),
        Change("FineTuningJob.done", "FineTuningJob", Action.FORGET, reasons=("destroy; it has succeeded",),
               before=_job_before(), steps=(Step(Op.FORGET, "forget ftjob-Done0000000000000000001"),),
               prior_id="ftjob-Done0000000000000000001"),
        Change("CheckpointPermission.share", "CheckpointPermission", Action.DELETE, reasons=("destroy",),
               before={"fine_tuned_model_checkpoint": CHECKPOINT, "project_ids": ["proj_a"], "exclusive": False},
               steps=(Step(Op.REVOKE, "revoke proj_a", {"checkpoint": CHECKPOINT,
                                                         "permission_id": "cp_A000000000000000000001"}),),
               prior_id=CHECKPOINT),
    ))


PLANS = {
    "full": full_plan,
    "empty": empty_plan,
    "noop-pending": noop_pending_plan,
    "health-only": health_only_plan,
    "moves-imports": moves_imports_plan,
    "refresh-only": refresh_only_plan,
    "refresh-only-clean": refresh_only_clean_plan,
    "destroy": destroy_plan,
}


# ---- drift reports ------------------------------------------------------------------------------

GENERATED_AT = 1_700_003_600.0  # 2023-11-14T23:13:20Z


@dataclass
class _Resource:
    id: str
    kind: str


@dataclass
class _State:
    resources: dict[str, _Resource]
    lineage: str = "5f0c4c8e-2d7a-4f7e-9a51-0c1d2e3f4a5b"


@dataclass
class _Specs:
    documents: dict[str, object]


@dataclass
class _Observed:
    """The two fields build_report reads of plan.observed.Observed."""

    jobs: dict[str, dict[str, Any]] | None
    permissions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def built_report() -> DriftReport:
    """build_report over full_plan(), with unmanaged jobs and grants and ignore rules (one of them
    un-ignored again by a `!` rule)."""
    plan = full_plan()
    specs = _Specs({c.address: object() for c in plan.changes if c.action is not Action.DELETE})
    state = _State({"FineTuningJob.paused_bot": _Resource("ftjob-Paused00000000000000001", "FineTuningJob")})
    observed = _Observed(
        jobs={"ftjob-Stray00000000000000002": {"id": "ftjob-Stray00000000000000002", "status": "running",
                                               "model": "gpt-4o-mini-2024-07-18", "metadata": {"team": "support"}},
              "ftjob-Stray00000000000000001": {"id": "ftjob-Stray00000000000000001", "status": "queued",
                                               "model": "gpt-4.1-2025-04-14",
                                               "metadata": {"reconciler_address": "FineTuningJob.removed"}},
              "ftjob-Finished000000000000001": {"id": "ftjob-Finished000000000000001", "status": "succeeded",
                                                "model": "gpt-4o-mini-2024-07-18", "metadata": None},
              "ftjob-Paused00000000000000001": {"id": "ftjob-Paused00000000000000001", "status": "paused",
                                                "model": "gpt-4o-mini-2024-07-18", "metadata": {}}},
        permissions={CHECKPOINT: [{"id": "cp_Intruder0000000000000001", "project_id": "proj_intruder"},
                                  {"id": "cp_A000000000000000000001", "project_id": "proj_a"}]})
    rules = IgnoreRules((
        IgnoreRule("FineTuningJob.*", "pausing by hand is allowed", attribute="status", file=".reconcilerignore", line=1),
        IgnoreRule("unmanaged.FineTuningJob.*", "the notebook team trains by hand", file=".reconcilerignore", line=4),
        IgnoreRule("!unmanaged.FineTuningJob.ftjob-Stray00000000000000001", "but not this one",
                   file=".reconcilerignore", line=7),
        IgnoreRule("FineTuningJob.replaced_bot", "metadata is managed elsewhere", attribute="metadata*"),
    ))
    report = build_report(plan, observed, specs, state, rules=rules, spec_dir="specs", state_file="state/default.json")
    report.generated_at = GENERATED_AT
    return report


def in_sync_report() -> DriftReport:
    return DriftReport([], 3, generated_at=GENERATED_AT, spec_dir="specs", state_file="state/default.json",
                       addresses=["File.train", "FineTuningJob.support_bot", "CheckpointPermission.share"])


def every_category_report() -> DriftReport:
    """A hand-built report with one finding of each category, markup characters in the messages."""
    categories = [("cancelled_outside", DRIFT), ("paused_outside", DRIFT), ("resumed_outside", DRIFT),
                  ("deleted", DRIFT), ("grant_added", DRIFT), ("grant_removed", DRIFT), ("unmanaged_job", DRIFT),
                  ("unmanaged_grant", DRIFT), ("out_of_sync", DRIFT), ("failed", HEALTH), ("cancelled", HEALTH),
                  ("timed_out", HEALTH), ("pending", HEALTH), ("something_new", DRIFT)]
    findings = [Finding(f"FineTuningJob.job_{i:02d}", "FineTuningJob", axis, category,
                        f"{category} <&> \"quoted\" | piped\nsecond line", "status", "before", "after")
                for i, (category, axis) in enumerate(categories)]
    findings.append(Finding("data.FineTuningJobs.all", "data.FineTuningJobs", DRIFT, "out_of_sync", "read", "*"))
    findings.append(Finding("FineTuningJob.job_00", "FineTuningJob", DRIFT, "paused_outside", "accepted", "status",
                            ignored=True, ignore_reason="by hand", ignore_rule="rule"))
    return DriftReport(findings, len(categories), generated_at=GENERATED_AT, spec_dir="specs",
                       state_file="state/prod.json", selector={"team": "support"},
                       addresses=["File.never_drifted"])


REPORTS = {
    "built": built_report,
    "in-sync": in_sync_report,
    "every-category": every_category_report,
}
