"""reconciler/plan/elsewhere.py, table-driven without a server: which plans a new state refuses
(a job to create that another workspace's live job holds) and what the one line says."""

from __future__ import annotations

import pytest

from reconciler.plan.elsewhere import lost_state_refusal
from reconciler.plan.model import Action, Change, Elsewhere, Plan

OTHER = Elsewhere("1a2b3c4d-0000-4000-8000-000000000000", "ftjob-1", "running", (("training_file", "file-9"),))
CONFIG = {"training_file": "${File.train.id}"}


def _job(name: str, action: Action = Action.CREATE, elsewhere: tuple[Elsewhere, ...] = (OTHER,)) -> Change:
    return Change(f"FineTuningJob.{name}", "FineTuningJob", action, config=CONFIG, elsewhere=elsewhere)


CASES = [
    # (id, changes, fresh, destroy, refused, expected fragments)
    ("lost state, one job", [_job("bot")], True, False, True,
     ["state/default.json is new, but 1 job with this address belongs to workspace 1a2b3c4d "
      "(FineTuningJob.bot: ftjob-1)", "`reconciler import File.train file-9`; "
      "`reconciler import FineTuningJob.bot ftjob-1`", "state/default.json.backup", "--allow-other-workspaces"]),
    ("lost state, three jobs", [_job("a"), _job("b"), _job("c")], True, False, True,
     ["3 jobs with these addresses belong", "FineTuningJob.a: ftjob-1, FineTuningJob.b: ftjob-1",
      "and likewise for each"]),
    ("seven jobs: five named", [_job(str(i)) for i in range(7)], True, False, True, [", and 2 more)"]),
    ("a state that manages objects: annotation only", [_job("bot")], False, False, False, []),
    ("nothing held elsewhere", [_job("bot", elsewhere=())], True, False, False, []),
    ("an adoption is not a create", [_job("bot", Action.ADOPT)], True, False, False, []),
    ("destroy", [_job("bot")], True, True, False, []),
    ("a file held elsewhere is not refused", [Change("File.train", "File", Action.CREATE, elsewhere=(OTHER,))],
     True, False, False, []),
]


@pytest.mark.parametrize(("changes", "fresh", "destroy", "refused", "fragments"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lost_state_refusal(changes, fresh, destroy, refused, fragments):
    plan = Plan(lineage="new", serial=0, changes=tuple(changes), destroy=destroy)
    line = lost_state_refusal(plan, fresh=fresh, where="state/default.json")
    assert (line is not None) == refused, line
    for fragment in fragments:
        assert fragment in (line or ""), line
    assert line is None or "\n" not in line


def test_a_pg_state_is_not_told_to_restore_a_backup_file():
    line = lost_state_refusal(Plan("new", 0, (_job("bot"),)), fresh=True, where="pg:reconciler/default")
    assert line is not None and ".backup" not in line and "the pg history" in line
