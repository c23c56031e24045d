"""`reconciler state list | show | pull | rm | mv` and `reconciler force-unlock`.

These commands read and edit the state file only: nothing here talks to the API, except
`state rebind`, which asks the API which account answers (one read).
"""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any

import click

from reconciler.addresses import is_address, kind_of
from reconciler.cli.context import Out, app, common_options, out
from reconciler.errors import StateError

if TYPE_CHECKING:
    from reconciler.state import ResourceState, State, StateStore


ADDRESS = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?\.[A-Za-z0-9_][A-Za-z0-9_\-]*$")

lock_timeout_option = click.option(
    "--lock-timeout", default="0s", show_default=True, metavar="DURATION",
    help="How long to wait for the state lock (e.g. 30s, 5m).")


def _store() -> Any:
    from reconciler.cli.backend import open_store

    return open_store(app())


def _load() -> tuple[Any, Any]:
    store = _store()
    state = store.load()
    if state.recovered_from_journal:
        out().echo(f"Note: {state.recovered_from_journal} action(s) recorded by an interrupted apply were "
                   f"replayed from {store.journal_path.name}.", err=True)
    return store, state


def _lock(store: StateStore, operation: str, lock_timeout: str) -> Any:
    from reconciler.cli import runtime

    o = out()
    return store.lock(operation, wait=runtime.parse_duration(lock_timeout) or 0.0,
                      on_wait=runtime.lock_wait_callback(o))


def _matches(address: str, patterns: tuple[str, ...]) -> bool:
    return not patterns or any(address == p or address.startswith((p + ".", p + "[\"")) for p in patterns)


def _missing(state: State, addresses: list[str], store: StateStore) -> None:
    missing = [a for a in addresses if a not in state.resources]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise StateError(f"no resource {missing[0]} in the state {store.path}{more}; "
                         f"see `reconciler state list`")


# -- rendering -------------------------------------------------------------------------------

def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        width = max((len(str(k)) for k in value), default=0)
        for key in sorted(value, key=str):
            item = value[key]
            if isinstance(item, dict) and item:
                lines.append(f"{pad}{key} = {{")
                lines += _lines(item, indent + 1)
                lines.append(f"{pad}}}")
            elif isinstance(item, list) and item and any(isinstance(x, (dict, list)) for x in item):
                lines.append(f"{pad}{key} = [")
                for element in item:
                    if isinstance(element, dict):
                        lines.append(f"{pad}  {{")
                        lines += _lines(element, indent + 2)
                        lines.append(f"{pad}  }},")
                    else:
                        lines.append(f"{pad}  {_scalar(element)},")
                lines.append(f"{pad}]")
            else:
                lines.append(f"{pad}{str(key).ljust(width)} = {_scalar(item)}")
    return lines


def render_resource(o: Out, resource: ResourceState) -> None:
    o.echo(o.style(f"# {resource.address}:", bold=True))
    head = {"kind": resource.kind, "id": resource.id, "digest": resource.digest,
            "depends_on": list(resource.depends_on)}
    for key, value in head.items():  # in this order, not sorted
        o.echo(f"{key.ljust(10)} = {_scalar(value)}")
    for title in ("inputs", "attributes", "meta"):
        section = getattr(resource, title)
        if section:
            o.echo(f"{title} = {{")
            for line in _lines(section, 1):
                o.echo(line)
            o.echo("}")


def _resource_json(resource: ResourceState) -> dict[str, Any]:
    return {"address": resource.address, **resource.to_dict()}


# -- commands --------------------------------------------------------------------------------

@click.group("state")
@common_options
def state() -> None:
    """Inspect and edit the state file (no API calls)."""


@state.command("list")
@click.argument("patterns", nargs=-1, metavar="[ADDRESS|KIND]...")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable: address, kind and id of each.")
@common_options
def list_(patterns: tuple[str, ...], as_json: bool) -> int:
    """List managed addresses, one per line, sorted (optionally only those matching)."""
    _, current = _load()
    selected = [r for r in current if _matches(r.address, patterns)]
    o = out()
    if as_json:
        o.json([{"address": r.address, "kind": r.kind, "id": r.id} for r in selected])
    else:
        for resource in selected:
            o.echo(resource.address)
    return 0


