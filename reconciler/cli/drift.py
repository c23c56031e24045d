"""Not built yet: each command here says so and exits 1."""

from __future__ import annotations

import click

from reconciler.cli.context import common_options, not_built


@click.command("drift", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def drift() -> int:
    """Not built yet (issue 6)."""
    return not_built("drift", 6)


@click.command("sync", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def sync() -> int:
    """Not built yet (issue 6)."""
    return not_built("sync", 6)
