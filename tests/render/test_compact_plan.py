"""Issue 20: the compact plan. Identical non-destructive changes are grouped into one line; a
destroy, replace, forget, revoke, cancel or delete always keeps its own entry with its reason; the
summary line is the one of the full plan."""

from __future__ import annotations

import pytest

from reconciler.plan.model import Action, AttrChange, Change, Op, Plan, ReplaceMode, Step
from reconciler.render.compact import COMPACT_THRESHOLD, groups, wants_compact
from reconciler.render.text import render_plan, summary_line


def job(name: str, action: Action = Action.CREATE, *, epochs: int = 3, lr: float = 0.5,
        model: str = "gpt-4.1-mini", steps: tuple[Step, ...] = (), reasons: tuple[str, ...] = (),
        **extra) -> Change:
    after = {"model": model, "method": {"type": "supervised",
                                        "hyperparameters": {"n_epochs": epochs, "learning_rate_multiplier": lr}}}
    return Change(f"FineTuningJob.{name}", "FineTuningJob", action, reasons=reasons,
                  after=None if action is Action.DELETE else after, steps=steps, **extra)


def plan_of(*changes: Change) -> Plan:
    return Plan(lineage="l", serial=1, changes=changes)


CANCEL = (Step(Op.CANCEL_JOB, "cancel ftjob-1", {"job_id": "ftjob-1"}),)
REVOKE = (Step(Op.REVOKE, "revoke proj_x on ft:m", {"checkpoint": "ft:m", "permission_id": "cp_1"}),)


@pytest.mark.parametrize("changes, expected", [
    # identical shape: one group, whatever the values
    ([job("s1", epochs=1), job("s2", epochs=2), job("s3", lr=0.1)], [["s1", "s2", "s3"]]),
    # a destroy, a replace and a create that revokes are never grouped, even when alike
    ([job("d1", Action.DELETE, steps=CANCEL), job("d2", Action.DELETE, steps=CANCEL)], [["d1"], ["d2"]]),
    ([job("r1", Action.REPLACE, replace=ReplaceMode.DESTROY_THEN_CREATE),
      job("r2", Action.REPLACE, replace=ReplaceMode.DESTROY_THEN_CREATE)], [["r1"], ["r2"]]),
    ([job("c1", steps=REVOKE), job("c2", steps=REVOKE), job("c3")], [["c1"], ["c2"], ["c3"]]),
    ([job("f1", Action.FORGET), job("f2", Action.FORGET)], [["f1"], ["f2"]]),
    # a different shape (another attribute set) or action is another group
    ([job("a"), Change("FineTuningJob.b", "FineTuningJob", Action.CREATE, after={"model": "m", "suffix": "x"}),
      job("c")], [["a", "c"], ["b"]]),
])
def test_groups(changes, expected):
    assert [[c.address.split(".", 1)[1] for c in g] for g in groups(changes)] == expected


@pytest.mark.parametrize("flag, n, expected", [
    (None, COMPACT_THRESHOLD, False), (None, COMPACT_THRESHOLD + 1, True), (True, 2, True), (False, 500, False),
])
def test_wants_compact(flag, n, expected):
    assert wants_compact(flag, n) is expected


def test_compact_text_groups_creates_and_keeps_every_destructive_change_with_its_reason():
    creates = [job(f"sweep_{i:02d}", epochs=1 + i % 4, lr=0.5 + i % 3 / 10) for i in range(48)]
    destroys = [job(f"old_{i}", Action.DELETE, steps=(Step(Op.CANCEL_JOB, f"cancel ftjob-{i}", {"id": f"ftjob-{i}"}),),
                    reasons=("not in any spec",), prior_id=f"ftjob-{i}")
                for i in range(3)]
    replace = job("bot", Action.REPLACE, replace=ReplaceMode.DESTROY_THEN_CREATE, prior_id="ftjob-9",
                  reasons=("changed: suffix (a job cannot be updated)",),
                  attrs=(AttrChange("suffix", "a", "b", forces_replacement=True),))
    plan = plan_of(*creates, *destroys, replace)
    full, compact = render_plan(plan, compact=False), render_plan(plan)
    assert len(compact.splitlines()) < len(full.splitlines()) / 5
    line = next(x for x in compact.splitlines() if "×" in x)
    assert line == ("  + 48 × FineTuningJob.sweep_… will be created (model gpt-4.1-mini, method supervised, "
                    "differ in: learning_rate_multiplier, n_epochs)")
    for i in range(3):
        assert f"  # FineTuningJob.old_{i} (ftjob-{i}) will be destroyed (not in any spec)" in compact
    assert "  # FineTuningJob.bot (ftjob-9) must be replaced (changed: suffix (a job cannot be updated))" in compact
    assert "FineTuningJob.sweep_{00, 01, 02," in compact and "47}" in compact
    assert compact.strip().splitlines()[-1] == full.strip().splitlines()[-1] == summary_line(plan)


def test_identical_creates_say_so():
    text = render_plan(plan_of(job("a"), job("b")), compact=True)
    assert "+ 2 × FineTuningJob.… will be created (model gpt-4.1-mini, method supervised, identical)" in text


def test_instances_of_one_document_list_their_keys_whole():
    """A matrix's instance keys share a start ("lr=0.5,epochs=…"): the group is cut at the `[`, never
    inside a key, and the keys are listed as written (found trying the sweep example)."""
    keys = [f"lr={lr},epochs={e}" for lr in (0.5, 1.0) for e in (1, 2, 3)]
    changes = [job(f'sweep["{k}"]', epochs=int(k[-1]), lr=float(k[3:6])) for k in keys]
    text = render_plan(plan_of(*changes), compact=True)
    head = next(x for x in text.splitlines() if "×" in x)
    assert head.startswith("  + 6 × FineTuningJob.sweep[…] will be created ("), head
    listed = text.split(head, 1)[1]
    assert 'FineTuningJob.sweep["lr=0.5,epochs=1", "lr=0.5,epochs=2",' in listed, listed
    assert '"lr=1.0,epochs=3"]' in listed and "{" not in listed.split("Plan:")[0], listed
