"""Not built yet: each command here says so and exits 1."""

from __future__ import annotations

import click

from reconciler.cli.context import common_options, not_built


@click.command("show", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def show() -> int:
    """Not built yet (issue 4)."""
    return not_built("show", 4)


@click.command("output", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def output() -> int:
    """Not built yet (issue 4)."""
    return not_built("output", 4)
