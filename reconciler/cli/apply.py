"""Not built yet: each command here says so and exits 1."""

from __future__ import annotations

import click

from reconciler.cli.context import common_options, not_built


@click.command("apply", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def apply() -> int:
    """Not built yet (issue 5)."""
    return not_built("apply", 5)


@click.command("destroy", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def destroy() -> int:
    """Not built yet (issue 5)."""
    return not_built("destroy", 5)
