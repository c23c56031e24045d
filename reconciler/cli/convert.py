"""`reconciler convert terraform` and `reconciler state import-terraform`: migrating from Terraform."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli.context import EXIT_ERROR, EXIT_OK, Out, app, common_options, out

if TYPE_CHECKING:
    from reconciler.convert.notes import Note
    from reconciler.convert.terraform import Conversion

__all__ = ["convert", "import_terraform_command", "terraform"]


@click.group("convert")
@common_options
def convert() -> None:
    """Convert configuration written for other tools into reconciler specs."""


@convert.command("terraform")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder to write the specs to (default: the spec folder, specs/).")
@click.option("--force", is_flag=True, help="Overwrite spec files that already exist.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@common_options
def terraform(paths: tuple[Path, ...], out_dir: Path | None, force: bool, as_json: bool) -> int:
    """Convert Terraform .tf files (or folders of them) into spec YAML.

    Each FILE.tf becomes OUT/FILE.yaml. What cannot be converted is listed with file and line
    and left out of the output; nothing is dropped silently.
    """
    from reconciler.convert.hcl import HclParseError
    from reconciler.convert.terraform import convert_terraform, write_conversion

    target = out_dir if out_dir is not None else app().dir
    o = out()
    try:
        conv = convert_terraform(list(paths), target)
    except HclParseError as exc:
        click.echo(str(exc), err=True)  # exactly one line: file:line: message
        return EXIT_ERROR
    written = write_conversion(conv, force=force)
    if as_json:
        o.json(_conversion_json(conv, written))
        return EXIT_OK
    for path in written:
        o.echo(f"wrote {path}")
    o.echo(_conversion_summary(conv.counts()) + ".")
    for title, severity in (("To do (written, but validate fails until done):", "todo"),
                            ("Not converted:", "not_converted"), ("Warnings:", "warning")):
        _echo_notes(o, title, [n for n in conv.notes if n.severity == severity])
    if written:
        flags = f"-C {target}" + "".join(f" --var {name}=VALUE" for name in conv.unset_variables)
        o.echo("")
        o.echo("Next steps (see docs/MIGRATING.md):")
        o.echo(f"  reconciler validate {flags}")
        o.echo(f"  reconciler state import-terraform terraform.tfstate {flags}")
        o.echo(f"  reconciler plan {flags}")
    else:
        o.echo("Nothing to write: no resource or data source could be converted.")
    return EXIT_OK


def _conversion_json(conv: Conversion, written: list[Path]) -> dict[str, Any]:
    return {
        "written": [str(p) for p in written],
        "converted": [{"address": d.address if d.raw is None else None, "kind": d.kind or next(iter(d.raw or {})),
                       "file": d.file, "line": d.line, "source": d.source} for d in conv.converted],
        "not_converted": [n.to_json() for n in conv.notes if n.severity == "not_converted"],
        "todo": [n.to_json() for n in conv.notes if n.severity == "todo"],
        "warnings": [n.to_json() for n in conv.notes if n.severity == "warning"],
        "summary": conv.counts(),
    }


def _conversion_summary(counts: Mapping[str, int]) -> str:
    """One line of counts: resources, data sources, import/moved blocks, not converted, to do."""
    summary = (f"{counts['resources']} resource{'s' if counts['resources'] != 1 else ''} converted, "
               f"{counts['data_sources']} data source{'s' if counts['data_sources'] != 1 else ''}, ")
    if counts["other"]:
        summary += f"{counts['other']} import/moved block{'s' if counts['other'] != 1 else ''}, "
    summary += f"{counts['not_converted']} item{'s' if counts['not_converted'] != 1 else ''} not converted"
    if counts["todo"]:
        summary += f", {counts['todo']} to do by hand"
    return summary


def _echo_notes(o: Out, title: str, notes: list[Note]) -> None:
    if not notes:
        return
    o.echo("")
    o.echo(o.style(title, bold=True))
    for note in notes:
        o.echo(f"  {note}")


@click.command("import-terraform")
@click.argument("tfstate", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--no-spec-check", is_flag=True,
              help="Do not compare the adopted addresses with the specs in the spec folder.")
@click.option("--lock-timeout", default="0s", show_default=True, metavar="DURATION",
              help="How long to wait for the state lock (e.g. 30s, 5m).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@common_options
def import_terraform_command(tfstate: Path, no_spec_check: bool, lock_timeout: str, as_json: bool) -> int:
    """Adopt the objects in a Terraform state file (format 4) into reconciler's state.

    Each managed openai_* resource is recorded under its converted address (openai_file.x →
    File.x) with its id; the next plan refreshes it from the API, so unchanged resources show no
    create and no replace.
    """
    from reconciler.cli import runtime
    from reconciler.convert.tfstate import adopt
    from reconciler.state import StateStore

    ctx = app()
    spec_set: Any = None
    if not no_spec_check and ctx.dir.is_dir():
        from reconciler.loading import load_specs

        spec_set = load_specs(ctx.dir, ctx.variables())
    store = StateStore(ctx.state_file)
    o = out()
    report = adopt(tfstate, store, spec_set, lock_wait=runtime.parse_duration(lock_timeout) or 0.0,
                   on_wait=runtime.lock_wait_callback(o))
    if as_json:
        o.json(report.to_json())
        return EXIT_OK
    for item in report.adopted:
        o.echo(f"adopted {item.address} ({item.id}) from {item.tf_address}")
    for note in report.skipped:
        o.echo(f"skipped {note.what}: {note.reason}")
    for note in report.warnings:
        o.echo(f"warning: {note.what}: {note.reason}")
    if spec_set is None and not no_spec_check:
        o.echo(f"note: no spec folder {ctx.dir}: the adopted addresses were not compared with the specs")
    n = len(report.adopted)
    o.echo(f"{n} resource{'s' if n != 1 else ''} adopted into {ctx.state_file}"
           + (f", {len(report.skipped)} skipped." if report.skipped else "."))
    if n:
        o.echo("Next: reconciler plan (it refreshes the adopted objects from the API).")
    return EXIT_OK
