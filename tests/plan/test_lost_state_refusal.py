"""reconciler/planner/elsewhere.py, table-driven without a server: which creates are refused (a job of
this workspace and folder, made under another lineage, holds the address) and what the one line
says; and reconciler/planner/folders.py: which plans from another spec folder are refused."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.kinds import registry
from reconciler.plan.model import Action, Change, Elsewhere, Op, Plan, Step
from reconciler.planner.elsewhere import collision_refusal, held_here, name_lineages
from reconciler.planner.folders import folder_refusal
from reconciler.state.model import Owner

LINEAGE = "1a2b3c4d-0000-4000-8000-000000000000"
FILES = (("training_file", "file-9"),)
OTHER = Elsewhere(LINEAGE, "ftjob-1", "running", FILES)                      # a lineage-only mark
PROD = Elsewhere(LINEAGE, "ftjob-1", "running", FILES, name="prod", folder="specs")
STAGING = Elsewhere(LINEAGE, "ftjob-1", "running", FILES, name="staging", folder="specs")
TEAM_A = Elsewhere(LINEAGE, "ftjob-1", "running", FILES, name="prod", folder="teams/a")
CLONE = Elsewhere(LINEAGE, "ftjob-1", "running", FILES, name="prod", folder="github.com/acme/ml//specs")
OTHER_REPO = Elsewhere(LINEAGE, "ftjob-1", "running", FILES, name="prod", folder="github.com/acme/web//specs")
ME = Owner("prod", "specs")
CONFIG = {"training_file": "${File.train.id}"}


def _job(name: str, action: Action = Action.CREATE, elsewhere: tuple[Elsewhere, ...] = (PROD,)) -> Change:
    return Change(f"FineTuningJob.{name}", "FineTuningJob", action, config=CONFIG, elsewhere=elsewhere)


CASES = [
    # (id, changes, fresh, destroy, refused, expected fragments)
    ("lost state of this workspace, one job", [_job("bot")], True, False, True,
     ["state/prod.json is new, but workspace prod already has 1 job at this address "
      "(FineTuningJob.bot: ftjob-1; made under lineage 1a2b3c4d)", "`reconciler import File.train file-9`; "
      "`reconciler import FineTuningJob.bot ftjob-1`", "state/prod.json.backup", "--allow-other-workspaces"]),
    ("a pushed state of another lineage: refused too", [_job("bot")], False, False, True,
     ["state/prod.json (lineage new) does not manage them, but workspace prod already has 1 job",
      "a state pushed, migrated or restored over the one that made them?", "--allow-other-workspaces"]),
    ("three jobs", [_job("a"), _job("b"), _job("c")], True, False, True,
     ["3 jobs at these addresses", "FineTuningJob.a: ftjob-1, FineTuningJob.b: ftjob-1", "and likewise for each"]),
    ("seven jobs: five named", [_job(str(i)) for i in range(7)], True, False, True, [", and 2 more;"]),
    ("a sibling workspace of the folder", [_job("bot", elsewhere=(STAGING,))], True, False, False, []),
    ("a sibling workspace, state not new", [_job("bot", elsewhere=(STAGING,))], False, False, False, []),
    ("another folder reusing the address", [_job("bot", elsewhere=(TEAM_A,))], True, False, False, []),
    # this run's folder knows no remote: a folder of the same path in any repository may be its own
    ("a repository's folder of the same path", [_job("bot", elsewhere=(OTHER_REPO,))], True, False, True, []),
    ("a clone that knows its remote, one that does not", [_job("bot", elsewhere=(CLONE,))], True, False, True,
     ["workspace prod already has 1 job"]),
    ("sibling first, then this workspace's", [_job("bot", elsewhere=(STAGING, PROD))], False, False, True,
     ["1 job at this address"]),
    ("lineage-only mark, new state (as before)", [_job("bot", elsewhere=(OTHER,))], True, False, True,
     ["state/prod.json is new, but workspace 1a2b3c4d already has 1 job"]),
    ("lineage-only mark, state not new: shown only", [_job("bot", elsewhere=(OTHER,))], False, False, False, []),
    ("nothing held elsewhere", [_job("bot", elsewhere=())], True, False, False, []),
    ("an adoption is not a create", [_job("bot", Action.ADOPT)], True, False, False, []),
    ("destroy", [_job("bot")], True, True, False, []),
    ("a file held elsewhere is not refused", [Change("File.train", "File", Action.CREATE, elsewhere=(PROD,))],
     True, False, False, []),
]


@pytest.mark.parametrize(("changes", "fresh", "destroy", "refused", "fragments"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_collision_refusal(changes, fresh, destroy, refused, fragments):
    plan = Plan(lineage="new", serial=0, changes=tuple(changes), destroy=destroy)
    line = collision_refusal(plan, kinds=registry, owner=ME, fresh=fresh, where="state/prod.json")
    assert (line is not None) == refused, line
    for fragment in fragments:
        assert fragment in (line or ""), line
    assert line is None or "\n" not in line


def test_folders_of_the_same_path_in_two_repositories_are_two_folders():
    plan = Plan("new", 0, (_job("bot", elsewhere=(OTHER_REPO,)),))
    mine = Owner("prod", "github.com/acme/ml//specs")
    assert collision_refusal(plan, kinds=registry, owner=mine, fresh=True, where="state/prod.json") is None
    plan = Plan("new", 0, (_job("bot", elsewhere=(CLONE,)),))
    assert collision_refusal(plan, kinds=registry, owner=mine, fresh=True, where="state/prod.json") is not None


def test_a_pg_state_is_not_told_to_restore_a_backup_file():
    line = collision_refusal(Plan("new", 0, (_job("bot"),)), kinds=registry, owner=ME, fresh=True, where="pg:reconciler/prod")
    assert line is not None and ".backup" not in line and "the pg history" in line


@pytest.mark.parametrize(("known", "fresh", "held"), [
    ({LINEAGE: "staging"}, True, False),   # the lineage of the staging state beside this one
    ({LINEAGE: "prod"}, True, True),       # this workspace's own lineage (a restored copy?)
    ({}, True, True),                      # nobody's: perhaps this workspace's lost state
    ({}, False, False),
])
def test_a_lineage_only_mark_is_named_by_the_workspace_states(known, fresh, held):
    assert held_here(OTHER, ME, fresh=fresh, workspace_of=known.get) is held


def _taking(*ops: Op, action: Action = Action.DELETE) -> Plan:
    return Plan("l", 1, (Change("File.train", "File", action, steps=tuple(Step(op) for op in ops)),))


@pytest.mark.parametrize(("plan", "recorded", "current", "refused"), [
    (_taking(Op.DELETE_FILE), "specs", "examples/supervised", True),
    (_taking(Op.FORGET, action=Action.FORGET), "specs", "examples/supervised", True),
    (_taking(Op.REVOKE, action=Action.UPDATE), "specs", "examples/supervised", True),
    (_taking(Op.UPLOAD, action=Action.CREATE), "specs", "examples/supervised", False),
    (_taking(Op.DELETE_FILE), "specs", "specs", False),
    (_taking(Op.DELETE_FILE), None, "specs", False),                       # a state written before
    (_taking(Op.DELETE_FILE), "github.com/acme/ml//specs", "specs", False),  # a clone without a remote
    (_taking(Op.DELETE_FILE), "github.com/acme/ml//specs", "github.com/acme/web//specs", True),
])
def test_folder_refusal(plan, recorded, current, refused):
    line = folder_refusal(plan, recorded=recorded, current=current, where="state/default.json")
    assert (line is not None) == refused, line
    if line is not None:
        assert "\n" not in line and "--allow-other-folder" in line
        assert f"spec folder {recorded.rpartition('//')[2]}" in line


def test_the_folder_refusal_names_both_folders_and_what_it_takes():
    line = folder_refusal(_taking(Op.DELETE_FILE, Op.REVOKE, Op.REVOKE), recorded="specs",
                          current="github.com/acme/ml//examples/supervised", where="state/default.json")
    assert line == ("state/default.json belongs to spec folder specs, but this plan is made from "
                    "examples/supervised (github.com/acme/ml) and would destroy 1 and revoke 2 grants of its "
                    "objects: give this folder a workspace of its own (-w NAME), or, to move the state to "
                    "examples/supervised (github.com/acme/ml) on purpose, run with --allow-other-folder")


def _listed(job_id: str, address: str, **marks: str) -> dict[str, object]:
    return {"id": job_id, "status": "running", "created_at": 1, "training_file": "file-9",
            "metadata": {"reconciler_address": address, **marks}}


def test_which_live_jobs_a_create_shows_as_held_elsewhere() -> None:
    """kinds/job/plan.py other_workspaces: another lineage's live jobs at the address, with the
    workspace and folder their marks name; never ours, a spent one, or one the state manages."""
    from reconciler.kinds.job.plan import other_workspaces
    from reconciler.plan.snapshot import Snapshot
    from reconciler.plan.walk import Walk, WorkingState
    from reconciler.state import ResourceState

    ours = "5f0c4c8e-2d7a-4f7e-9a51-0c1d2e3f4a5b"
    jobs = {j["id"]: j for j in (
        _listed("ftjob-staging", "FineTuningJob.bot", reconciler_lineage=LINEAGE,
                reconciler_workspace="staging:specs"),
        _listed("ftjob-old", "FineTuningJob.bot", reconciler_lineage=LINEAGE),
        _listed("ftjob-ours", "FineTuningJob.bot", reconciler_lineage=ours),
        {**_listed("ftjob-failed", "FineTuningJob.bot", reconciler_lineage=LINEAGE), "status": "failed"},
        # imported into this state (at another address, after `state mv`): managed, never elsewhere
        _listed("ftjob-imported", "FineTuningJob.bot", reconciler_lineage=LINEAGE,
                reconciler_workspace="prod:specs"),
    )}
    state = WorkingState(ours, 3, {"FineTuningJob.renamed": ResourceState(
        "FineTuningJob.renamed", "FineTuningJob", id="ftjob-imported")})
    walk = Walk(state, Snapshot.of(jobs=jobs), now=0.0)
    found = other_workspaces(walk, "FineTuningJob.bot")
    assert [(e.id, e.name, e.folder) for e in found] == [("ftjob-old", None, None),
                                                        ("ftjob-staging", "staging", "specs")]
    assert found[1].note("FineTuningJob.bot") == ("FineTuningJob.bot also exists in workspace staging of folder "
                                                   "specs as ftjob-staging: this creates a second paid job")
    assert found[0].who == LINEAGE[:8]


def test_a_lineage_only_mark_is_named_in_the_plan_when_a_state_has_its_lineage() -> None:
    asked: list[str] = []

    def workspace_of(lineage: str) -> str | None:
        asked.append(lineage)
        return {LINEAGE: "staging"}.get(lineage)

    unknown = Elsewhere("0" * 36, "ftjob-2", "running")
    plan = Plan("new", 0, (_job("bot", elsewhere=(OTHER, PROD, unknown)), _job("other", elsewhere=())))
    named = name_lineages(plan, workspace_of)
    assert [(e.name, e.folder) for e in named.changes[0].elsewhere] == [("staging", None), ("prod", "specs"),
                                                                        (None, None)]
    assert named.changes[0].elsewhere[0].note("FineTuningJob.bot").startswith(
        "FineTuningJob.bot also exists in workspace staging as ftjob-1")
    assert collision_refusal(Plan("new", 0, (_job("bot", elsewhere=named.changes[0].elsewhere[:1]),)),
                             kinds=registry, owner=ME, fresh=True, where="state/prod.json") is None   # staging's: goes on
    # a name found for this very workspace (another state file named prod): refused, folder unknown
    assert held_here(dataclasses.replace(OTHER, name="prod"), ME, fresh=False)
    asked.clear()
    assert name_lineages(Plan("new", 0, (_job("bot", elsewhere=(PROD,)),)), workspace_of).changes[0].elsewhere == (PROD,)
    assert asked == []                                   # no state read when every job names its workspace


def test_a_saved_plan_keeps_the_names_and_the_json_schema_allows_them() -> None:
    """`plan --out` then `apply FILE`: the refusal decides on the saved plan's names and folders."""
    import json
    from pathlib import Path

    import jsonschema

    from reconciler.render.json_plan import plan_from_dict, plan_to_dict

    plan = Plan("new", 0, (_job("bot", elsewhere=(PROD, STAGING, OTHER)),))
    data = json.loads(json.dumps(plan_to_dict(plan)))
    schema = json.loads((Path(__file__).resolve().parents[2] / "reconciler" / "render" / "schema"
                         / "plan.schema.json").read_text())
    jsonschema.validate(data, schema)
    back = plan_from_dict(data)
    assert back.changes[0].elsewhere == (PROD, STAGING, OTHER)
    assert collision_refusal(back, kinds=registry, owner=ME, fresh=False, where="state/prod.json") is not None


