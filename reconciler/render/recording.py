"""Text of `reconciler record` / `compare`: the estimate before sending, and the comparison report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["compare_text", "render_estimates"]

Style = Callable[..., str]
BAR = "█"


def _plain(text: str, **_: Any) -> str:
    return text


def _clip(text: Any, width: int = 100) -> str:
    flat = " ".join(str(text or "").split())
    flat = "".join(ch for ch in flat if ch.isprintable())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def render_estimates(rows: Sequence[dict[str, Any]], style: Style = _plain) -> str:
    lines = []
    for r in rows:
        cost = r.get("cost")
        money = (f"at most ${cost['usd_max']:,.4f}" if cost and cost.get("usd_max") is not None
                 else f"cost unknown: {cost['reason']}" if cost else "cost unknown")
        if r.get("grading"):
            if not r["prompts"]:
                lines.append(f"  {style(r['address'], bold=True)}: nothing to grade ({r['model']}: every answer "
                             "graded)")
                continue
            bound = r["completion_tokens_max"]
            lines.append(f"  {style(r['address'], bold=True)}: {r['prompts']:,} answer(s) to grade with {r['model']} "
                         f"(graders/run) — at most {r['prompt_tokens']:,} prompt tokens + "
                         + (f"at most {bound:,} completion tokens" if bound is not None
                            else "completion tokens without a bound") + f"; {money}")
            continue
        if not r["prompts"]:
            lines.append(f"  {style(r['address'], bold=True)}: nothing to send ({r['model']}: every prompt answered)")
            continue
        lines.append(f"  {style(r['address'], bold=True)}: {r['prompts']:,} prompt(s) to {r['model']} — "
                     f"{r['prompt_tokens']:,} prompt tokens + at most {r['completion_tokens_max']:,} completion "
                     f"tokens; {money}")
    return "\n".join(lines) + "\n"


def compare_text(reports: Sequence[dict[str, Any]], style: Style = _plain) -> str:
    out: list[str] = []
    for r in reports:
        s = r["summary"]
        verdict = style("PASS", fg="green", bold=True) if s["passed"] else style("FAIL", fg="red", bold=True)
        out.append(f"{style(str(r['address']), bold=True)}: {r['candidate']} against the recording of {r['recorded']}")
        g = r["grader"]
        out.append(f"  grader {g['type']} ({g.get('evaluation_metric') or g.get('operation') or g.get('model')})"
                   f", {s['count']} prompt(s)" + (f", {r['unscored']} unscored" if r["unscored"] else ""))
        grading = r.get("grading")
        if grading:
            b = grading["billed"]
            money = (f"${b['cost']['usd']:,.4f}" if b["cost"].get("usd") is not None
                     else f"cost unknown: {b['cost']['reason']}")
            out.append(f"  grader tokens billed: {b['prompt_tokens']:,} prompt + {b['completion_tokens']:,} completion "
                       f"({b['requests']:,} call(s) to {b['model']}); {money}")
        for e in r.get("grader_errors") or []:
            out.append(f"  {style('not scored', fg='red')} #{e['index'] + 1}: {_clip(e['error'], 160)}")
        if s["count"]:
            out.append(f"  mean {s['mean']:.3f}  min {s['min']:.3f}  p10 {s['p10']:.3f}  median {s['median']:.3f}  "
                       f"max {s['max']:.3f}   threshold {s['threshold']:.3f}  {verdict}")
            peak = max(s["histogram"]) or 1
            for i, n in enumerate(s["histogram"]):
                if n:
                    out.append(f"    {i / 10:.1f}–{(i + 1) / 10:.1f}  {BAR * max(1, round(20 * n / peak))} {n}")
        else:
            out.append(f"  no prompt answered by both  {verdict}")
        if r["worst"] and not (s["count"] and s["min"] == 1.0):
            out.append("  lowest scores:")
            for w in r["worst"]:
                out.append(f"    #{w['index'] + 1}  {w['score']:.3f}  prompt:   {_clip(w['prompt'])}")
                out.append(f"              recorded: {_clip(w['recorded'])}")
                out.append(f"              answer:   {_clip(w['answer'])}")
        out.append("")
    return "\n".join(out)
