"""Plans and applies as people read them: Terraform's shape, aligned, coloured on a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from reconciler.cost.estimate import PlanCost
from reconciler.display import fmt
from reconciler.kinds.registry import KINDS
from reconciler.plan.model import DESTRUCTIVE_OPS, Action, Change, Op, Plan
from reconciler.render import compact as grouping
from reconciler.render import cost as cost_lines
from reconciler.resources.canonical import flatten
from reconciler.secrets import neutralize
from reconciler.values import UNKNOWN

Style = Callable[..., str]


def _plain(text: str, **_: Any) -> str:
    return text


_COLOURS = {
    Action.CREATE: "green", Action.UPDATE: "yellow", Action.REPLACE: "magenta", Action.DELETE: "red",
    Action.FORGET: "red", Action.ADOPT: "cyan", Action.PENDING: "blue", Action.READ: "cyan", Action.NOOP: None,
}

_HEADLINE = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in-place",
    Action.REPLACE: "must be replaced",
    Action.DELETE: "will be destroyed",
    Action.FORGET: "will be forgotten (it keeps existing)",
    Action.ADOPT: "will be adopted into state",
    Action.PENDING: "is pending",
}

LEGEND = [
    ("+", "create", Action.CREATE),
    ("~", "update in-place", Action.UPDATE),
    ("-", "destroy (cancel an active job, revoke, delete a file; a finished job is only forgotten, "
          "unless delete_model_on_destroy deletes its model)", Action.DELETE),
    ("-/+", "destroy and then create replacement", Action.REPLACE),
    ("+/-", "create replacement and then destroy", Action.REPLACE),
    ("=", "adopt an object made by an interrupted run", Action.ADOPT),
    ("?", "pending: waits for a value that is not known yet", Action.PENDING),
]


def _symbol(change: Change) -> str:
    if change.action is Action.REPLACE and change.create_before_destroy:
        return "+/-"
    return change.action.symbol


def _aligned(rows: list[tuple[str, str, str]], indent: str, style: Style, colour: str | None) -> list[str]:
    if not rows:
        return []
    width = max(len(key) for _, key, _ in rows)
    return [f"{indent}{style(sym, fg=colour)} {key.ljust(width)} = {value}" for sym, key, value in rows]


def _shows_unknown_id(kind: str) -> bool:
    known = KINDS.get(kind)
    return known.shows_unknown_id if known is not None else True


def render_change(change: Change, style: Style = _plain) -> list[str]:
    colour = _COLOURS.get(change.action)
    ident = f" ({change.prior_id})" if change.prior_id else ""
    headline = _HEADLINE.get(change.action, "")
    why = f" ({neutralize(whole_reason(change))})" if change.reasons and change.action is not Action.CREATE else ""
    taken = destructive_note(change) if change.action in (Action.CREATE, Action.ADOPT) else ""
    lines = [style(f"  # {change.address}{ident} {headline}{why}{taken}", bold=True)]
    sym = _symbol(change)
    lines.append(f"{style(sym.rjust(3), fg=colour, bold=True)} {change.address}{ident}")
    indent = "      "
    if change.action in (Action.CREATE, Action.ADOPT):
        after = dict(change.after or {})
        if change.action is Action.CREATE and _shows_unknown_id(change.kind):
            after = {"id": UNKNOWN, **after}
        lines += _nested(after, indent, style)
        lines += _revoke_lines(change, indent, style)
    elif change.action in (Action.REPLACE, Action.UPDATE, Action.DELETE):
        rows = []
        for attr in change.attrs:
            if attr.path.startswith("grant["):
                continue
            note = "  # forces replacement" if attr.forces_replacement else ""
            rows.append(("~", attr.path, f"{fmt(attr.before)} -> {fmt(attr.after)}{style(note, fg='red')}"))
        lines += _aligned(rows, indent, style, "yellow")
        for step in change.steps:
            if step.op.value == "grant":
                for project in step.args.get("project_ids", []):
                    lines.append(f"{indent}{style('+', fg='green')} grant  {project}")
        lines += _revoke_lines(change, indent, style)
        hidden = _unchanged_count(change)
        if hidden:
            lines.append(f"{indent}  # ({hidden} unchanged attribute{'s' if hidden != 1 else ''} hidden)")
    elif change.action is Action.FORGET:
        pass
    listed = change.action in (Action.CREATE, Action.ADOPT, Action.REPLACE, Action.UPDATE, Action.DELETE)
    if not listed:
        lines += _revoke_lines(change, indent, style)  # no action hides a revoke
    for step in change.steps:
        if step.op in (Op.GRANT, Op.REVOKE):
            continue
        if step.op in DESTRUCTIVE_OPS:  # a cancel or a deletion: a `-` line, red, never an arrow
            lines.append(f"{indent}{style('-', fg='red')} {step.detail}")
            continue
        lines.append(f"{indent}  {style('→', fg=colour)} {step.detail}")
    if change.pending:
        lines.append(f"{indent}  {style('?', fg='blue')} pending: {change.pending}")
    for reason in change.reasons[1:]:
        lines.append(f"{indent}  # {neutralize(reason)}")
    if change.serving_end is not None:  # paying to train a model with a known end: say when
        lines.append(f"{indent}{style('!', fg='yellow', bold=True)} {change.serving_end.message()}")
    for other in change.elsewhere:  # a lost state, or a second workspace: never a silent second payment
        lines.append(f"{indent}{style('!', fg='red', bold=True)} {other.note(change.address)}")
    return lines


def _revoke_lines(change: Change, indent: str, style: Style) -> list[str]:
    """One red `-` line per grant the change revokes, whatever its action: a create with
    `exclusive: true` revokes every grant it does not list, made by hand or not."""
    return [f"{indent}{style('-', fg='red')} revoke {step.detail.replace('revoke ', '', 1)}"
            f" [{step.args.get('permission_id')}]" for step in change.steps if step.op is Op.REVOKE]


_TAKING = ("revoke", "cancel", "delete")


def whole_reason(change: Change) -> str:
    """The change's first reason, and every other reason that takes something away (a revoke, a
    cancel, a delete): `grant 1 project(s); revoke 1 grant(s)`, never the grant alone. A step that
    takes something away and that no reason names is counted at the end."""
    if not change.reasons:
        return ""
    shown = [change.reasons[0], *(r for r in change.reasons[1:] if any(w in r for w in _TAKING))]
    said = any(w in r for r in shown for w in _TAKING)
    if said:
        return "; ".join(shown)
    # a delete's own cancel or delete is the row's action already; what else it takes is named
    steps = [s for s in change.steps if not _own_removal(change, s)]
    return "; ".join(shown) + destructive_note(replace(change, steps=tuple(steps)))


def _own_removal(change: Change, step: Any) -> bool:
    """The step that is a delete's very action: the job it cancels or the file it deletes."""
    return (change.action is Action.DELETE and step.op in (Op.CANCEL_JOB, Op.DELETE_FILE)
            and (not step.args or str(change.prior_id) in {str(v) for v in step.args.values()}))


