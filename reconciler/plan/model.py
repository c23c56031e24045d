"""The plan's types, and nothing else: no rendering, no API.

A Plan is a frozen value: the changes to make (one Change per address), what changed outside
reconciler since the last run (Drift), the health of managed objects (failed or cancelled jobs,
which are not drift), and the state lineage/serial it was made against.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from reconciler.resources.ownership import folder_name


class Action(str, enum.Enum):
    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"          # in place: pause/resume, grant/revoke
    REPLACE = "replace"        # destroy then create (or create then destroy)
    DELETE = "delete"          # cancel an active job, revoke grants, delete a file
    FORGET = "forget"          # a finished job leaves state and keeps existing
    ADOPT = "adopt"            # an object made by an interrupted run is taken into state
    PENDING = "pending"        # waits on something not known yet (a model still training)
    READ = "read"              # a data source

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]

    def is_change(self) -> bool:
        return self not in (Action.NOOP, Action.READ, Action.PENDING)


_SYMBOLS = {
    Action.NOOP: " ", Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "-/+",
    Action.DELETE: "-", Action.FORGET: "-", Action.ADOPT: "=", Action.PENDING: "?", Action.READ: "<=",
}


class ReplaceMode(str, enum.Enum):
    """How a REPLACE happens, as Terraform distinguishes its replace variants. Decisions (what
    the executor counts, the symbol a plan shows) read this, never the reasons' text."""

    DESTROY_THEN_CREATE = "destroy_then_create"   # -/+ cancel (revoke, delete) the old, then create
    CREATE_THEN_DESTROY = "create_then_destroy"   # +/- create_before_destroy
    FORGET_THEN_CREATE = "forget_then_create"     # -/+ the old job finished: it keeps existing
    CREATE_THEN_FORGET = "create_then_forget"     # +/- likewise, new one first

    @property
    def create_first(self) -> bool:
        return self in (ReplaceMode.CREATE_THEN_DESTROY, ReplaceMode.CREATE_THEN_FORGET)

    @property
    def forgets(self) -> bool:
        """The old object is not destroyed (a finished job cannot be): it only leaves state."""
        return self in (ReplaceMode.FORGET_THEN_CREATE, ReplaceMode.CREATE_THEN_FORGET)

    @classmethod
    def of(cls, *, create_first: bool, forget: bool) -> ReplaceMode:
        if forget:
            return cls.CREATE_THEN_FORGET if create_first else cls.FORGET_THEN_CREATE
        return cls.CREATE_THEN_DESTROY if create_first else cls.DESTROY_THEN_CREATE


class Op(str, enum.Enum):
    """One API step of a change, in the order the executor runs them."""

    UPLOAD = "upload"
    DELETE_FILE = "delete_file"
    CREATE_JOB = "create_job"
    CANCEL_JOB = "cancel_job"
    DELETE_MODEL = "delete_model"   # a job's fine-tuned model (lifecycle.delete_model_on_destroy)
    PAUSE_JOB = "pause_job"
    RESUME_JOB = "resume_job"
    GRANT = "grant"
    REVOKE = "revoke"
    FORGET = "forget"
    ADOPT = "adopt"
    DEPLOY = "deploy"                        # create or update an Azure deployment (ARM PUT)
    DELETE_DEPLOYMENT = "delete_deployment"  # an Azure deployment (ARM DELETE)


# Steps that take something away in the API: every one is shown as a `-` line in a plan and counted
# in its summary, whatever the action of the change that holds it.
DESTRUCTIVE_OPS = (Op.REVOKE, Op.CANCEL_JOB, Op.DELETE_FILE, Op.DELETE_MODEL, Op.DELETE_DEPLOYMENT)


@dataclass(frozen=True, slots=True)
class AttrChange:
    path: str
    before: Any
    after: Any
    forces_replacement: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    op: Op
    detail: str = ""
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """A live object of another workspace (another lineage's mark) that holds the address a change
    creates: after a lost state this is the object the create would pay for a second time."""

    workspace: str     # the other lineage's mark
    id: str
    status: str | None = None
    files: tuple[tuple[str, str], ...] = ()   # (training_file | validation_file, file id) it trains on
    name: str | None = None     # the workspace's name and spec folder its mark says (None: a mark
    folder: str | None = None   # of the lineage only, made by an older reconciler)

    @property
    def who(self) -> str:
        """The workspace as a message names it: `staging`, `default of folder teams/a` (a
        folder as `ownership.folder_name` shows it), or the lineage's first
        characters for a job marked by an older reconciler."""
        if self.name is None:
            return self.workspace[:8]
        return self.name if self.folder is None else f"{self.name} of folder {folder_name(self.folder)}"

    def note(self, address: str, kind_noun: str = "job") -> str:
        return (f"{address} also exists in workspace {self.who} as {self.id}: "
                f"this creates a second paid {kind_noun}")