@state.command("show")
@click.argument("address", required=False)
@click.option("--json", "as_json", is_flag=True, help="JSON of the resource (of the whole state without ADDRESS).")
@click.option("--serial", type=int, default=None, metavar="N", help="A previous version (see `state history`).")
@common_options
def show(address: str | None, as_json: bool, serial: int | None) -> int:
    """Show one managed object's recorded inputs and attributes (everything without ADDRESS)."""
    store, current = _load()
    if serial is not None:
        from reconciler.cli.state_migrate import state_at_serial

        current = state_at_serial(store, serial)
    o = out()
    if address is None:
        if as_json:
            o.json(current.to_dict())
            return 0
        if not current.resources:
            o.echo(f"The state {store.path} is empty." if store.exists() else f"No state at {store.path}.")
        for i, resource in enumerate(current):
            if i:
                o.echo()
            render_resource(o, resource)
        return 0
    _missing(current, [address], store)
    resource = current.resources[address]
    if as_json:
        o.json(_resource_json(resource))
    else:
        render_resource(o, resource)
    return 0


@state.command("pull")
@common_options
def pull() -> int:
    """Print the whole state as JSON (with any interrupted apply's journal replayed)."""
    _, current = _load()
    out().json(current.to_dict())
    return 0


@state.command("rm")
@click.argument("addresses", nargs=-1, required=True, metavar="ADDRESS...")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@lock_timeout_option
@common_options
def rm(addresses: tuple[str, ...], dry_run: bool, lock_timeout: str) -> int:
    """Forget objects: remove them from the state without touching the API."""
    store = _store()
    o = out()
    wanted = list(dict.fromkeys(addresses))
    with _lock(store, "state rm", lock_timeout):
        current = store.load()
        _missing(current, wanted, store)
        if dry_run:
            for address in wanted:
                o.echo(f"Would remove {address}")
            o.echo(f"Would remove {len(wanted)} object(s).")
            return 0
        for address in wanted:
            current.remove(address)
            o.echo(f"Removed {address}")
        dependents = sorted({r.address for r in current if set(r.depends_on) & set(wanted)})
        store.write(current)
    o.echo(f"Removed {len(wanted)} object(s). They still exist in the API and are no longer managed.")
    if dependents:
        o.echo(f"Warning: {', '.join(dependents)} still depend(s) on what was removed.", err=True)
    return 0


@state.command("mv")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--dry-run", is_flag=True, help="Only say what would be moved.")
@lock_timeout_option
@common_options
def mv(old: str, new: str, dry_run: bool, lock_timeout: str) -> int:
    """Rename a managed object's address (for a renamed spec document); nothing changes in the API."""
    store = _store()
    o = out()
    if not ADDRESS.match(new) and not is_address(new):
        raise StateError(f"{new!r} is not an address like Kind.name or Kind.name[\"key\"]")
    with _lock(store, "state mv", lock_timeout):
        current = store.load()
        _missing(current, [old], store)
        if new in current.resources:
            raise StateError(f"cannot move {old} to {new}: {new} is already in the state")
        resource = current.resources[old]
        new_kind = kind_of(new)
        if new_kind != resource.kind:
            raise StateError(f"cannot move {old} to {new}: {old} is a {resource.kind}, not a {new_kind}")
        if dry_run:
            o.echo(f"Would move {old} to {new}")
            return 0
        current.remove(old)
        resource.address = new
        current.set(resource)
        for other in current:
            if old in other.depends_on:
                other.depends_on = [new if d == old else d for d in other.depends_on]
        store.write(current)
    o.echo(f"Moved {old} to {new}.")
    return 0


def _interactive() -> bool:
    return sys.stdin.isatty()


