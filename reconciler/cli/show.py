"""`reconciler show` (a saved plan or the state) and `reconciler output` (attributes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli import runtime
from reconciler.cli.context import EXIT_OK, app, common_options, out
from reconciler.errors import ConfigError

if TYPE_CHECKING:
    from reconciler.cli.context import Out
    from reconciler.state import ResourceState



@click.command("show")
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@common_options
def show(plan_file: Path | None, as_json: bool) -> int:
    """Show a saved plan, or (without FILE) every object in the state."""
    o = out()
    if plan_file is not None:
        from reconciler.cli.plan import load_plan, render
        from reconciler.cli.saved_plan import check_seal
        from reconciler.errors import StateError

        render(load_plan(plan_file), "json" if as_json else "text", o)
        try:  # shown all the same: a reviewer sees what was changed, and that apply will refuse it
            check_seal(plan_file, plan_file.read_text(encoding="utf-8"))
        except StateError as exc:
            o.echo(o.style("Warning: ", fg="yellow", bold=True) + f"{exc} (`apply` refuses this file)", err=True)
        return EXIT_OK
    state = runtime.store(app()).load()
    if as_json:
        o.json(json.loads(state.to_json()))
        return EXIT_OK
    if not state.resources:
        o.echo("The state is empty. Nothing is managed yet: run `reconciler plan`.")
        return EXIT_OK
    o.echo(o.style(f"# state {app().state_file} (serial {state.serial}, lineage {state.lineage})", dim=True))
    for address in sorted(state.resources):
        o.echo("")
        o.echo(_render_resource(state.resources[address], o))
    return EXIT_OK


def _render_resource(resource: ResourceState, o: Out) -> str:
    from reconciler.display import fmt

    lines = [o.style(f"# {resource.address}:", bold=True), f"  id = {fmt(resource.id)}"]
    attrs = dict(resource.attributes or {})
    keys = [k for k in attrs if k not in ("object",)]
    width = max((len(k) for k in keys), default=0)
    for key in keys:
        lines.append(f"  {key.ljust(width)} = {fmt(attrs[key], width=200)}")
    return "\n".join(lines)


def _attributes(resource: ResourceState) -> dict[str, Any]:
    from reconciler.kinds.registry import by_type

    return by_type(resource.kind).output_attributes(resource)


@click.command("output")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--raw", is_flag=True, help="Print a single string value without quotes (for shell scripts).")
@common_options
def output(name: str | None, as_json: bool, raw: bool) -> int:
    """Print attributes of managed objects: all (a summary), one object (ADDR) or one value
    (ADDR.attribute, e.g. FineTuningJob.support_bot.fine_tuned_model)."""
    o = out()
    state = runtime.store(app()).load()
    if name is None:
        from reconciler.kinds.registry import by_type

        summary = {address: {k: _attributes(r).get(k) for k in by_type(r.kind).show_fields or ("id",)}
                   for address, r in sorted(state.resources.items())}
        if as_json:
            o.json(summary)
        else:
            width = max((len(a) for a in summary), default=0)
            for address, values in summary.items():
                text = "  ".join(f"{k}={json.dumps(v)}" for k, v in values.items())
                o.echo(f"{address.ljust(width)}  {text}")
        return EXIT_OK
    if '"]' in name:  # an instance, Kind.name["key"] (the key may hold dots), then the path
        address, _, rest = name.partition('"]')
        address += '"]'
        path = [p for p in rest.split(".") if p]
    else:
        parts = name.split(".")
        address = ".".join(parts[:3] if parts[0] == "data" else parts[:2])
        path = parts[len(address.split(".")):]
    resource = state.resources.get(address)
    if resource is None:
        raise ConfigError(f"{address} is not in the state {app().state_file}"
                          + (f" (known: {', '.join(sorted(state.resources)[:5])})" if state.resources else ""))
    value: Any = _attributes(resource)
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise ConfigError(f"{address} has no attribute {'.'.join(path)}")
    if raw and isinstance(value, str):
        o.echo(value)
    elif as_json or raw or not isinstance(value, dict):
        o.echo(json.dumps(value, indent=2 if isinstance(value, (dict, list)) else None))
    else:
        for key, item in value.items():
            o.echo(f"{key} = {json.dumps(item)}")
    return EXIT_OK
