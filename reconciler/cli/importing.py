"""`reconciler import ADDR ID`: adopt an existing job, file or permission set into state."""

from __future__ import annotations

import click

from reconciler.cli import runtime
from reconciler.cli.context import EXIT_OK, app, common_options, out
from reconciler.errors import ConfigError, StateError


@click.command("import")
@click.argument("address")
@click.argument("object_id", metavar="ID")
@click.option("--lock-timeout", default="0s", show_default=True, metavar="DURATION",
              help="How long to wait for the state lock held by another run (e.g. 30s).")
@click.option("--insecure-http", is_flag=True, help="Allow a non-loopback http:// base URL.")
@common_options
def import_(address: str, object_id: str, lock_timeout: str, insecure_http: bool) -> int:
    """Adopt an existing object into state under ADDR (declared in the specs): a job by its
    ftjob- id, a file by its file- id, a permission set by its checkpoint name. Nothing in the API
    changes; the next plan shows what differs between the spec and the adopted object."""
    from reconciler.kinds import registry
    from reconciler.planner.build import kind_name
    from reconciler.planner.refresh import read_for_import

    ctx = app()
    o = out()
    specs = runtime.load_specs(ctx, o)
    doc = specs.documents.get(address)
    if doc is None:
        raise ConfigError(f"{address} is not declared in {ctx.dir}: write its spec first, then import "
                          "(the spec says what the object should be)")
    if address.startswith("data."):
        raise ConfigError(f"{address} is a data source: data sources are read, not imported")
    st = runtime.store(ctx)
    with st.lock("import", wait=runtime.parse_duration(lock_timeout) or 0.0,
                 on_wait=runtime.lock_wait_callback(o)):
        state = st.load()
        if address in state.resources:
            raise StateError(f"{address} is already managed (id {state.resources[address].id}); "
                             f"use `reconciler state rm {address}` first to re-import")
        owner = next((a for a, r in state.resources.items() if r.id == object_id), None)
        if owner:
            raise StateError(f"{object_id} is already managed as {owner}; use `reconciler state mv` to rename")
        kind = kind_name(address, specs.documents, registry)
        admin = [address] if kind in registry.admin_kinds() else []
        from reconciler.api.profiles import acting_for, mark_profile
        from reconciler.cli.providers import open_clients

        # the document's provider profile reads it (and the state records that profile)
        with open_clients(ctx, specs, state, str(st.path), admin_for=admin, insecure_http=insecure_http,
                          out=o) as client, acting_for(client, address):
            attributes = read_for_import(client, address, kind, object_id, registry)
            imported = registry.imported_resource(address, kind, object_id, attributes, doc.depends_on)
            state.resources[address] = mark_profile(client, address, imported)
        st.write(state)
    o.echo(o.style(f"{address}: Import successful!", fg="green", bold=True) + f" [id={object_id}]")
    o.echo("The object is now managed. Run `reconciler plan` to see how it differs from its spec.")
    return EXIT_OK
