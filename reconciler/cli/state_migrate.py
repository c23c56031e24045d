"""`reconciler state migrate --to pg|local`, `state push FILE`, `state history`: moving a state
between backends and versions. Attached to the `state` group by reconciler/cli/state.py.

migrate copies every workspace's state with its lineage and serial, and its previous versions
(local: the .backup; pg: the history table), refusing a target that holds another lineage or a
newer serial; it then records the new backend in state/.backend so that commands whose Settings
still name the old one are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from reconciler.bounded import MAX_STATE_BYTES, RefusedFile, read_regular
from reconciler.cli.context import AppContext, app, common_options, out
from reconciler.errors import ConfigError, StateError

__all__ = ["attach"]


def _local(ctx: AppContext, workspace: str) -> Any:
    from reconciler.state import StateStore

    previous = ctx.workspace
    ctx.workspace = workspace
    try:
        return StateStore(ctx.state_file)
    finally:
        ctx.workspace = previous


def _pg(ctx: AppContext, schema: str, workspace: str, where: str) -> Any:
    from reconciler.cli.backend import conninfo
    from reconciler.state.pg import PgStateStore

    return PgStateStore(conninfo(ctx, where), schema, workspace)


def _local_workspaces(ctx: AppContext) -> list[str]:
    from reconciler.cli.workspace import _NOT_STATES

    folder = ctx.state_dir
    names = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if not path.name.endswith(_NOT_STATES) and not path.name.startswith(("sandbox-world", ".")):
            names.append(path.name[: -len(".json")])
    return names


def _versions_local(store: Any) -> list[Any]:
    """The previous version (.backup) when it belongs to the same state, then the current one."""
    current = store.load()
    versions = []
    if store.backup_path.exists():
        try:
            backup = store.load_backup()
        except StateError:
            backup = None
        if backup is not None and backup.lineage == current.lineage and backup.serial < current.serial:
            versions.append(backup)
    return [*versions, current]


def _write_local_exact(store: Any, versions: list[Any]) -> None:
    """Write the versions as they are (serials kept): the newest as the state, the one before as
    its .backup."""
    from reconciler.state.files import atomic_write, ensure_dir

    ensure_dir(store.path.parent)
    if len(versions) > 1:
        atomic_write(store.backup_path, versions[-2].iter_json())
    atomic_write(store.path, versions[-1].iter_json())


def _check_target(target_state: Any, exists: bool, source: Any, where: str) -> bool:
    """True when the target already holds exactly this version (nothing to copy)."""
    if not exists:
        return False
    if target_state.lineage != source.lineage:
        raise StateError(f"{where} already holds another state (lineage {target_state.lineage}, the source's is "
                         f"{source.lineage}); nothing was migrated (delete that workspace first if it is not needed)")
    if target_state.serial > source.serial:
        raise StateError(f"{where} holds a newer version (serial {target_state.serial}) than the source "
                         f"({source.serial}); nothing was migrated")
    return bool(target_state.serial == source.serial)


def migrate(ctx: AppContext, to: str) -> list[tuple[str, int, int]]:
    """Copy every workspace; returns (workspace, serial, versions copied) per workspace."""
    from reconciler.cli.backend import record_backend, settings

    chosen = settings(ctx)
    schema = chosen.backend.schema
    where = chosen.where("spec.backend.type")
    copied: list[tuple[str, int, int]] = []
    if to == "pg":
        workspaces = _local_workspaces(ctx)
        for name in workspaces:
            source, target = _local(ctx, name), _pg(ctx, schema, name, where)
            with source.lock("state-migrate"), target.lock("state-migrate"):
                versions = _versions_local(source)
                current = versions[-1]
                if _check_target(target.load(), target.exists(), current, str(target.path)):
                    copied.append((name, current.serial, 0))
                    continue
                if name != "default":
                    target.create_workspace(name)
                for version in versions:
                    target.write(version, keep_serial=True)
                copied.append((name, current.serial, len(versions)))
        record_backend(ctx, "pg", schema)
    else:
        probe = _pg(ctx, schema, "default", where)
        for name in probe.workspaces():
            source, target = _pg(ctx, schema, name, where), _local(ctx, name)
            if not source.exists():
                continue
            with source.lock("state-migrate"), target.lock("state-migrate"):
                current = source.load()
                if _check_target(target.load(), target.exists(), current, str(target.path)):
                    copied.append((name, current.serial, 0))
                    continue
                history = [s for s in source.history_states() if s.lineage == current.lineage
                           and s.serial < current.serial]
                _write_local_exact(target, [*history[-1:], current])
                copied.append((name, current.serial, 1 + len(history[-1:])))
        record_backend(ctx, "local", None)
    return copied


def attach(group: click.Group, show_serial_store: Any = None) -> None:
    @group.command("migrate")
    @click.option("--to", "to", type=click.Choice(["pg", "local"]), required=True,
                  help="The backend to copy the state into (pg: the schema named in Settings).")
    @common_options
    def migrate_cmd(to: str) -> int:
        """Copy every workspace's state, lineage and previous versions to another backend."""
        ctx, o = app(), out()
        from reconciler.cli.backend import settings

        chosen = settings(ctx)
        if chosen.backend.type != to:
            raise ConfigError(f"{chosen.where('spec.backend.type')}: Settings selects the {chosen.backend.type} "
                              f"backend; set spec.backend.type: {to} in the Settings document first, then migrate")
        results = migrate(ctx, to)
        for name, serial, versions in results:
            what = "already there" if not versions else f"{versions} version(s) copied"
            o.echo(f"  {name:<20} serial {serial:<6} {what}")
        o.echo(f"Migrated {len(results)} workspace(s) to the {to} backend.")
        return 0

    @group.command("push")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="Write even if the lineage differs or the serial is older.")
    @common_options
    def push(file: Path, force: bool) -> int:
        """Replace the current workspace's state with FILE (a state as `state pull` prints it)."""
        from reconciler.cli.backend import open_store
        from reconciler.state import State

        ctx, o = app(), out()
        try:
            pushed = State.from_json(read_regular(file, MAX_STATE_BYTES), where=str(file))
        except OSError as exc:
            raise StateError(f"{file}: cannot read: {exc.strerror}") from None
        except RefusedFile as exc:
            raise StateError(f"{file}: state file {exc}") from None
        store = open_store(ctx)
        with store.lock("state-push"):
            current = store.load()
            if store.exists() and not force:
                if current.lineage != pushed.lineage:
                    raise StateError(f"{file} is another state (lineage {pushed.lineage}, {store.path} holds "
                                     f"{current.lineage}); nothing was pushed (--force to replace it)")
                if pushed.serial < current.serial:
                    raise StateError(f"{file} is older (serial {pushed.serial}) than {store.path} (serial "
                                     f"{current.serial}); nothing was pushed (--force to replace it)")
            if force and store.exists():
                pushed.serial = max(pushed.serial, current.serial)
                if getattr(store, "backend", "local") == "pg":
                    store.write(pushed, force=True)
                else:
                    pushed.serial += 1
                    _write_local_exact(store, [current, pushed])
            else:
                pushed.serial = max(pushed.serial, current.serial)
                store.write(pushed)
        o.echo(f"Pushed {file} to {store.path} (serial {pushed.serial}).")
        return 0

    @group.command("history")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable: serial, lineage, written, resources.")
    @common_options
    def history(as_json: bool) -> int:
        """Previous versions of the current workspace's state (pg: all; local: the .backup)."""
        from reconciler.cli.backend import open_store

        o = out()
        store = open_store(app())
        if getattr(store, "backend", "local") == "pg":
            rows = [{"serial": h.serial, "lineage": h.lineage, "written": h.written, "resources": h.resources}
                    for h in store.history()]
        else:
            rows = [{"serial": s.serial, "lineage": s.lineage, "written": None, "resources": len(s.resources)}
                    for s in (_versions_local(store) if store.exists() else [])]
        if as_json:
            o.echo(json.dumps(rows, indent=2))
            return 0
        if not rows:
            o.echo(f"No versions of {store.path} yet.")
        for row in rows:
            o.echo(f"  serial {row['serial']:<6} {row['written'] or '':<21} {row['resources']:>6} object(s)  "
                   f"lineage {row['lineage']}")
        return 0


def state_at_serial(store: Any, serial: int) -> Any:
    """`state show --serial N`: pg keeps every version; local keeps the current one and its backup."""
    if getattr(store, "backend", "local") == "pg":
        return store.load_serial(serial)
    for version in _versions_local(store) if store.exists() else []:
        if version.serial == serial:
            return version
    raise StateError(f"{store.path}: no version with serial {serial} (the local backend keeps the current "
                     f"version and its .backup; see `reconciler state history`)")
