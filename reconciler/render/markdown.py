"""Plans as a pull-request comment: the summary first, details collapsed, under GitHub's limit."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.cost.estimate import PlanCost
from reconciler.plan.model import DESTRUCTIVE_OPS, Action, Change, Plan
from reconciler.planner.providers import ProviderReview
from reconciler.render.cost import markdown_lines
from reconciler.render.escape import md_code, md_fence, md_text
from reconciler.render.providers import provider_markdown
from reconciler.render.text import destructive_note, render_change, summary_line, whole_reason

GITHUB_COMMENT_LIMIT = 65536
_ICON = {Action.CREATE: "🟢", Action.UPDATE: "🟡", Action.REPLACE: "🟣", Action.DELETE: "🔴",
         Action.FORGET: "⚪", Action.ADOPT: "🔵", Action.PENDING: "⏳"}


def _serving_ends(changes: list[Change]) -> list[str]:
    """One line per end date the models of the plan's creates reach (not one per row: a plan of
    hundreds of creates must still fit a comment); each change's own line is in the details."""
    by_date: dict[tuple[str, int, str, str], list[str]] = {}
    for c in changes:
        end = c.serving_end
        if end is not None:
            by_date.setdefault((end.date, end.days_left, end.base, end.source), []).append(c.address)
    lines = []
    for (date, left, base, source), addresses in sorted(by_date.items()):
        lines.append(f"\n⏳ {len(addresses)} job(s) to create train models that will stop answering on {date}, "
                     f"{left} day{'' if left == 1 else 's'} from now ({base} shuts down; source: {source}).")
    return lines


def render_plan_markdown(plan: Plan, *, limit: int = GITHUB_COMMENT_LIMIT, title: str = "reconciler plan",
                         cost: PlanCost | None = None, providers: Sequence[ProviderReview] = ()) -> str:
    """`providers`: where the run sends API keys, a table right under the summary (never cut)."""
    head = [f"### {title}", ""]
    changes = [c for c in plan.changes if c.action.is_change() or c.action is Action.PENDING]
    if not plan.has_changes:
        head.append("**No changes.** The fine-tuning objects match the specs.")
    else:
        head.append(f"**{summary_line(plan)}**")
    if plan.drift:
        head.append(f"\n⚠️ {len(plan.drift)} change(s) made outside reconciler since the last apply.")
    held = sum(1 for c in plan.changes if c.elsewhere)
    if held:
        head.append(f"\n❗ {held} object(s) to create already exist in another workspace or folder: each "
                    "create pays again (apply refuses the ones of this very workspace: a lost or replaced state).")
    head += _serving_ends(changes)
    if plan.health:
        head.append(f"\n❗ {len(plan.health)} managed object(s) need attention (failed or cancelled jobs).")
    head += provider_markdown(providers)
    if changes:
        head += ["", "| | address | action | why |", "|---|---|---|---|"]
        for c in sorted(changes, key=lambda c: c.address):
            why = c.pending or whole_reason(c)
            if c.action is Action.PENDING and destructive_note(c):
                why += "; then " + "; ".join(s.detail for s in c.steps if s.op in DESTRUCTIVE_OPS)
            if c.elsewhere:  # not only in the collapsed details: the second payment is in the table
                why += "; " + "; ".join(f"❗ {e.note(c.address)}" for e in c.elsewhere)
            head.append(f"| {_ICON.get(c.action, '')} | {md_code(c.address, table=True)} | {c.action.value} | "
                        f"{md_text(why)} |")
    if cost is not None:
        head += markdown_lines(cost)
    body: list[str] = []
    if plan.drift:
        body += ["", "<details><summary>Changes outside reconciler</summary>", ""]
        body += md_fence(f"{d.address}: {d.message}" for d in plan.drift)
        body += ["</details>"]
    if plan.health:
        body += ["", "<details><summary>Health</summary>", ""]
        body += md_fence(f"{h.address}: {h.message}" for h in plan.health)
        body += ["</details>"]
    if changes:
        body += ["", "<details><summary>Plan details</summary>", ""]
        body += md_fence((line for c in sorted(changes, key=lambda c: c.address) for line in render_change(c) + [""]),
                         "diff")
        body += ["</details>"]
    return _fit("\n".join(head), body, limit)


def _fit(head: str, body: list[str], limit: int) -> str:
    text = head + "\n".join(body) + "\n"
    if len(text) <= limit:
        return text
    note = "\n\n_The full plan is longer than a comment allows; it was truncated. Run `reconciler plan` " \
           "or see the CI artifact for everything._\n"
    budget = limit - len(head) - len(note) - 40
    kept: list[str] = []
    size = 0
    for line in body:
        if size + len(line) + 1 > budget:
            break
        kept.append(line)
        size += len(line) + 1
    fence = _open_fence(kept)
    if fence:
        kept.append(fence)
    if kept.count("</details>") < sum(1 for line in kept if line.startswith("<details>")):
        kept.append("</details>")
    return head + "\n".join(kept) + note


def _open_fence(lines: list[str]) -> str:
    """The fence of a code block `lines` leave open ("" when none is): what closes it."""
    fence = ""
    for line in lines:
        run = len(line) - len(line.lstrip("`"))
        if not fence and run >= 3:
            fence = "`" * run
        elif fence and run >= len(fence) and not line.strip("`"):
            fence = ""
    return fence