@dataclass(frozen=True, slots=True)
class ServingEnd:
    """When the model a create (or replace) trains will stop answering: its base's serving end
    (reconciler/lifecycle/), counted from the plan's "now" (the API's clock)."""

    base: str
    date: str          # YYYY-MM-DD
    days_left: int
    source: str        # where the date comes from (a URL, an override, the API's shutdown_date)

    def message(self) -> str:
        days = f"{self.days_left} day{'' if self.days_left == 1 else 's'} from now"
        return (f"the fine-tuned model will stop answering on {self.date}, {days} "
                f"({self.base} shuts down; source: {self.source})")


@dataclass(frozen=True, slots=True)
class Change:
    address: str
    kind: str
    action: Action
    reasons: tuple[str, ...] = ()
    before: dict[str, Any] | None = None      # recorded inputs/attributes (None when new)
    after: dict[str, Any] | None = None       # desired inputs (may hold UNKNOWN)
    attrs: tuple[AttrChange, ...] = ()        # what differs, for display
    steps: tuple[Step, ...] = ()              # what the executor does, in order
    config: dict[str, Any] | None = None      # the spec as written (references unresolved)
    depends_on: tuple[str, ...] = ()
    create_before_destroy: bool = False
    pending: str | None = None                # why it waits (PENDING, or part of an UPDATE)
    prior_id: str | None = None               # the id in state before this change
    replace: ReplaceMode | None = None        # set exactly when action is REPLACE
    elsewhere: tuple[Elsewhere, ...] = ()     # a create: live objects of another workspace at this address
    serving_end: ServingEnd | None = None     # a create: when the model it trains will stop answering

    @property
    def name(self) -> str:
        return self.address.split(".", 1)[1] if not self.address.startswith("data.") \
            else self.address.split(".", 2)[2]


@dataclass(frozen=True, slots=True)
class Drift:
    address: str
    kind: str
    what: str              # status_changed, deleted, grant_added, grant_removed, adopted_candidate, ...
    message: str
    before: Any = None
    after: Any = None


@dataclass(frozen=True, slots=True)
class Health:
    address: str
    kind: str
    status: str            # failed, cancelled, timed_out, pending
    message: str
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Plan:
    lineage: str
    serial: int
    changes: tuple[Change, ...]
    drift: tuple[Drift, ...] = ()
    health: tuple[Health, ...] = ()
    warnings: tuple[str, ...] = ()
    refresh_only: bool = False
    destroy: bool = False
    targets: tuple[str, ...] = ()
    created_at: float = 0.0
    refreshed: bool = True
    # Live attributes read during refresh, by address: the executor writes them into state.
    observed: dict[str, dict[str, Any]] = field(default_factory=dict)
    moves: tuple[tuple[str, str], ...] = ()          # moved blocks applied (old, new)
    imports: dict[str, str] = field(default_factory=dict)  # import blocks adopted: address -> id

    @property
    def actionable(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action.is_change())

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable) or bool(self.moves) or bool(self.imports) or (
            self.refresh_only and bool(self.drift))

    def counts(self) -> dict[str, int]:
        """Terraform's resource counts (add, change, destroy; a replace is one add and one destroy)
        plus the destructive API steps by op, wherever they sit: a grant revoked by a create
        (`exclusive: true` over a hand-made grant) or by an update is counted as surely as one
        revoked by a destroy. `revoke`, `cancel_job`, `delete_file` and `delete_model` are step counts, not
        resource counts: a destroyed job that is still running adds 1 to destroy and 1 to
        cancel_job."""
        add = change = destroy = forget = adopt = pending = 0
        steps = dict.fromkeys(DESTRUCTIVE_OPS, 0)
        for c in self.changes:
            for step in c.steps:
                if step.op in steps:
                    steps[step.op] += 1
            if c.action is Action.CREATE:
                add += 1
            elif c.action is Action.REPLACE:
                add += 1
                if c.replace is not None and c.replace.forgets:
                    forget += 1  # the old job finished: it keeps existing, only leaves state
                else:
                    destroy += 1
            elif c.action is Action.UPDATE:
                change += 1
            elif c.action is Action.DELETE:
                destroy += 1
            elif c.action is Action.FORGET:
                forget += 1
            elif c.action is Action.ADOPT:
                adopt += 1
            if c.pending:
                pending += 1
        return {"add": add, "change": change, "destroy": destroy, "forget": forget,
                "adopt": adopt, "pending": pending, **{op.value: n for op, n in steps.items()}}

    def change_for(self, address: str) -> Change | None:
        for c in self.changes:
            if c.address == address:
                return c
        return None
