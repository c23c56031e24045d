"""`reconciler inventory`: every fine-tuned model the workspace manages (with `--all`, every one the
organisation's jobs listing shows), its base, platform, when it came to be, the day it stops
answering and the days left, and who may use it. Reads only; takes the state lock just to read."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

import click

from reconciler.cli import runtime
from reconciler.cli.context import EXIT_OK, app, common_options, out

if TYPE_CHECKING:
    from reconciler.api.protocols import Client


__all__ = ["inventory", "shutdowns"]


def shutdowns(client: Client) -> dict[str, str | None]:
    """model id -> shutdown_date as GET /v1/models answers (the API's word wins over the data)."""
    from reconciler.api.protocols import ModelReader

    if not isinstance(client, ModelReader):
        return {}
    return {m["id"]: m.get("shutdown_date") for m in client.list_models()}


@click.command("inventory")
@click.option("--all", "everything", is_flag=True,
              help="Also the organisation's fine-tuned models no spec manages (from the jobs listing).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "csv"]), default="text",
              show_default=True, help="Output format.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--lock-timeout", default="0s", show_default=True, metavar="DURATION",
              help="How long to wait for the state lock held by another run (e.g. 30s).")
@click.option("--insecure-http", is_flag=True, help="Allow a non-loopback http:// base URL.")
@common_options
def inventory(everything: bool, fmt: str, as_json: bool, lock_timeout: str, insecure_http: bool) -> int:
    """List fine-tuned models with the day each stops answering (the API's shutdown_date, else the
    shipped, sourced end dates, else Settings.spec.lifecycle's), the days left on the API's clock,
    and their grants. Changes nothing."""
    from reconciler.api.clock import server_now
    from reconciler.config.providers import DEFAULT_PROVIDER
    from reconciler.inventory import gather
    from reconciler.lifecycle import serving_end
    from reconciler.render import inventory as render

    ctx = app()
    o = out()
    fmt = "json" if as_json else fmt
    with runtime.session(ctx, o, "inventory", lock_timeout=lock_timeout, insecure_http=insecure_http) as s:
        jobs = list(s.client.list_jobs())
        api = shutdowns(s.client)
        lifecycle = s.specs.settings.lifecycle
        dates = lifecycle.dates()
        today = dt.datetime.fromtimestamp(server_now(s.client), dt.UTC).date()
        providers = s.specs.providers

        def platform_of(address: str) -> str:
            doc = s.specs.documents.get(address)
            profile = providers.get(getattr(doc, "provider", None) or DEFAULT_PROVIDER) if doc else None
            return profile.platform if profile is not None else "openai"

        def end_of(platform: str, base: str, model: str) -> tuple[dt.date | None, str | None]:
            end = serving_end(dates, model, platform, api if platform == "openai" else None)
            return (end.date, end.cite()) if end is not None else (None, None)

        entries = gather(s.state.resources, jobs, end_of=end_of, today=today, platform_of=platform_of,
                         everything=everything)
    warn = lifecycle.warn_days
    if fmt == "json":
        o.echo(json.dumps(render.inventory_json(entries, warn, today.isoformat()), indent=2))
    elif fmt == "csv":
        o.echo(render.inventory_csv(entries), nl=False)
    elif fmt == "markdown":
        o.echo(render.inventory_markdown(entries, warn), nl=False)
    else:
        o.echo(render.inventory_text(entries, warn, o.style), nl=False)
    return EXIT_OK
