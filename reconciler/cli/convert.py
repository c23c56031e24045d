"""Not built yet: each command here says so and exits 1."""

from __future__ import annotations

import click

from reconciler.cli.context import common_options, not_built


@click.command("convert", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def convert() -> int:
    """Not built yet (issue 7)."""
    return not_built("convert", 7)
