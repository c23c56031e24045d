"""Issue 20: the compact plan through the real CLI against the sandbox: 50 jobs in a few lines,
every destroy still its own entry (pure renderer cases: tests/render/test_compact_plan.py)."""

from __future__ import annotations

from tests.e2e.conftest import chat_jsonl


def _sweep(names, start: int = 0) -> str:
    return "kind: File\nname: train\nspec: {path: data/train.jsonl}\n" + "".join(f"""---
kind: FineTuningJob
name: {name}
spec:
  model: gpt-4o-mini
  training_file: ${{File.train.id}}
  method:
    type: supervised
    supervised:
      hyperparameters: {{n_epochs: {1 + i % 4}, learning_rate_multiplier: {0.5 + i % 3 / 10}}}
""" for i, name in enumerate(names, start=start))


def test_cli_plan_of_50_jobs_is_compact_and_never_hides_a_destroy(world):
    (world.specs / "data").mkdir(parents=True, exist_ok=True)
    (world.specs / "data" / "train.jsonl").write_text(chat_jsonl())
    names = [f"sweep_{i:02d}" for i in range(50)]
    world.write("main.yaml", _sweep(names))
    plan = world.ok("plan").output
    assert "+ 50 × FineTuningJob.sweep_… will be created (model gpt-4o-mini-2024-07-18, method supervised, " \
           "differ in: learning_rate_multiplier, n_epochs)" in plan
    assert "Plan: 51 to add, 0 to change, 0 to destroy." in plan
    assert len(plan.splitlines()) < 60
    full = world.ok("plan", "--no-compact").output
    assert "× FineTuningJob" not in full and full.count("will be created") == 51
    world.ok("apply", "--auto-approve")
    # 3 jobs dropped (active: cancelled), 30 new ones: every cancel keeps its own entry
    world.write("main.yaml", _sweep(names[3:], start=3) + _sweep([f"more_{i:02d}" for i in range(30)]).split("\n", 3)[3])
    plan = world.ok("plan").output
    assert "+ 30 × FineTuningJob.more_… will be created" in plan
    grouped = [line for line in plan.splitlines() if "× FineTuningJob" in line]
    assert len(grouped) == 1, grouped   # no replace, no destroy in a group
    for name in names[:3]:
        assert f"  # FineTuningJob.{name} (ftjob-" in plan and "will be cancelled" in plan
    assert plan.count("will be destroyed") == 3
    assert "Plan: 30 to add, 0 to change, 3 to destroy, 3 jobs to cancel." in plan
    small = world.ok("plan", "--compact", "--target", "FineTuningJob.more_00", "--target", "FineTuningJob.more_01")
    assert "+ 2 × FineTuningJob.more_0… will be created" in small.output
