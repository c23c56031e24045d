"""Not built yet: each command here says so and exits 1."""

from __future__ import annotations

import click

from reconciler.cli.context import common_options, not_built


@click.command("state", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def state() -> int:
    """Not built yet (issue 4)."""
    return not_built("state", 4)


@click.command("force-unlock", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def force_unlock() -> int:
    """Not built yet (issue 4)."""
    return not_built("force-unlock", 4)
