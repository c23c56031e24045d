"""`reconciler archive DIR`: write what it takes to train each managed job again elsewhere. Takes
the state lock like `report` (never reads a half-written state); changes nothing in the API or the
state. Layout and guarantees: reconciler/archive/, docs/ARCHIVE.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli import runtime
from reconciler.cli.context import EXIT_OK, app, common_options, out
from reconciler.errors import ConfigError

if TYPE_CHECKING:
    from reconciler.config.documents import SpecSet
    from reconciler.state import State



def _local_paths(specs: SpecSet, state: State) -> dict[str, Path]:
    """file id -> where its File document's data lives in the spec folder (as the upload recorded it)."""
    from reconciler.kinds.registry import LOCAL_FILE_KINDS

    found = {}
    for address, resource in state.resources.items():
        doc = specs.documents.get(address)
        path = (resource.inputs or {}).get("path")
        if resource.kind in LOCAL_FILE_KINDS and doc is not None and isinstance(path, str) and resource.id:
            found[resource.id] = Path(doc.base_dir) / path
    return found


@click.command("archive")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), metavar="DIR")
@click.option("--target", "targets", multiple=True, metavar="ADDR", help="Archive only ADDR (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--lock-timeout", default="0s", show_default=True, metavar="DURATION",
              help="How long to wait for the state lock held by another run (e.g. 30s).")
@click.option("--insecure-http", is_flag=True, help="Allow a non-loopback http:// base URL.")
@common_options
def archive(directory: Path, targets: tuple[str, ...], as_json: bool, lock_timeout: str, insecure_http: bool) -> int:
    """Write each managed job's spec, resolved hyperparameters and seed, training and validation
    files, metrics CSV, events and checkpoints to DIR/<address>/, with DIR/manifest.json of sha256
    sums. Run it again to complete an interrupted archive: what is there and verified is kept; a
    file with other content is never overwritten. Changes nothing. Exit 0 when done, 1 on error."""
    from reconciler.archive import archive as run_archive
    from reconciler.kinds.registry import JOB_KINDS, LOCAL_FILE_KINDS

    ctx = app()
    o = out()
    with runtime.session(ctx, o, "archive", lock_timeout=lock_timeout, insecure_http=insecure_http) as s:
        jobs = [(a, r) for a, r in s.state.resources.items() if r.kind in JOB_KINDS and r.id]
        if targets:
            known = {a for a, _ in jobs}
            missing = [t for t in targets if t not in known]
            if missing:
                raise ConfigError(f"--target {missing[0]}: not a managed FineTuningJob in the state "
                                  f"({len(known)} managed)")
            jobs = [(a, r) for a, r in jobs if a in targets]
        state_files = {r.id: r for r in s.state.resources.values() if r.kind in LOCAL_FILE_KINDS and r.id}
        result = run_archive(s.client, directory, jobs, s.specs.documents, state_files,
                             _local_paths(s.specs, s.state))
    if as_json:
        o.echo(json.dumps(result.to_dict(), indent=2))
        return EXIT_OK
    for job in result.jobs:
        where = f"{directory}/{job.folder}" if job.status == "archived" else job.reason
        o.echo(f"{job.address} ({job.job_id}): {job.status}: {where}")
    archived = sum(1 for j in result.jobs if j.status == "archived")
    o.echo(f"Archived {archived} of {len(result.jobs)} job(s) to {directory}: {len(result.written)} file(s) "
           f"written, {len(result.kept)} already there and verified (sha256 in {directory}/manifest.json).")
    return EXIT_OK


__all__ = ["archive"]
