"""reconciler/planner/promise.py, table-driven without a server: which differences between a saved
plan and the one made again at apply break the promise, and which steps touch an object no
managed one is. The same through the real CLI: tests/e2e/test_saved_plan_promise_e2e.py."""

from __future__ import annotations

import dataclasses
import json

import pytest

from reconciler.plan.model import Action, Change, Op, Plan, ReplaceMode, Step
from reconciler.planner.promise import broken_promise, foreign_id
from reconciler.render.json_plan import plan_from_dict, plan_to_dict
from reconciler.state import ResourceState, State
from reconciler.values import UNKNOWN

CONFIG = {"model": "gpt-4o-mini", "training_file": "${File.train.id}", "suffix": "v1"}
AFTER = {"model": "gpt-4o-mini-2024-07-18", "training_file": UNKNOWN, "suffix": "v1", "method": {"type": "supervised"}}
CREATE = Change("FineTuningJob.bot", "FineTuningJob", Action.CREATE, config=CONFIG, after=AFTER,
                steps=(Step(Op.CREATE_JOB, "create a supervised job on gpt-4o-mini-2024-07-18"),))
UPLOAD = Change("File.train", "File", Action.CREATE, config={"path": "data/train.jsonl"},
                after={"path": "data/train.jsonl", "sha256": "ab" * 32},
                steps=(Step(Op.UPLOAD, "upload data/train.jsonl (100 bytes)", {"path": "data/train.jsonl"}),))
GRANT_CONFIG = {"fine_tuned_model_checkpoint": "${FineTuningJob.old.fine_tuned_model}", "project_ids": ["proj_a"]}
PENDING = Change("CheckpointPermission.share", "CheckpointPermission", Action.PENDING, config=GRANT_CONFIG,
                 after={"fine_tuned_model_checkpoint": UNKNOWN, "project_ids": ["proj_a"], "exclusive": False},
                 pending="FineTuningJob.old is running")
GRANTED = dataclasses.replace(
    PENDING, action=Action.CREATE, pending=None,
    after={"fine_tuned_model_checkpoint": "ft:gpt-4o-mini:org::old", "project_ids": ["proj_a"], "exclusive": False},
    steps=(Step(Op.GRANT, "grant proj_a", {"checkpoint": "ft:gpt-4o-mini:org::old", "project_ids": ["proj_a"]}),))
REVOKING = dataclasses.replace(GRANTED, steps=(*GRANTED.steps, Step(
    Op.REVOKE, "revoke proj_x (not listed and exclusive is true)",
    {"checkpoint": "ft:gpt-4o-mini:org::old", "permission_id": "cp_9", "project_id": "proj_x"})))
RUNNING = Change("FineTuningJob.old", "FineTuningJob", Action.NOOP, prior_id="ftjob-old",
                 after={"model": "gpt-4o-mini-2024-07-18", "status": "running"})
SUCCEEDED = dataclasses.replace(RUNNING, after={"model": "gpt-4o-mini-2024-07-18", "status": "succeeded"})
CANCEL = Change("FineTuningJob.old", "FineTuningJob", Action.DELETE, prior_id="ftjob-old",
                steps=(Step(Op.CANCEL_JOB, "cancel ftjob-old (running)", {"id": "ftjob-old"}),))
FORGET = Change("FineTuningJob.old", "FineTuningJob", Action.FORGET, prior_id="ftjob-old",
                steps=(Step(Op.FORGET, "remove from state", {"id": "ftjob-old"}),))


def plan(*changes: Change, moves: tuple[tuple[str, str], ...] = ()) -> Plan:
    return Plan("lineage-1", 3, tuple(changes), moves=moves)


def through_file(p: Plan) -> Plan:
    """The plan as `apply PLANFILE` reads it back."""
    return plan_from_dict(json.loads(json.dumps(plan_to_dict(p), default=str)))


def edited(change: Change, **fields: object) -> Change:
    return dataclasses.replace(change, **fields)  # type: ignore[arg-type]


