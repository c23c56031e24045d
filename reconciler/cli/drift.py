"""`reconciler drift` (report, change nothing) and `reconciler sync` (report, then apply)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli import runtime
from reconciler.cli.context import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, app, common_options, out
from reconciler.cli.wait_option import WAIT_VALUES, WaitCommand

if TYPE_CHECKING:
    from reconciler.api.protocols import Client
    from reconciler.cli.context import AppContext, Out
    from reconciler.config.documents import SpecSet
    from reconciler.drift.findings import DriftReport
    from reconciler.state import State


FORMATS = ("text", "markdown", "json", "junit")
_SUFFIX = {".md": "markdown", ".markdown": "markdown", ".json": "json", ".xml": "junit", ".txt": "text"}


def _selector(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--selector")
        key, value = pair.split("=", 1)
        out[key] = value
    return out


def report_options(f: Any) -> Any:
    options = [
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                     help="Format printed on stdout."),
        click.option("--output", "outputs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                     metavar="FILE", help="Also write the report to FILE; the format follows the extension "
                     "(.md, .json, .xml = JUnit, else --format). Repeatable."),
        click.option("--selector", "selectors", multiple=True, metavar="KEY=VALUE",
                     help="Only count unmanaged jobs whose metadata has KEY=VALUE (repeatable, all must match)."),
        click.option("--include-finished", is_flag=True,
                     help="Also list unmanaged jobs that have finished (default: active ones only)."),
        click.option("--ignore-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Ignore rules (default: .reconcilerignore in the spec folder)."),
        click.option("--notify", metavar="URL", default=None,
                     help="POST new or resolved drift to URL, signed with RECONCILER_NOTIFY_SECRET."),
        click.option("--parallelism", default=10, show_default=True, type=click.IntRange(1, 64),
                     help="API reads at a time."),
        click.option("--lock-timeout", default="0s", show_default=True, metavar="DURATION",
                     help="How long to wait for the state lock held by another run (e.g. 30s)."),
        click.option("--insecure-http", is_flag=True, help="Allow a non-loopback http:// base URL."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _build(ctx: AppContext, o: Out, client: Client, specs: SpecSet, state: State, *, parallelism: int, selectors: tuple[str, ...],
           include_finished: bool, ignore_file: Path | None, applies: bool = False) -> tuple[Any, Any, Any]:
    from reconciler.cli.plan import check_uploads, name_other_workspaces, refuse_empty_specs
    from reconciler.drift import build_report, load_ignore_rules
    from reconciler.drift.ignore import FILENAME
    from reconciler.kinds import registry
    from reconciler.planner.build import PlanOptions
    from reconciler.planner.refresh import refresh_and_plan

    refuse_empty_specs(ctx, specs, state, destroy=False)  # an empty folder is a mistake, not "drift everywhere"
    rules = load_ignore_rules(ignore_file or (ctx.dir / FILENAME))
    plan, snapshot = refresh_and_plan(specs, state, client, PlanOptions(parallelism=parallelism, kinds=registry),
                                      full_listing="drift reports jobs no spec manages")
    if applies:
        check_uploads(specs, plan)  # sync uploads what it plans: the same checks as apply
        plan = name_other_workspaces(ctx, plan)
    from reconciler.cli.plan import evaluation_statuses

    report = build_report(plan, snapshot, specs, state, rules=rules, selector=_selector(selectors),
                          include_finished=include_finished, spec_dir=str(ctx.dir), state_file=str(ctx.state_file),
                          evaluations=evaluation_statuses(specs, plan, state))
    return plan, snapshot, report


def _emit(report: DriftReport, fmt: str, outputs: tuple[Path, ...], o: Out, *, quiet_stdout: bool = False,
          spend: Any = None, cost: bool | None = None) -> None:
    """Print and write the report; `spend` goes in the forms `cost` (--cost/--no-cost) asks for."""
    from reconciler.render.drift import render, spend_wanted

    for path in outputs:
        kind = _SUFFIX.get(path.suffix.lower(), fmt)
        runtime.write_private(path, render(kind, report, spend if spend_wanted(kind, cost) else None))
    if quiet_stdout:
        return
    o.echo(render(fmt, report, spend if spend_wanted(fmt, cost) else None, o.style), nl=False)


def _spend(s: Any, snapshot: Any, key: str) -> Any:
    """What the managed jobs spent, from the jobs this refresh read (no extra request)."""
    from reconciler.cli.cost import price_table
    from reconciler.config.providers import document_platforms
    from reconciler.cost.spend_summary import managed_jobs, spend_summary

    return spend_summary(managed_jobs(s.state, snapshot), price_table(s.specs), key, document_platforms(s.specs, s.state))


def _notify(ctx: AppContext, o: Out, url: str | None, report: DriftReport, *, required: bool = False) -> bool:
    """Send what is new or resolved since the last run, then remember this run's findings; False
    when the webhook did not take them. A finding counts as notified only once the webhook answered
    2xx: after a failed delivery the memory is left as it was, so the next run sends the same news
    again. `required` (--fail-on notify): the failure is an error line, not a warning."""
    from reconciler.cli.runtime import store as state_store
    from reconciler.drift.notify import (
        delta_since_last_run,
        display_url,
        remember,
        remember_unsent,
        send_webhook,
    )

    backend = state_store(ctx)  # the pg backend keeps the drift memory with the state
    delta = delta_since_last_run(report, ctx.state_file, backend)
    if url and delta.changed:
        try:
            send_webhook(url, report, delta, ctx.env.get("RECONCILER_NOTIFY_SECRET"))
        except Exception as exc:  # reported; the findings stay unsent for the next run
            said = (f"notification failed: {exc}; {len(delta.new)} new and {len(delta.resolved)} resolved "
                    "finding(s) stay unsent and are sent again by the next run")
            o.echo(o.style(f"Error: {said}", fg="red") if required else o.style(f"Warning: {said}", fg="yellow"),
                   err=True)
            remember_unsent(delta, ctx.state_file, backend)
            return False
        o.echo(f"Notified {display_url(url)}: {len(delta.new)} new, {len(delta.resolved)} resolved.", err=True)
    elif url:
        o.echo("No notification: nothing new or resolved since the last run.", err=True)
    remember(report, ctx.state_file, backend)
    return True


FAIL_ON = ("drift", "health", "any", "notify")
_REPORT_AXES = ("drift", "health", "any")


def _fail_on(_ctx: Any, _param: Any, values: tuple[str, ...]) -> tuple[str, ...]:
    """--fail-on, repeated or comma-separated: drift, health, any (what in the report fails the
    run; drift when none is named) and notify (a webhook delivery that failed)."""
    chosen: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part not in FAIL_ON:
                raise click.BadParameter(f"{part!r} is not one of {', '.join(FAIL_ON)} (repeat the option or "
                                         "separate them with commas)")
            chosen.append(part)
    if not any(c in _REPORT_AXES for c in chosen):
        chosen.insert(0, "drift")
    return tuple(dict.fromkeys(chosen))


def drift_exit_code(report: DriftReport, fail_on: str | tuple[str, ...]) -> int:
    """2 when the report shows what `fail_on` names, else 0. drift: changes outside reconciler or
    specs not applied (the default); health: a managed job that failed or ran past
    cancel_after_timeout, a managed model within warn_days of its serving end or past it, or an
    Evaluation that failed, is stale or was never compared (ignored findings never count); any: either."""
    drifted = not report.in_sync
    unhealthy = bool(report.has_errors)
    named = (fail_on,) if isinstance(fail_on, str) else fail_on
    axes = {"drift": drifted, "health": unhealthy, "any": drifted or unhealthy}
    failing = any(axes[name] for name in named if name in axes)
    return EXIT_CHANGES if failing else EXIT_OK


@click.command("drift")
@report_options
@click.option("--fail-on", "fail_on", multiple=True, callback=_fail_on, metavar="drift|health|any[,notify]",
              help="What makes the exit code 2: drift (changes outside reconciler, specs not applied; the "
                   "default), health (a managed job failed or timed out, a managed model is within "
                   "Settings.spec.lifecycle.warn_days of its end or past it, an Evaluation failed, is stale or "
                   "was never compared), or any of them. Use any in "
                   "scheduled CI. Add notify (--fail-on any,notify) to exit 1 when the --notify webhook did "
                   "not take the news (it is sent again by the next run either way).")
@click.option("--emit-ignore", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Write an ignore file that accepts every current finding (a baseline).")
@click.option("--cost/--no-cost", "cost", default=None,
              help="What managed jobs spent (trained_tokens × price). Default: in the JSON and Markdown forms "
                   "(what a scheduled CI job keeps and posts), not in text; --cost adds it to text, --no-cost "
                   "leaves it out everywhere. Never in JUnit.")
@click.option("--cost-by", "cost_by", default="team", show_default=True, metavar="KEY",
              help="Group the spend by this metadata key (the total alone when no managed job has it).")
@common_options
def drift(fmt: str, outputs: tuple[Path, ...], selectors: tuple[str, ...], include_finished: bool,
          ignore_file: Path | None, notify: str | None, parallelism: int, lock_timeout: str, insecure_http: bool,
          fail_on: tuple[str, ...], emit_ignore: Path | None, cost: bool | None, cost_by: str) -> int:
    """Report drift between the specs, the state and the live API; change nothing.
    Exit 0 in sync, 2 drifted, 1 on error. Failed jobs are reported as health, not drift: they
    exit 2 only with --fail-on health or --fail-on any (what a scheduled CI job should use)."""
    ctx = app()
    o = out()
    with runtime.session(ctx, o, "drift", lock_timeout=lock_timeout, insecure_http=insecure_http) as s:
        _, snapshot, report = _build(ctx, o, s.client, s.specs, s.state, parallelism=parallelism,
                                     selectors=selectors, include_finished=include_finished, ignore_file=ignore_file)
        spend = _spend(s, snapshot, cost_by) if cost is not False else None
    _emit(report, fmt, outputs, o, spend=spend, cost=cost)
    if emit_ignore is not None:
        from reconciler.drift.ignore import IgnoreRule, dump_ignore_rules

        stamp = time.strftime("%Y-%m-%d", time.gmtime())
        rules = [IgnoreRule(match=f.address, attribute=f.attribute, category=f.category,
                            reason=f"baseline accepted on {stamp} (reconciler drift --emit-ignore)")
                 for f in report.active()]
        runtime.write_private(emit_ignore, dump_ignore_rules(
            rules, "Generated by `reconciler drift --emit-ignore`: each finding below was accepted as it was.\n"
                   "Replace each reason with the real one; delete the rules you do not want."))
        o.echo(f"Wrote {len(rules)} ignore rule(s) to {emit_ignore}.", err=True)
    delivered = _notify(ctx, o, notify, report, required="notify" in fail_on)
    if not delivered and "notify" in fail_on:
        return EXIT_ERROR
    return drift_exit_code(report, fail_on)


@click.command("sync", cls=WaitCommand)
@report_options
@click.option("--prune", is_flag=True, help="Also cancel unmanaged active jobs and revoke grants no spec lists.")
@click.option("--max-deletes", default=5, show_default=True, type=click.IntRange(0),
              help="Refuse to apply a plan that would cancel or revoke more than this.")
@click.option("--wait", type=click.Choice(WAIT_VALUES), is_flag=False, flag_value="grants", default=None,
              metavar="[=jobs]", help="--wait: wait for jobs to finish so pending grants complete now. "
                                      "--wait=jobs: also wait until the jobs this sync creates or replaces "
                                      "finish (exit 1 if one fails).")
@click.option("--timeout", default=None, metavar="DURATION", help="With --wait: give up after e.g. 2h.")
@click.option("--fail-on", "fail_on", type=click.Choice(["notify"]), default=None,
              help="notify: exit 1 when the --notify webhook did not take the news (the sync still applies; "
                   "the news is sent again by the next run either way).")
@click.option("--allow-other-workspaces", is_flag=True,
              help="Create jobs although this workspace of this folder holds live jobs at the same addresses under "
                   "another state lineage (a second copy on purpose). Without it a sync from a lost, pushed or "
                   "restored state refuses, sending nothing.")
@click.option("--allow-other-folder", "allow_other_folder", is_flag=True,
              help="Go on although the state was applied from another spec folder and this sync would destroy, "
                   "revoke or forget its objects.")
@common_options
def sync(fmt: str, outputs: tuple[Path, ...], selectors: tuple[str, ...], include_finished: bool,
         ignore_file: Path | None, notify: str | None, parallelism: int, lock_timeout: str, insecure_http: bool,
         prune: bool, max_deletes: int, wait: str | None, timeout: str | None, fail_on: str | None,
         allow_other_workspaces: bool, allow_other_folder: bool) -> int:
    """The scheduled job in one command: refresh, report drift, apply (auto-approved).
    With --prune also remove what no spec declares. Exit 0 when the apply succeeded, 1 otherwise."""
    from reconciler.apply.policy import ApplyPolicy, apply_plan
    from reconciler.cli.apply import _listener, _summary
    from reconciler.drift.prune import prune_changes

    ctx = app()
    o = out()
    policy = ApplyPolicy(max_deletes=max_deletes, wait=wait is not None, wait_jobs=wait == "jobs",
                         timeout=runtime.parse_duration(timeout),
                         parallelism=parallelism, poll_interval=1.0 if ctx.sandbox else 10.0,
                         allow_other_workspaces=allow_other_workspaces, allow_other_folder=allow_other_folder,
                         workspace_of=runtime.workspace_of(ctx))
    with runtime.session(ctx, o, "sync", lock_timeout=lock_timeout, insecure_http=insecure_http) as s:
        plan, snapshot, report = _build(ctx, o, s.client, s.specs, s.state, parallelism=parallelism,
                                        selectors=selectors, include_finished=include_finished,
                                        ignore_file=ignore_file, applies=True)
        _emit(report, fmt, outputs, o)
        delivered = _notify(ctx, o, notify, report, required=fail_on == "notify")
        if prune:
            plan = dataclasses.replace(plan, changes=plan.changes + tuple(
                prune_changes(report, plan, s.specs, snapshot)))
        from reconciler.cli.cost import estimate_plan_cost
        from reconciler.cli.policy import check_policies

        # a scheduled sync obeys the policies and budgets as apply does (no override: a person gives one)
        policy = dataclasses.replace(policy, policies=check_policies(s.specs, plan, estimate_plan_cost(ctx, s.specs, plan)))
        outcome = apply_plan(s, plan, policy, listener=_listener(o, False), on_start=lambda: o.echo(""))
        if not outcome.applied:
            o.echo("\nNothing to apply.")
            return EXIT_ERROR if not delivered and fail_on == "notify" else EXIT_OK
        assert outcome.result is not None
        result = outcome.result
    o.echo("")
    for address, reason in result.pending:
        o.echo(f"  ? {address}: {reason}")
    for address, message in result.failures:
        o.echo(f"  ✗ {address}: {message}", err=True)
    o.echo(o.style(_summary(result, False).replace("Apply", "Sync"), bold=True,
                   fg="green" if result.ok else "yellow"))
    return EXIT_OK if result.ok and (delivered or fail_on != "notify") else EXIT_ERROR


__all__ = ["drift", "sync"]
