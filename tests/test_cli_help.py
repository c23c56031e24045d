"""Issue 20: every command's --help shows an example, and every option says what it does. Walks
the whole click command tree (lazy groups included)."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from reconciler.cli import cli


def _commands(group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, click.Context(command, parent=ctx, info_name=name), (*path, name))


COMMANDS = list(_commands(cli, click.Context(cli, info_name="reconciler")))


def test_the_tree_was_walked():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"plan", "apply", "destroy", "validate", "drift", "sync"} <= names, names


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_has_an_example_and_every_option_a_description(path, command):
    result = CliRunner().invoke(cli, [*path, "--help"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    undescribed = [p.opts[0] for p in command.params
                   if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()]
    assert not undescribed, f"reconciler {' '.join(path)}: options without help: {undescribed}"
    if not isinstance(command, click.Group):
        assert re.search(r"^ *Examples?:\n +(\S+=\S+ )?reconciler ", result.output, re.M), \
            f"reconciler {' '.join(path)} --help has no example"


def test_destroy_says_the_same_in_both_helps_and_replaces_nothing():
    """`reconciler --help` and `destroy --help` describe what destroy does in the same words, and
    destroy has no --replace (it replaces nothing)."""
    top = CliRunner().invoke(cli, ["--help"], env={"NO_COLOR": "1", "COLUMNS": "200"}).output
    own = CliRunner().invoke(cli, ["destroy", "--help"], env={"NO_COLOR": "1", "COLUMNS": "200"}).output
    said = "Cancel active managed jobs, revoke managed grants, delete uploaded files; forget finished jobs."
    assert said in " ".join(top.split()), top
    assert said in " ".join(own.split()), own
    assert "forgets everything" not in top and "forget everything" not in top
    assert "--replace" not in own, own