CASES = [
    # (id, saved, fresh, expected fragment or None when the promise holds)
    ("the same plan", plan(UPLOAD, CREATE), plan(UPLOAD, CREATE), None),
    ("planned in one checkout, applied in another: the upload's local path differs",
     plan(UPLOAD, CREATE),
     plan(edited(UPLOAD, steps=(Step(Op.UPLOAD, "upload", {"path": "/builds/run2/specs/data/train.jsonl"}),)), CREATE),
     None),
    ("another file to upload (the spec's path)", plan(edited(UPLOAD, after={**UPLOAD.after, "path": "data/b.jsonl"})),
     plan(UPLOAD), "the plan's inputs differ"),
    ("a job went on running: no-op both times", plan(RUNNING, CREATE), plan(SUCCEEDED, CREATE), None),
    ("a pending grant can proceed now", plan(RUNNING, PENDING), plan(SUCCEEDED, GRANTED), None),
    ("still pending", plan(PENDING), plan(PENDING), None),
    ("pending, now with a revoke it did not show", plan(PENDING), plan(REVOKING),
     "CheckpointPermission.share: the plan shows it pending; it can proceed now, but would also revoke "
     "(revoke proj_x (not listed and exclusive is true)), which the plan does not show"),
    ("a revoke the fresh plan adds", plan(GRANTED), plan(REVOKING),
     "the plan's steps are grant, the current specs and state make grant, revoke (revoke proj_x"),
    ("another model in the spec", plan(edited(CREATE, config={**CONFIG, "model": "gpt-4o-2024-08-06"})), plan(CREATE),
     'FineTuningJob.bot: the plan\'s spec differs from the current specs and state (model: "gpt-4o-2024-08-06" → '
     '"gpt-4o-mini")'),
    ("other inputs only", plan(edited(CREATE, after={**AFTER, "suffix": "v9"})), plan(CREATE),
     "the plan's inputs differ from the current specs and state (suffix"),
    ("an address twice", plan(CREATE, CREATE, CREATE), plan(CREATE), "FineTuningJob.bot appears 3 times in it"),
    ("a change the specs do not make", plan(CREATE, edited(UPLOAD, address="File.extra")), plan(CREATE),
     "File.extra: the plan would create it (upload), but the current specs and state have no such change"),
    ("a change the plan does not show", plan(CREATE), plan(UPLOAD, CREATE),
     "File.train: the current specs and state also create it, which the plan does not show"),
    ("create became a no-op", plan(CREATE), plan(edited(CREATE, action=Action.NOOP, steps=())),
     "FineTuningJob.bot: the plan says create, the current specs and state say no-op"),
    ("a no-op became a replace", plan(RUNNING), plan(edited(RUNNING, action=Action.REPLACE,
                                                             replace=ReplaceMode.FORGET_THEN_CREATE)),
     "the plan says no-op, the current specs and state say replace (forget then create)"),
    ("a cancel became a forget (the job finished)", plan(CANCEL), plan(FORGET),
     "the plan says delete, the current specs and state say forget"),
    ("another job to cancel", plan(edited(CANCEL, prior_id="ftjob-else")), plan(CANCEL),
     "the plan acts on ftjob-else, the state holds ftjob-old"),
    ("a step on another id", plan(edited(CANCEL, steps=(Step(Op.CANCEL_JOB, "x", {"id": "ftjob-else"}),))),
     plan(CANCEL), 'a step differs from what the current specs and state make ([0].args.id: "ftjob-else" → '
                   '"ftjob-old")'),
    ("another kind at the address", plan(edited(CREATE, kind="File")), plan(CREATE),
     "FineTuningJob.bot: the plan has it as a File, the current specs and state as a FineTuningJob"),
    ("a move the specs do not make", plan(CREATE, moves=(("FineTuningJob.a", "FineTuningJob.bot"),)), plan(CREATE),
     "the plan moves"),
]


@pytest.mark.parametrize(("saved", "fresh", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_promise(saved: Plan, fresh: Plan, expected: str | None) -> None:
    for read_back in (saved, through_file(saved)):  # in memory, and as a saved file holds it
        found = broken_promise(read_back, fresh)
        if expected is None:
            assert found is None
        else:
            assert found is not None and expected in found, found


STATE = State(1, "lineage-1", 3, "0", resources={
    "FineTuningJob.old": ResourceState("FineTuningJob.old", "FineTuningJob", "ftjob-old",
                                       attributes={"fine_tuned_model": "ft:gpt-4o-mini:org::old"}),
    "File.train": ResourceState("File.train", "File", "file-1")})

ID_CASES = [
    ("a managed job's id", plan(CANCEL), plan(CANCEL), None),
    ("the model recorded of a managed job", plan(GRANTED), plan(GRANTED), None),
    ("a hand-made grant read now", plan(REVOKING), plan(REVOKING), None),
    ("another folder's file", plan(Change("File.victim", "File", Action.DELETE, prior_id="file-theirs", steps=(
        Step(Op.DELETE_FILE, "delete file-theirs", {"id": "file-theirs"}),))), plan(),
     ("File.victim", "delete_file", "file-theirs")),
    ("another folder's job under a managed address", plan(edited(CANCEL, steps=(
        Step(Op.CANCEL_JOB, "cancel", {"id": "ftjob-theirs"}),))), plan(CANCEL),
     ("FineTuningJob.old", "cancel_job", "ftjob-theirs")),
    ("a grant read for another address", plan(edited(REVOKING, address="CheckpointPermission.other")),
     plan(REVOKING), ("CheckpointPermission.other", "revoke", "cp_9")),
]


@pytest.mark.parametrize(("saved", "fresh", "expected"), [c[1:] for c in ID_CASES], ids=[c[0] for c in ID_CASES])
def test_foreign_id(saved: Plan, fresh: Plan, expected: tuple[str, str, str] | None) -> None:
    assert foreign_id(through_file(saved), STATE, fresh) == expected
