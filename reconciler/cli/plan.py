"""Not built yet: each command here says so and exits 1."""

from __future__ import annotations

import click

from reconciler.cli.context import common_options, not_built


@click.command("plan", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def plan() -> int:
    """Not built yet (issue 4)."""
    return not_built("plan", 4)
