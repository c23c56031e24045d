"""`reconciler report --html FILE`: one self-contained HTML page for a workspace. Read-only: it
takes the state lock like `drift` does (so it never reads a half-written state) and changes
nothing in the API or the state."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli import runtime
from reconciler.cli.context import EXIT_OK, app, common_options, out


@click.command("report")
@click.option("--html", "html_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Write the page to FILE (self-contained: no network, no script).")
@click.option("--recordings", "recordings", type=click.Path(path_type=Path), default=None, metavar="DIR",
              help="Add a section per comparison `reconciler compare` wrote under DIR (the recordings folder).")
@click.option("--ignore-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Drift ignore rules (default: .reconcilerignore in the spec folder).")
@click.option("--parallelism", default=10, show_default=True, type=click.IntRange(1, 64),
              help="Reads at a time.")
@click.option("--lock-timeout", default="0s", show_default=True, metavar="DURATION",
              help="How long to wait for the state lock held by another run (e.g. 30s).")
@click.option("--insecure-http", is_flag=True, help="Allow a non-loopback http:// base URL.")
@common_options
def report(html_file: Path, recordings: Path | None, ignore_file: Path | None, parallelism: int, lock_timeout: str,
           insecure_http: bool) -> int:
    """Write an HTML report of the workspace: jobs (with what each cost: the spend of a finished job,
    the estimate of one still to train), training curves, checkpoints and their grants, drift and
    health; with --recordings, each comparison of a replacement model with a recording (pass or
    fail against its threshold, the score distribution, the lowest-scoring prompts side by side).
    Changes nothing. Exit 0 when the page was written, 1 on error."""
    import dataclasses

    from reconciler.cli.cost import cost_cache_path, price_table
    from reconciler.cli.drift import _build
    from reconciler.config.providers import document_platforms
    from reconciler.cost.cache import TokenCache
    from reconciler.report.comparisons import read_comparisons
    from reconciler.report.costs import estimate_jobs
    from reconciler.report.gather import gather
    from reconciler.report.html import render_html

    ctx = app()
    o = out()
    comparisons = read_comparisons(recordings) if recordings is not None else ()  # bad input: before any request
    with runtime.session(ctx, o, "report", lock_timeout=lock_timeout, insecure_http=insecure_http) as s:
        prices = price_table(s.specs)
        plan, snapshot, drift = _build(ctx, o, s.client, s.specs, s.state, parallelism=parallelism, selectors=(),
                                       include_finished=False, ignore_file=ignore_file)
        platforms = document_platforms(s.specs, s.state)
        data = gather(plan, snapshot, drift, s.state, s.client, parallelism=parallelism, prices=prices,
                      estimates=estimate_jobs(plan, s.specs.documents, prices, TokenCache(cost_cache_path(ctx)),
                                              platforms),
                      warn_days=s.specs.settings.lifecycle.warn_days, platforms=platforms)
    if recordings is not None:
        data = dataclasses.replace(data, recordings=str(recordings), comparisons=comparisons)
    runtime.write_private(html_file, render_html(data))
    compared = (f"; {len(comparisons)} comparison(s), {sum(not c.passed for c in comparisons)} failing"
                if recordings is not None else "")
    o.echo(f"Wrote {html_file}: {len(data.jobs)} job(s){compared}; {data.summary}", err=True)
    return EXIT_OK


__all__ = ["report"]