@pytest.mark.parametrize(("serial", "managed", "full"), [
    (0, False, True),    # a new state: every job is listed, the creates' holders must be seen
    (0, True, True),     # a hand-made state, never written, that manages something: the same
    (4, True, True),     # written before: unmarked jobs of an older reconciler must be seen too
])
def test_many_creates_list_every_job_so_a_holder_is_never_missed(tmp_path, serial, managed, full) -> None:
    """planner/listing.py: more creates than are looked up by address one by one (10) list every job,
    whatever the state, so a create another lineage of this workspace holds is always seen."""
    from reconciler.loading import load_specs
    from reconciler.plan.walk import WorkingState
    from reconciler.planner.listing import MAX_ADDRESS_LISTINGS, job_scope
    from reconciler.state import ResourceState

    (tmp_path / "jobs.yaml").write_text("---\n".join(
        f"kind: FineTuningJob\nname: j{i}\nspec: {{model: gpt-4o-mini, training_file: file-1}}\n"
        for i in range(MAX_ADDRESS_LISTINGS + 1)))
    resources = {"File.x": ResourceState("File.x", "File", id="file-x")} if managed else {}
    scope = job_scope(load_specs(tmp_path, {}), WorkingState("l", serial, resources), registry)
    assert scope.complete is full, scope.reason
