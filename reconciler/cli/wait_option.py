"""`--wait` takes an optional value: `--wait` alone means grants, `--wait=jobs` / `--wait=grants` or
`--wait jobs` / `--wait grants` choose, and any other word after a bare `--wait` is not its value
(`apply --wait plan.json` applies plan.json). Click would take that word as the value and refuse it,
so commands with such an option parse through `WaitCommand`, which spells a bare `--wait` out first."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["WAIT_VALUES", "WaitCommand", "spell_wait"]

WAIT_VALUES = ("grants", "jobs")


def spell_wait(args: list[str], default: str = "grants") -> list[str]:
    """`args` with every bare `--wait` not followed by one of WAIT_VALUES written `--wait=<default>`
    (up to a `--`, after which everything is an argument)."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        if arg == "--wait" and (i + 1 >= len(args) or args[i + 1] not in WAIT_VALUES):
            out.append(f"--wait={default}")
        else:
            out.append(arg)
    return out


class WaitCommand(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        result: Any = super().parse_args(ctx, spell_wait(list(args)))
        return list(result)