def destructive_note(change: Change) -> str:
    """`; it also revokes 1 grant` for a create that takes something away (shown in its headline:
    "will be created" alone would hide it)."""
    parts = [_count(sum(1 for s in change.steps if s.op is op), *_NOUNS[op]) for op in DESTRUCTIVE_OPS]
    parts = [p for p in parts if p]
    return f"; it also {' and '.join(parts)}" if parts else ""


_NOUNS = {Op.REVOKE: ("revokes", "grant"), Op.CANCEL_JOB: ("cancels", "job"), Op.DELETE_FILE: ("deletes", "file"),
          Op.DELETE_MODEL: ("deletes", "fine-tuned model"), Op.DELETE_DEPLOYMENT: ("deletes", "deployment")}
_SUMMARY = {Op.REVOKE: ("grant", "to revoke"), Op.CANCEL_JOB: ("job", "to cancel"),
            Op.DELETE_FILE: ("file", "to delete"), Op.DELETE_MODEL: ("fine-tuned model", "to delete"),
            Op.DELETE_DEPLOYMENT: ("deployment", "to delete")}


def _count(n: int, verb: str, noun: str) -> str:
    return f"{verb} {n} {noun}{'s' if n != 1 else ''}" if n else ""


def _nested(value: dict[str, Any], indent: str, style: Style) -> list[str]:
    """A new object, Terraform-style: `+ key = value`, nested blocks indented, keys aligned."""
    lines: list[str] = []
    width = max((len(k) for k in value), default=0)
    plus = style("+", fg="green")
    for key, item in value.items():
        if isinstance(item, dict) and item:
            lines.append(f"{indent}{plus} {key.ljust(width)} = {{")
            lines += _nested(item, indent + "    ", style)
            lines.append(f"{indent}  }}")
        else:
            lines.append(f"{indent}{plus} {key.ljust(width)} = {fmt(item)}")
    return lines


def _unchanged_count(change: Change) -> int:
    if not change.after:
        return 0
    changed = {a.path for a in change.attrs}
    return sum(1 for path, _ in flatten(change.after) if path and path not in changed)


def render_drift(plan: Plan, style: Style = _plain) -> list[str]:
    if not plan.drift:
        return []
    lines = [style("Objects have changed outside of reconciler", bold=True), "",
             "reconciler detected the following changes made outside of reconciler since the last apply:", ""]
    for d in plan.drift:
        lines.append(f"  {style('#', fg='yellow')} {d.address}: {neutralize(d.message)}")
    lines.append("")
    return lines


def render_health(plan: Plan, style: Style = _plain) -> list[str]:
    if not plan.health:
        return []
    lines = [style("Health of managed objects (not drift):", bold=True)]
    for h in plan.health:
        lines.append(f"  {style('!', fg='red', bold=True)} {h.address}: {neutralize(h.message)}")
    lines.append("")
    return lines


