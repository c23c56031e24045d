"""Not built yet: each command here says so and exits 1."""

from __future__ import annotations

import click

from reconciler.cli.context import common_options, not_built


@click.command("validate", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def validate() -> int:
    """Not built yet (issue 3)."""
    return not_built("validate", 3)


@click.command("schema", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def schema() -> int:
    """Not built yet (issue 3)."""
    return not_built("schema", 3)