@state.command("rebind")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--provider", "provider", default=None, metavar="NAME",
              help="Rebind one provider profile (a kind: Provider document of the spec folder) instead of "
                   "the default OPENAI_* account.")
@click.option("--insecure-http", is_flag=True, help="Allow a non-loopback http:// base URL.")
@lock_timeout_option
@common_options
def rebind(yes: bool, provider: str | None, insecure_http: bool, lock_timeout: str) -> int:
    """Bind the state to the API account that answers now (base URL, organization, project), after
    the account really moved. Runs against another account are refused until then. Nothing in the
    API changes; the next plan shows what the new account holds. With --provider NAME, the account
    that Provider's key reaches, for the objects of that profile."""
    from reconciler.cli import runtime
    from reconciler.config.providers import DEFAULT_PROVIDER

    store = _store()
    o = out()
    profile = provider if provider not in (None, DEFAULT_PROVIDER) else None
    specs = runtime.load_specs(app(), o) if profile is not None else None  # before the lock, like plan
    with _lock(store, "state rebind", lock_timeout):
        current = store.load()
        if not store.exists():
            raise StateError(f"no state at {store.path}: nothing to rebind (the first apply records the account)")
        if profile is not None:
            from reconciler.cli.providers import probe_profile_identity

            assert specs is not None  # loaded above whenever a profile is named
            reported = probe_profile_identity(app(), specs, profile, insecure_http=insecure_http)
            old = current.provider_apis.get(profile)
        else:
            with runtime.api_client(app(), insecure_http=insecure_http, out=o) as client:
                reported = client.probe_identity()
            old = current.api
        if old == reported:
            o.echo(f"The state {store.path}{' for provider ' + profile if profile else ''} is already bound to "
                   f"{reported.describe()}.")
            return 0
        o.echo(f"The state {store.path} ({len(current)} object(s)){' for provider ' + profile if profile else ''} "
               "is bound to")
        o.echo(f"  {old.describe() if old is not None else '(no account recorded)'}")
        o.echo(f"→ {reported.describe()}")
        if not yes:
            if not _interactive():
                raise StateError("state rebind needs confirmation: not running in a terminal, so pass --yes")
            o.echo("Objects recorded in the state that the new account does not hold will be planned as new.")
            if not click.confirm("Bind the state to the account that answers now?", default=False):
                o.echo("Not rebound.")
                return 1
        if profile is not None:
            current.provider_apis[profile] = reported
        else:
            current.api = reported
        store.write(current)
    which = f" (provider {profile})" if profile is not None else ""
    o.echo(f"Rebound {store.path}{which} to {reported.describe()}. Run `reconciler plan` to see what it holds.")
    return 0


@click.command("force-unlock")
@click.argument("lock_id", metavar="LOCK_ID")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@common_options
def force_unlock(lock_id: str, force: bool) -> int:
    """Remove a stale state lock, given its id (shown in the 'state is locked' error)."""
    store = _store()
    o = out()
    holder = store.lock_info()
    if holder is None:
        raise StateError(f"state {store.path} is not locked (no {store.lock_path.name})")
    if holder.id != lock_id:
        store.force_unlock(lock_id)  # raises the one-line mismatch error
    if not force:
        if not _interactive():
            raise StateError("force-unlock needs confirmation: not running in a terminal, so pass --force")
        o.echo(f"The lock is held by {holder.describe()}.")
        o.echo("Removing it while that process still runs can corrupt the state.")
        if not click.confirm("Do you really want to force-unlock?", default=False):
            o.echo("Not unlocked.")
            return 1
    removed = store.force_unlock(lock_id)
    o.echo(f"Removed the lock {removed.id} (held by {removed.who}, pid {removed.pid}, "
           f"operation {removed.operation}). The state is unlocked.")
    return 0


def _attach_import_terraform() -> None:
    from reconciler.cli.convert import import_terraform_command

    state.add_command(import_terraform_command, "import-terraform")


_attach_import_terraform()


def _attach_backend_commands() -> None:
    from reconciler.cli.state_migrate import attach

    attach(state)


_attach_backend_commands()
