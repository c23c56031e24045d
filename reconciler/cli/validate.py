"""`reconciler validate` and `reconciler schema`. Imports only the spec loader (no httpx) unless
`validate --run-graders` asks the API to run the graders."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from reconciler.cli.context import EXIT_ERROR, EXIT_OK, app, common_options, out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _without_files_of_invalid_jobs(collected: Any) -> Any:
    """The valid spec set minus the Files that a job with errors uses: their format is unknown."""
    from reconciler.config import SpecSet
    from reconciler.config.refs import find_refs

    unsure = {ref.address for doc in collected.invalid for ref in find_refs(doc.spec)}
    documents = {a: d for a, d in collected.specset.documents.items() if a not in unsure}
    return SpecSet(documents, collected.specset.imports, collected.specset.moved, collected.specset.warnings)


@click.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--run-graders", is_flag=True, default=False,
              help="Also run each reinforcement job's grader against the API over the first rows of its "
                   "validation (else training) file, print the scores, and fail on grader errors.")
@click.option("--rows", type=click.IntRange(1, 1000), default=5, show_default=True,
              help="With --run-graders: how many rows of each file to grade.")
@common_options
def validate(as_json: bool, run_graders: bool = False, rows: int = 5) -> int:
    """Check every spec file (and the training data of every File); report all errors at once.

    Exit 0 when valid (warnings do not fail), 1 on any error."""
    from reconciler.kinds.job.training_files import check_training_files

    ctx = app()
    collected = ctx.load_collected()
    errors = list(collected.errors)
    errors.extend(check_training_files(_without_files_of_invalid_jobs(collected)))
    from reconciler.kinds.job.grader_fields import check_grader_fields  # {{item.X}} against the examples

    errors.extend(check_grader_fields(collected.specset))
    from reconciler.cli.endpoints import provider_problems  # where keys may go: the operator's say

    errors.extend(provider_problems(ctx, collected.specset.providers.values()))

    from reconciler.kinds.job.ends import (
        end_date_problems,  # the platforms' end dates, on this machine's clock
    )

    retired, closed = end_date_problems(collected.specset, time.time())
    errors.extend(retired)
    errors.sort(key=lambda e: e.order())
    warnings = sorted([*collected.warnings, *closed], key=lambda e: e.order())
    n_docs = len(collected.specset.documents) + len(collected.specset.imports) + len(collected.specset.moved)
    n_files = len(collected.files)
    show = out()
    trials: list[Any] = []
    if run_graders and not errors:
        trials = _run_graders(collected.specset, rows)
    trial_errors = [e for t in trials for e in t.errors]
    if as_json:
        show.json(
            {
                "valid": not errors,
                "errors": [
                    {
                        "file": e.file,
                        "line": e.line,
                        "address": e.address,
                        "field": e.field,
                        "message": e.message,
                        "severity": e.severity,
                    }
                    for e in errors + warnings
                ],
                "documents": n_docs,
                "files": n_files,
                **({"graders": [{"address": t.address, "grader": t.grader, "file": t.file, "sample": t.sample_from,
                                 "scores": t.scores, "summary": t.summary(), "errors": t.errors}
                                for t in trials]} if run_graders else {}),
            }
        )
        return EXIT_ERROR if errors or trial_errors else EXIT_OK
    for warning in warnings:
        show.echo(show.style("Warning: ", fg="yellow", bold=True) + str(warning))
    for error in errors:
        show.echo(str(error))
    if errors:
        bad_files = len({e.file for e in errors})
        show.echo(f"{_plural(len(errors), 'error')} in {_plural(bad_files, 'file')}.")
        return EXIT_ERROR
    for trial in trials:
        _show_trial(show, trial)
    if trial_errors:
        show.echo(f"{_plural(len(trial_errors), 'grader error')}.")
        return EXIT_ERROR
    tail = f" ({_plural(len(warnings), 'warning')})" if warnings else ""
    show.echo(
        show.style("Success!", fg="green", bold=True)
        + f" {_plural(n_docs, 'document')} in {_plural(n_files, 'file')} {'is' if n_docs == 1 else 'are'}"
        f" valid{tail}."
    )
    return EXIT_OK


def _run_graders(specset: Any, rows: int) -> list[Any]:
    """Each reinforcement job's grader over its data's first `rows` rows, against the API."""
    from reconciler.cli import runtime
    from reconciler.kinds.job.grader_trial import reinforcement_jobs, run_trial

    jobs = list(reinforcement_jobs(specset))
    if not jobs:
        return []
    trials = []
    with runtime.api_client(app(), out=out()) as client:
        for job, grader in jobs:
            trial = run_trial(job, grader, specset, client, rows)
            if trial is not None:
                trials.append(trial)
    return trials


def _show_trial(show: Any, trial: Any) -> None:
    n = len(trial.scores) + len(trial.errors)
    show.echo(f"{trial.address}: grader {trial.grader!r} on the first {_plural(n, 'row')} of {trial.file} "
              f"(graded answer: {trial.sample_from})")
    if trial.scores:
        show.echo("  scores  " + " ".join(f"{s:.2f}" for s in trial.scores))
        stats = trial.summary()
        show.echo("  " + "  ".join(f"{k} {v:.2f}" for k, v in stats.items()))
        if stats["max"] == 0:
            show.echo(show.style("  every row scored 0, even on this answer: check the grader", fg="yellow"))
    for error in trial.errors:
        show.echo(f"  {error}")


@click.command("schema")
@click.argument("kind", required=False)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write every schema file into this folder instead of printing.",
)
@common_options
def schema(kind: str | None, out_dir: str | None) -> int:
    """Print the JSON Schema of the spec language (or of one KIND), or write all of them to --out.

    Editors: put `# yaml-language-server: $schema=PATH/spec.schema.json` at the top of a spec file."""
    from reconciler.config.schema import schema_text
    from reconciler.loading.schema_source import KINDS, schema_names

    if kind is not None and kind not in KINDS:
        raise click.BadParameter(f"unknown kind {kind!r}; kinds are {', '.join(KINDS)}", param_hint="KIND")
    if out_dir:
        target = Path(out_dir)
        target.mkdir(parents=True, exist_ok=True)
        names = [f"{kind}.schema.json"] if kind else schema_names()
        for name in names:
            (target / name).write_text(schema_text(name), encoding="utf-8")
        click.echo(f"Wrote {_plural(len(names), 'schema')} to {target}.")
        return EXIT_OK
    click.echo(schema_text(f"{kind}.schema.json" if kind else "spec.schema.json"), nl=False)
    return EXIT_OK
