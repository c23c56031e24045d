"""Not built yet: each command here says so and exits 1."""

from __future__ import annotations

import click

from reconciler.cli.context import common_options, not_built


@click.command("sandbox", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@common_options
def sandbox() -> int:
    """Not built yet (issue 2)."""
    return not_built("sandbox", 2)
