"""A plan row tells the whole change: every revoke, cancel and delete is named beside the first
reason, in the text headline and the Markdown table alike."""

from __future__ import annotations

import pytest

from reconciler.plan.model import Action, Change, Op, Plan, Step
from reconciler.render.markdown import render_plan_markdown
from reconciler.render.text import whole_reason

GRANT = Step(Op.GRANT, "grant proj_b", {"checkpoint": "cp", "project_ids": ["proj_b"]})
REVOKE = Step(Op.REVOKE, "revoke proj_a (no longer listed)", {"checkpoint": "cp", "permission_id": "cp_1",
                                                              "project_id": "proj_a"})
CANCEL = Step(Op.CANCEL_JOB, "cancel", {"id": "ftjob-1"})


@pytest.mark.parametrize(("action", "reasons", "steps", "expected"), [
    (Action.UPDATE, ("grant 1 project(s)", "revoke 1 grant(s)"), (GRANT, REVOKE), "grant 1 project(s); revoke 1 grant(s)"),
    (Action.UPDATE, ("grant 1 project(s)",), (GRANT,), "grant 1 project(s)"),
    (Action.UPDATE, ("project_ids changed",), (GRANT, REVOKE), "project_ids changed; it also revokes 1 grant"),
    (Action.REPLACE, ("changed: suffix",), (CANCEL,), "changed: suffix; it also cancels 1 job"),
    (Action.UPDATE, ("suffix changed", "metadata changed"), (), "suffix changed"),
    (Action.UPDATE, (), (REVOKE,), ""),
    (Action.DELETE, ("not in any spec",), (CANCEL,), "not in any spec"),  # the cancel is the delete itself
    (Action.DELETE, ("destroy",), (REVOKE,), "destroy; it also revokes 1 grant"),
])
def test_whole_reason(action, reasons, steps, expected):
    change = Change("CheckpointPermission.share", "CheckpointPermission", action, reasons=reasons, steps=steps,
                    prior_id="ftjob-1")
    assert whole_reason(change) == expected


def test_markdown_row_names_the_revoke():
    change = Change("CheckpointPermission.share", "CheckpointPermission", Action.UPDATE,
                    reasons=("grant 1 project(s)", "revoke 1 grant(s)"), steps=(GRANT, REVOKE))
    text = render_plan_markdown(Plan(lineage="l", serial=1, changes=(change,)))
    row = next(line for line in text.splitlines() if line.startswith("| ") and "share" in line)
    assert "grant 1 project(s); revoke 1 grant(s)" in row, text