def summary_line(plan: Plan) -> str:
    c = plan.counts()
    # Terraform's three resource counts, then every destructive API step the plan makes, wherever
    # it sits (a create that revokes a hand-made grant is not "0 to destroy" and nothing else).
    later = dict.fromkeys(DESTRUCTIVE_OPS, 0)  # held by a pending change: done once it can complete
    for change in plan.changes:
        if change.action is Action.PENDING:
            for step in change.steps:
                if step.op in later:
                    later[step.op] += 1
    taken = "".join(f", {c[op.value]} {noun}{'s' if c[op.value] != 1 else ''} {what}"
                    + (f" ({later[op]} once a pending value is known)" if later[op] else "")
                    for op, (noun, what) in _SUMMARY.items() if c[op.value])
    text = f"Plan: {c['add']} to add, {c['change']} to change, {c['destroy']} to destroy{taken}."
    extras = [f"{c[k]} to {k}" for k in ("forget", "adopt") if c[k]]
    if plan.moves:
        extras.append(f"{len(plan.moves)} to move")
    if plan.imports:
        extras.append(f"{len(plan.imports)} to import")
    if c["pending"]:
        extras.append(f"{c['pending']} pending")
    return text + (f" ({', '.join(extras)})" if extras else "")


def render_plan(plan: Plan, style: Style = _plain, cost: PlanCost | None = None, compact: bool | None = None) -> str:
    return "\n".join(iter_plan_lines(plan, style, cost, compact)) + "\n"


def iter_plan_lines(plan: Plan, style: Style = _plain, cost: PlanCost | None = None,
                    compact: bool | None = None) -> Iterator[str]:
    """The plan as text, one line at a time (without newlines): 10,000 changes are written as
    they are rendered instead of held as one string of every line. `compact` (None: above
    render/compact.COMPACT_THRESHOLD changes) groups identical non-destructive changes."""
    for warning in plan.warnings:  # what refresh had to work around (e.g. a partial listing)
        yield style("Warning: ", fg="yellow", bold=True) + warning
        yield ""
    yield from render_drift(plan, style)
    if plan.refresh_only:
        if not plan.drift:
            yield (style("No changes.", bold=True, fg="green") +
                   " The live objects match the state; applying this plan only records fresh reads.")
        else:
            yield ("This is a refresh-only plan: applying it records these changes in the state "
                   "and changes nothing in the API.")
        return
    yield from render_health(plan, style)
    shown = [c for c in plan.changes if c.action.is_change()]
    pending = [c for c in plan.changes if c.action is Action.PENDING]
    if not shown and not plan.moves and not plan.imports:
        yield style("No changes.", bold=True, fg="green") + " Your fine-tuning objects match the specs."
        if pending:
            yield ""
            yield from _pending_lines(pending, style)
        return
    yield "reconciler used the specs to build the following plan. Actions are shown with these symbols:"
    used = {(_symbol(c)) for c in shown} | ({"?"} if pending else set())
    for sym, text, action in LEGEND:
        if sym in used:
            yield f"  {style(sym.rjust(3), fg=_COLOURS[action])} {text}"
    yield ""
    yield "reconciler will perform the following actions:"
    yield ""
    for old, new in plan.moves:
        yield f"  # {old} has moved to {new}"
        yield ""
    costs = cost.by_address if cost is not None else {}

    if grouping.wants_compact(compact, len(shown)):
        for group in grouping.groups(shown):
            if len(group) > 1:  # never a destructive change: those are groups of one
                yield from grouping.group_lines(group, style, _COLOURS.get(group[0].action))
                yield ""
                continue
            yield from render_change(group[0], style)
            if group[0].address in costs:
                yield cost_lines.change_line(costs[group[0].address], style=style)
            yield ""
        shown = []
    for change in sorted(shown, key=lambda c: c.address):
        yield from render_change(change, style)
        if change.address in costs:  # a job created or replaced: what its training will cost
            yield cost_lines.change_line(costs[change.address], style=style)
        yield ""
    if pending:
        yield from _pending_lines(pending, style)
    yield style(summary_line(plan), bold=True)
    if cost is not None and (cost.jobs or cost.hosting):
        yield cost_lines.total_line(cost)


def _pending_lines(pending: list[Change], style: Style) -> list[str]:
    lines = [style("Pending (completed by a later run, or now with apply --wait):", bold=True)]
    for c in sorted(pending, key=lambda c: c.address):
        lines.append(f"  {style('?', fg='blue')} {c.address}: {c.pending}")
        lines += [f"      {style('-', fg='red')} will {step.detail} [{step.args.get('permission_id') or step.args.get('id')}]"
                  for step in c.steps if step.op in DESTRUCTIVE_OPS]
    lines.append("")
    return lines
