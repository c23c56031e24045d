"""`reconciler workspace list | new | select | delete | show`: one state per workspace, in either
backend (local: state/NAME.json; pg: rows keyed by NAME). The selected workspace is remembered in
state/.workspace; -w NAME or RECONCILER_WORKSPACE choose one for a single command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from reconciler.cli.context import AppContext, app, common_options, out
from reconciler.errors import ConfigError, StateError

WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_NOT_STATES = (".backup", ".journal", ".lock", ".drift.json")


def _check_name(name: str) -> str:
    if not WORKSPACE_NAME.match(name):
        raise ConfigError(f"{name!r} is not a workspace name (letters, digits, _, . and -; at most 64)")
    return name


def _store(ctx: AppContext, name: str) -> Any:
    from reconciler.cli.backend import open_store

    previous = ctx.workspace
    ctx.workspace = name
    try:
        return open_store(ctx)
    finally:
        ctx.workspace = previous


def _names(ctx: AppContext) -> list[str]:
    store = _store(ctx, ctx.workspace_name)
    if getattr(store, "backend", "local") == "pg":
        names: list[str] = store.workspaces()
        return names
    folder = ctx.state_dir
    found = {"default"}
    if folder.is_dir():
        for path in folder.glob("*.json"):
            if not path.name.endswith(_NOT_STATES) and not path.name.startswith(("sandbox-world", ".")):
                found.add(path.name[: -len(".json")])
    return sorted(found)


def lineages(ctx: AppContext) -> dict[str, str]:
    """The lineage mark (resources/ownership.py) of every workspace's state -> its name. A state
    that cannot be read is left out: it names no workspace."""
    from reconciler.errors import ReconcilerError
    from reconciler.resources.ownership import mark

    found: dict[str, str] = {}
    for name in _names(ctx):
        try:
            store = _store(ctx, name)
            if store.exists():
                found[mark(store.load().lineage)] = name
        except (ReconcilerError, OSError):
            continue
    return found


def _select(ctx: AppContext, name: str) -> None:
    from reconciler.state.files import atomic_write, ensure_dir

    ensure_dir(ctx.state_dir)
    atomic_write(ctx.state_dir / ".workspace", (name + "\n").encode())


@click.group("workspace")
@common_options
def workspace() -> None:
    """Workspaces: one state each (list, new, select, delete, show)."""


@workspace.command("show")
@common_options
def show() -> int:
    """Print the current workspace."""
    out().echo(app().workspace_name)
    return 0


@workspace.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable: names and the current one.")
@common_options
def list_(as_json: bool) -> int:
    """List workspaces; the current one is marked with *."""
    ctx, o = app(), out()
    names, current = _names(ctx), ctx.workspace_name
    if as_json:
        o.json({"current": current, "workspaces": names})
        return 0
    for name in sorted(set(names) | {current}):
        o.echo(f"{'*' if name == current else ' '} {name}")
    return 0


@workspace.command("new")
@click.argument("name")
@common_options
def new(name: str) -> int:
    """Create a workspace (an empty state) and select it."""
    ctx, o = app(), out()
    _check_name(name)
    if name in _names(ctx):
        raise StateError(f"workspace {name!r} already exists; select it with: reconciler workspace select {name}")
    store = _store(ctx, name)
    if getattr(store, "backend", "local") == "pg":
        store.create_workspace(name)
    else:
        with store.lock("workspace-new"):
            store.write(store.load())
    _select(ctx, name)
    o.echo(f"Created and selected workspace {name!r}.")
    return 0


@workspace.command("select")
@click.argument("name")
@common_options
def select(name: str) -> int:
    """Make NAME the current workspace of this state folder."""
    ctx, o = app(), out()
    _check_name(name)
    names = _names(ctx)
    if name not in names:
        raise StateError(f"no workspace {name!r} (there are: {', '.join(names)}); "
                         f"create it with: reconciler workspace new {name}")
    _select(ctx, name)
    o.echo(f"Switched to workspace {name!r}.")
    return 0


@workspace.command("delete")
@click.argument("name")
@click.option("--force", is_flag=True, help="Delete even though its state still manages objects (they "
              "are not destroyed: reconciler forgets them).")
@common_options
def delete(name: str, force: bool) -> int:
    """Delete a workspace's state (refused while it manages objects, unless --force)."""
    ctx, o = app(), out()
    _check_name(name)
    if name == "default":
        raise StateError("the default workspace cannot be deleted")
    if name == ctx.workspace_name:
        raise StateError(f"workspace {name!r} is the current one; select another first "
                         f"(reconciler workspace select default)")
    if name not in _names(ctx):
        raise StateError(f"no workspace {name!r}")
    store = _store(ctx, name)
    with store.lock("workspace-delete"):
        state = store.load()
        if state.resources and not force:
            raise StateError(f"workspace {name!r} still manages {len(state.resources)} object(s); destroy them "
                             f"first (reconciler destroy -w {name}) or delete with --force to forget them")
        if getattr(store, "backend", "local") == "pg":
            store.delete_workspace()
        else:
            for suffix in ("", ".backup", ".journal", ".drift.json"):
                Path(str(store.path) + suffix).unlink(missing_ok=True)
    o.echo(f"Deleted workspace {name!r}" + (f" (forgot {len(state.resources)} object(s))." if state.resources else "."))
    return 0
