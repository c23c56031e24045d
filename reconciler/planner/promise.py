"""A saved plan is a promise: at `apply PLANFILE` the plan is made again from the current specs
and state, and the saved one applies only when every decision it holds is one the fresh plan
makes too. Pure functions over two Plans and a State; the CLI says which file and what to do.

What is compared, change by change (same address): the action and how a replace happens, the
object it acts on (`prior_id`), the spec as written (`config`), the inputs it sends (`after`), and
its API steps (operation and arguments, ids included). The text around them (reasons, details,
`before`, the live objects read) may differ: a job that went on training between plan and apply
changes those and nothing the plan decided. Two differences are legitimate:

- a value the saved plan showed as `(known after apply)` is known now (the file upload, the model
  of a job that finished): any value matches it;
- a change the saved plan showed as pending (a grant waiting for its model) may now proceed,
  with steps that give (grant, adopt), never with one that takes something away (revoke, cancel,
  delete) the plan did not show.

Everything else is a broken promise, named in one line: a change the current specs and state do
not produce (edited in, or stale), a decision that differs, an address twice, a change the fresh
plan needs that the saved one does not show, or an id no managed object holds
(docs/adr/0201-saved-plan-promise.md).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from reconciler.plan.model import DESTRUCTIVE_OPS, Action, Change, Op, Plan, Step
from reconciler.resources.canonical import MISSING
from reconciler.state import State
from reconciler.values import UNKNOWN

__all__ = ["ID_ARGS", "broken_promise", "foreign_id"]

# The step arguments that name an existing API object (a project id is a grant's target, not one).
ID_ARGS = ("id", "checkpoint", "permission_id")
_LATER = "(known after apply)"
_PENDING_MAY_BECOME = (Action.PENDING, Action.CREATE, Action.UPDATE, Action.ADOPT)


def _plain(value: Any) -> Any:
    """`value` as the plan file holds it (tuples as lists, one spelling for unknown values), so a
    change read back from a file and one made in memory compare equal when they say the same."""
    if value is UNKNOWN:
        return _LATER
    if value is MISSING:
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float)):  # bool is an int
        return value
    return str(value)  # as the plan file writes it (json.dumps with default=str)


def _first_difference(promised: Any, now: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """(path, promised, now) of the first place they differ; a promised unknown matches anything."""
    if promised == _LATER:
        return None
    if isinstance(promised, dict) and isinstance(now, dict):
        for key in sorted(set(promised) | set(now)):
            found = _first_difference(promised.get(key), now.get(key), f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if isinstance(promised, list) and isinstance(now, list) and len(promised) == len(now):
        for i, (a, b) in enumerate(zip(promised, now, strict=True)):
            found = _first_difference(a, b, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    return None if promised == now else (path or "(all)", promised, now)


def _decided(step: Step) -> dict[str, Any]:
    """A step's arguments that are decisions. An upload's `path` is where the checkout lies on this
    machine (a CI runner plans in one folder and applies in another); what it uploads is decided
    by `after` (the spec's relative path and the file's sha256), compared on its own."""
    args = _plain(step.args)
    if step.op is Op.UPLOAD:
        args.pop("path", None)
    return args  # type: ignore[no-any-return]


def _steps(change: Change) -> list[Any]:
    return [{"op": s.op.value, "args": _decided(s)} for s in change.steps]


def _ops(change: Change) -> str:
    return ", ".join(s.op.value for s in change.steps) or "no step"


def _describe(path: str, promised: Any, now: Any) -> str:
    return f"{path}: {json.dumps(promised, default=str)} → {json.dumps(now, default=str)}"


def _compare(saved: Change, fresh: Change) -> str | None:
    """Why `fresh` is not the change `saved` promised (None: it is)."""
    a = saved.address
    compared: tuple[tuple[str, Any, Any], ...]
    if saved.kind != fresh.kind:
        return f"{a}: the plan has it as a {saved.kind}, the current specs and state as a {fresh.kind}"
    if saved.action is Action.PENDING and fresh.action in _PENDING_MAY_BECOME:
        taken = [s for s in fresh.steps if s.op in DESTRUCTIVE_OPS]
        if taken and not any(s.op is t.op and _plain(s.args) == _plain(t.args) for t in taken for s in saved.steps):
            return (f"{a}: the plan shows it pending; it can proceed now, but would also {taken[0].op.value} "
                    f"({taken[0].detail}), which the plan does not show")
        compared = (("config", saved.config, fresh.config), ("after", saved.after, fresh.after))
    else:
        if saved.action is not fresh.action or saved.replace is not fresh.replace:
            how = f" ({fresh.replace.value.replace('_', ' ')})" if fresh.replace is not None else ""
            return f"{a}: the plan says {saved.action.value}, the current specs and state say {fresh.action.value}{how}"
        if not saved.action.is_change():
            return None  # a no-op or a read in both: nothing was decided
        if saved.prior_id != fresh.prior_id:
            return f"{a}: the plan acts on {saved.prior_id}, the state holds {fresh.prior_id}"
        if saved.create_before_destroy != fresh.create_before_destroy:
            return f"{a}: the plan replaces it in another order than the current specs say"
        compared = (("config", saved.config, fresh.config), ("after", saved.after, fresh.after),
                    ("steps", saved.steps, fresh.steps))
    for name, promised, now in compared:
        if name == "steps":
            p, n = _steps(saved), _steps(fresh)
            if len(p) != len(n) or [s["op"] for s in p] != [s["op"] for s in n]:
                extra = next((s.detail for i, s in enumerate(fresh.steps)
                              if i >= len(saved.steps) or s.op is not saved.steps[i].op), "")
                return (f"{a}: the plan's steps are {_ops(saved)}, the current specs and state make {_ops(fresh)}"
                        + (f" ({extra})" if extra else ""))
            found = _first_difference(p, n)
            if found is not None:
                return f"{a}: a step differs from what the current specs and state make ({_describe(*found)})"
            continue
        found = _first_difference(_plain(promised), _plain(now))
        if found is not None:
            what = "spec differs" if name == "config" else "inputs differ"
            return f"{a}: the plan's {what} from the current specs and state ({_describe(*found)})"
    return None


def broken_promise(saved: Plan, fresh: Plan) -> str | None:
    """The first way `saved` is not what `fresh` (the same options, the current specs and state)
    decides, in one sentence; None when every decision holds."""
    counts = Counter(c.address for c in saved.changes)
    twice = [a for a, n in counts.items() if n > 1]
    if twice:
        return f"{twice[0]} appears {counts[twice[0]]} times in it (a plan holds one change per address)"
    now = {c.address: c for c in fresh.changes}
    for change in saved.changes:
        current = now.get(change.address)
        if current is None:
            if change.action.is_change() or change.action is Action.PENDING:
                return (f"{change.address}: the plan would {change.action.value} it ({_ops(change)}), but the "
                        "current specs and state have no such change")
            continue
        why = _compare(change, current)
        if why is not None:
            return why
    shown = set(counts)
    for change in fresh.changes:
        if change.address not in shown and (change.action.is_change() or change.action is Action.PENDING):
            return (f"{change.address}: the current specs and state also {change.action.value} it, which the plan "
                    "does not show")
    if tuple(saved.moves) != tuple(fresh.moves):
        return f"the plan moves {list(saved.moves)}, the current specs and state {list(fresh.moves)}"
    if dict(saved.imports) != dict(fresh.imports):
        return f"the plan imports {saved.imports}, the current specs and state {fresh.imports}"
    return None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _step_ids(changes: Iterable[Change]) -> Iterator[tuple[Change, str, str]]:
    for change in changes:
        for step in change.steps:
            for key in ID_ARGS:
                value = step.args.get(key)
                if isinstance(value, str):
                    yield change, step.op.value, value


def foreign_id(saved: Plan, state: State, fresh: Plan) -> tuple[str, str, str] | None:
    """(address, op, id) of the first step of `saved` that touches an object neither the state
    holds (a managed object's id, or an id in what was recorded of it: its model, checkpoints,
    grants) nor the fresh plan reads for that address (a hand-made grant an exclusive permission
    revokes, an interrupted run's object to adopt). A step never names an object the same apply
    creates: those ids are resolved from `config` as the apply runs. None when all are known."""
    known: set[str] = set()
    for resource in state.resources.values():
        if resource.id:
            known.add(resource.id)
        known.update(_strings(resource.attributes))
    read: dict[str, set[str]] = {}
    for change, _op, value in _step_ids(fresh.changes):
        read.setdefault(change.address, set()).add(value)
    for address, live in fresh.observed.items():
        read.setdefault(address, set()).update(_strings(live))
    for change, op, value in _step_ids(saved.changes):
        if value not in known and value not in read.get(change.address, ()):
            return change.address, op, value
    return None
