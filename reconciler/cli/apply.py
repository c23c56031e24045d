"""`reconciler apply` and `reconciler destroy`."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli import runtime
from reconciler.cli.context import (
    EXIT_ERROR,
    EXIT_OK,
    app,
    common_options,
    mark_interrupt_reported,
    out,
    signal_received,
)
from reconciler.cli.plan import FOLDER_FLAG, FOLDER_HELP, load_saved_plan, make_plan, plan_options, render
from reconciler.cli.wait_option import WaitCommand
from reconciler.errors import ConfigError

if TYPE_CHECKING:
    from reconciler.apply.events import ApplyResult, Event
    from reconciler.apply.executor import Interruption
    from reconciler.apply.policy import ApplyOutcome, ApplyPolicy, Session
    from reconciler.cli.context import AppContext, Out
    from reconciler.config.documents import SpecSet
    from reconciler.plan.model import Plan
    from reconciler.state import State


def _listener(o: Out, as_json: bool, progress: Any = None) -> Any:
    from reconciler.apply.events import EventKind

    lock = threading.Lock()

    def emit(event: Event) -> None:
        if as_json:
            return
        if event.kind is EventKind.WAITING and progress is not None:
            progress(event)  # --wait: one line per job (cli/progress.py)
            return
        if progress is not None:
            progress.settle(event)  # a row waiting on this change shows how it ended
        ident = f" [id={event.object_id}]" if event.object_id else ""
        if event.kind is EventKind.START:
            line = f"{o.style(event.address, bold=True)}: {event.verb}...{ident}"
        elif event.kind is EventKind.DONE:
            line = f"{o.style(event.address, bold=True)}: {event.verb} complete after " \
                   f"{runtime.elapsed(event.elapsed)}{ident}"
        elif event.kind is EventKind.FAILED:
            line = o.style(f"{event.address}: {event.verb or 'Apply'} failed: {event.message}", fg="red")
        elif event.kind is EventKind.SKIPPED:
            line = o.style(f"{event.address}: {event.message}", fg="yellow")
        elif event.kind is EventKind.PENDING:
            line = o.style(f"{event.address}: pending: {event.message}", fg="blue")
        elif event.kind is EventKind.WAITING:
            line = f"{o.style(event.address, bold=True)}: Still waiting... [{runtime.elapsed(event.elapsed)} " \
                   f"elapsed] {event.message}"
        else:
            line = f"{o.style(event.address, bold=True)}: {event.message}"
        with lock:
            o.echo(line)

    return emit


def _confirm(o: Out, destroy: bool) -> bool:
    if not sys.stdin.isatty():
        raise ConfigError("apply needs confirmation and there is no terminal: review the plan, then run with "
                          "--auto-approve (or apply a saved plan file)")
    what = "destroy all managed objects" if destroy else "perform these actions"
    o.echo(o.style(f"Do you want to {what}?", bold=True))
    o.echo("  reconciler will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n")
    answer = click.prompt("  Enter a value", default="", show_default=False)
    return answer.strip() == "yes"


def _summary(result: ApplyResult, destroy: bool) -> str:
    """Terraform's last line; never "complete!" when something failed or was not attempted."""
    failed = len(result.failures) + len(result.skipped)
    if destroy:
        head = (f"Destroy complete! Resources: {result.destroyed} destroyed" if not failed else
                f"Destroy finished with errors. Resources: {result.destroyed} destroyed")
        extra = f", {result.forgotten} forgotten (they keep existing)" if result.forgotten else ""
        errors = f", {len(result.failures)} failed, {len(result.skipped)} not attempted" if failed else ""
        return head + extra + errors + "."
    head = "Apply complete!" if not failed else "Apply finished with errors."
    text = f"{head} Resources: {result.added} added, {result.changed} changed, {result.destroyed} destroyed."
    extras = []
    if result.failures:
        extras.append(f"{len(result.failures)} failed")
    if result.skipped:
        extras.append(f"{len(result.skipped)} not attempted")
    if result.forgotten:
        extras.append(f"{result.forgotten} forgotten")
    if result.adopted:
        extras.append(f"{result.adopted} adopted")
    if result.pending:
        extras.append(f"{len(result.pending)} pending")
    return text + (f" ({', '.join(extras)})" if extras else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _interrupted_line(signame: str, interruption: Interruption | None, result: ApplyResult, operation: str) -> str:
    """The one line after a SIGINT/SIGTERM stopped an apply: what happened, what was left."""
    if interruption is None:  # the signal came as the last change finished: nothing was left
        return (f"Interrupted ({signame}) as the {operation} finished: nothing was left undone; "
                "the state records it all.")
    parts = [f"{_plural(interruption.done, 'change')} done", f"{len(interruption.not_started)} not started"]
    for items, word in ((result.failures, "failed"), (result.pending, "pending"), (result.skipped, "skipped")):
        if items:
            parts.append(f"{len(items)} {word}")
    left = ""
    if interruption.abandoned:
        parts.append(f"{len(interruption.abandoned)} still in flight left unrecorded "
                     f"({', '.join(interruption.abandoned)})")
        left = " The next plan finds what those made."
    return (f"Interrupted ({signame}): {', '.join(parts)}; the state records what completed.{left} "
            f"Run {operation} again to continue.")


def _plan_again(ctx: AppContext, o: Out, session: Session, saved: Plan, extras: dict[str, Any], plan_file: Path,
                parallelism: int) -> Plan:
    """A saved plan is a promise: bound to the spec files, policies and API account it was made
    with, and made again here, from the current specs and state with the options it was made
    with, it must decide the same (apply/policy.py keep_promise). What is applied is the plan made
    here: nothing the file says reaches the API unless the specs and state here say it too."""
    from reconciler.apply.policy import check_current, keep_promise
    from reconciler.cli.saved_plan import BINDING_KEY, check_binding, check_identities

    name = str(plan_file)
    check_current(session.state, saved, name, state_written=session.store.exists())
    binding = extras.get(BINDING_KEY)
    check_binding(plan_file, binding, ctx.dir, session.specs, session.state)
    replace = tuple(str(a) for a in binding.get("replace") or ()) if isinstance(binding, dict) else ()
    fresh = make_plan(ctx, o, session.specs, session.state, session.client, targets=saved.targets,
                      replace=replace, refresh=saved.refreshed, refresh_only=saved.refresh_only,
                      destroy=saved.destroy, parallelism=parallelism)
    check_identities(plan_file, binding, session.state)
    keep_promise(session.state, saved, fresh, name)
    return fresh


def run_apply(*, plan_file: Path | None, auto_approve: bool, targets: tuple[str, ...], replace: tuple[str, ...],
              refresh: bool, parallelism: int, lock_timeout: str, insecure_http: bool, wait: str | None,
              timeout: str | None, destroy: bool, as_json: bool, poll_interval: float | None,
              max_deletes: int | None = None, policy_overrides: tuple[str, ...] = (),
              reason: str | None = None, allow_other_workspaces: bool = False,
              allow_other_folder: bool = False) -> int:
    from reconciler.apply.policy import ApplyPolicy, apply_plan
    from reconciler.cli.progress import WaitProgress

    ctx = app()
    o = out()
    operation = "destroy" if destroy else "apply"
    saved, extras = load_saved_plan(plan_file) if plan_file is not None else (None, {})
    policy = ApplyPolicy(saved_plan=str(plan_file) if plan_file is not None else None, max_deletes=max_deletes,
                         wait=wait is not None, wait_jobs=wait == "jobs", timeout=runtime.parse_duration(timeout),
                         parallelism=parallelism, allow_other_workspaces=allow_other_workspaces,
                         allow_other_folder=allow_other_folder, workspace_of=runtime.workspace_of(ctx),
                         poll_interval=poll_interval or (1.0 if ctx.sandbox else 10.0))
    with runtime.session(ctx, o, operation, lock_timeout=lock_timeout, insecure_http=insecure_http,
                         saved_plan=saved, saved_check=_saved_check(ctx, plan_file, saved, extras)) as session:
        def fresh_plan() -> Plan:
            if saved is not None and plan_file is not None:
                return _plan_again(ctx, o, session, saved, extras, plan_file, parallelism)
            return make_plan(ctx, o, session.specs, session.state, session.client, targets=targets, replace=replace,
                             refresh=refresh, refresh_only=False, destroy=destroy, parallelism=parallelism)

        the_plan, policy = _reviewed(ctx, o, session, policy, policy_overrides, reason, make=fresh_plan,
                                     probe_first=saved is not None or not refresh,
                                     show=saved is None and not as_json)

        def confirm(plan: Plan) -> bool:
            if plan_file is not None or auto_approve or _confirm(o, destroy):
                return True
            o.echo("\nApply cancelled.")
            return False

        progress = WaitProgress(o.echo, live=sys.stdout.isatty(), color=o.color)
        try:
            outcome = apply_plan(session, the_plan, policy, listener=_listener(o, as_json, progress),
                                 confirm=confirm, on_start=lambda: None if as_json else o.echo(""))
        finally:
            progress.close()
        if not outcome.applied:
            return _not_applied(o, outcome, as_json, plan_file if saved is not None else None)
        assert outcome.result is not None
        state = session.state
    return _report(o, outcome, outcome.result, state, destroy=destroy, as_json=as_json, operation=operation)


def _saved_check(ctx: AppContext, plan_file: Path | None, saved: Plan | None,
                 extras: dict[str, Any]) -> Callable[[SpecSet, State], None] | None:
    """For a saved plan: the check that its providers are the ones the specs and state name now."""
    if plan_file is None:
        return None
    from reconciler.cli.providers import SAVED_KEY, check_saved_plan_providers

    def check(specs: SpecSet, state: State) -> None:
        assert saved is not None  # read from plan_file
        check_saved_plan_providers(plan_file, saved, extras.get(SAVED_KEY), specs, state,
                                   ctx.dir if ctx.dir.is_dir() else None)

    return check


def _reviewed(ctx: AppContext, o: Out, session: Session, policy: ApplyPolicy, policy_overrides: tuple[str, ...],
              reason: str | None, *, make: Callable[[], Plan], probe_first: bool,
              show: bool) -> tuple[Plan, ApplyPolicy]:
    """The plan to apply, with its cost and policies (`show`: printed for review). `probe_first`:
    no refresh reads the API before the changes (a saved plan, or --refresh=false), so which
    account answers is asked first."""
    from reconciler.cli.cost import estimate_plan_cost
    from reconciler.cli.policy import apply_overrides, check_policies
    from reconciler.cli.providers import provider_reviews

    reviews = provider_reviews(ctx, session.specs, session.state, session.client)  # before any account is learnt
    if probe_first:
        runtime.probe_identity(session.client)
    the_plan = make()
    # evaluated on what is applied, from the spec folder here (never the results a plan file holds)
    cost = estimate_plan_cost(ctx, session.specs, the_plan)
    policies = check_policies(session.specs, the_plan, cost)
    policies, policy = apply_overrides(policies, the_plan, policy, policy_overrides, reason)
    if show:
        render(the_plan, "text", o, cost, policies=policies, providers=reviews)
    return the_plan, policy


def _not_applied(o: Out, outcome: ApplyOutcome, as_json: bool, saved_plan: Path | None) -> int:
    if outcome.reason == "cancelled":
        return EXIT_ERROR
    if as_json:
        o.json({"applied": False, "reason": "no changes"})
    elif saved_plan is not None:
        o.echo(f"No changes. {saved_plan} has nothing to apply.")
    return EXIT_OK


def _report(o: Out, outcome: ApplyOutcome, result: ApplyResult, state: State, *, destroy: bool, as_json: bool,
            operation: str) -> int:
    """What the apply did (JSON, or lines and a summary), and its exit status."""
    interrupted = signal_received()
    if as_json:
        o.json(_result_json(outcome, result, state, interrupted))
    else:
        _report_text(o, result, destroy=destroy, interrupted=interrupted is not None)
    if interrupted is not None:
        o.echo(_interrupted_line(interrupted[0], outcome.interruption, result, operation), err=True)
        mark_interrupt_reported()
        return interrupted[1]
    return EXIT_OK if result.ok else EXIT_ERROR


def _result_json(outcome: ApplyOutcome, result: ApplyResult, state: State,
                 interrupted: tuple[str, int] | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "applied": True, "added": result.added, "changed": result.changed, "destroyed": result.destroyed,
        "forgotten": result.forgotten, "adopted": result.adopted,
        "pending": [{"address": a, "reason": r} for a, r in result.pending],
        "failures": [{"address": a, "message": m} for a, m in result.failures],
        "skipped": [{"address": a, "reason": r} for a, r in result.skipped],
        "state_serial": state.serial}
    if interrupted is not None:
        stopped = outcome.interruption
        data["interrupted"] = {"signal": interrupted[0],
                               "not_started": list(stopped.not_started if stopped is not None else ()),
                               "left_in_flight": list(stopped.abandoned if stopped is not None else ())}
    return data


def _report_text(o: Out, result: ApplyResult, *, destroy: bool, interrupted: bool) -> None:
    o.echo("")
    for address, note in result.notes:
        o.echo(f"Note: {address}: {note}")
    if result.pending:
        o.echo(o.style("Pending (a later run completes these, or use --wait):", bold=True))
        for address, reason in result.pending:
            o.echo(f"  ? {address}: {reason}")
        o.echo("")
    if result.failures or result.skipped:
        o.echo(o.style("Apply finished with errors:", fg="red", bold=True), err=True)
        for address, message in result.failures:
            o.echo(f"  ✗ {address}: {message}", err=True)
        for address, reason in result.skipped:
            o.echo(f"  - {address}: {reason}", err=True)
        o.echo("The state records everything that did complete; run apply again to continue.", err=True)
    if not interrupted:
        o.echo(o.style(_summary(result, destroy), fg="green" if result.ok else "yellow", bold=True))


def apply_options(f: Any) -> Any:
    options = [
        click.option("--auto-approve", is_flag=True, help="Skip the interactive 'yes'."),
        click.option("--wait", type=click.Choice(["grants", "jobs"]), is_flag=False, flag_value="grants",
                     default=None, metavar="[=jobs]",
                     help="--wait: wait for the jobs pending grants need, so the grants complete now. "
                          "--wait=jobs: also wait until the jobs this apply creates or replaces finish "
                          "(exit 1 if one fails). One progress line per job: status, step, train loss, "
                          "time left."),
        click.option("--timeout", default=None, metavar="DURATION", help="With --wait: give up after e.g. 2h."),
        click.option("--poll-interval", default=None, type=float, metavar="SECONDS",
                     help="With --wait: seconds between job status reads (default 10; 1 with --sandbox)."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
        click.option(FOLDER_FLAG, "allow_other_folder", is_flag=True, help=FOLDER_HELP),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.command("apply", cls=WaitCommand)
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@plan_options
@apply_options
@click.option("--max-deletes", default=10, show_default=True, type=click.IntRange(0),
              help="Refuse a plan that would cancel or revoke more than this many objects.")
@click.option("--policy-override", "policy_overrides", multiple=True, metavar="RULE",
              help="Proceed although RULE (Policy.NAME or budgets.KEY) denies; needs --reason. "
                   "Recorded in the state with who and why (repeatable).")
@click.option("--reason", default=None, metavar="TEXT", help="Why the --policy-override is justified.")
@click.option("--allow-other-workspaces", is_flag=True,
              help="Create jobs although this workspace of this folder holds live jobs at the same addresses "
                   "under another state lineage (a lost, pushed or restored state): a second copy on purpose.")
@common_options
def apply(plan_file: Path | None, auto_approve: bool, targets: tuple[str, ...], replace: tuple[str, ...],
          refresh: bool, parallelism: int, lock_timeout: str, insecure_http: bool, wait: str | None,
          timeout: str | None,
          poll_interval: float | None, as_json: bool, max_deletes: int, policy_overrides: tuple[str, ...],
          reason: str | None, allow_other_workspaces: bool, allow_other_folder: bool) -> int:
    """Make the world match the specs (or apply a saved plan exactly)."""
    return run_apply(plan_file=plan_file, auto_approve=auto_approve, targets=targets, replace=replace,
                     refresh=refresh, parallelism=parallelism, lock_timeout=lock_timeout,
                     insecure_http=insecure_http, wait=wait, timeout=timeout, destroy=False, as_json=as_json,
                     poll_interval=poll_interval, max_deletes=max_deletes, policy_overrides=policy_overrides,
                     reason=reason, allow_other_workspaces=allow_other_workspaces,
                     allow_other_folder=allow_other_folder)


def _destroy_plan_options(f: Any) -> Any:
    return plan_options(f, replace=False)


@click.command("destroy", cls=WaitCommand)
@_destroy_plan_options
@apply_options
@common_options
def destroy(auto_approve: bool, targets: tuple[str, ...], refresh: bool, parallelism: int,
            lock_timeout: str, insecure_http: bool, wait: str | None, timeout: str | None,
            poll_interval: float | None,
            as_json: bool, allow_other_folder: bool) -> int:
    """Cancel active managed jobs, revoke managed grants, delete uploaded files; forget finished jobs."""
    return run_apply(plan_file=None, auto_approve=auto_approve, targets=targets, replace=(), refresh=refresh,
                     parallelism=parallelism, lock_timeout=lock_timeout, insecure_http=insecure_http, wait=wait,
                     timeout=timeout, destroy=True, as_json=as_json, poll_interval=poll_interval,
                     allow_other_folder=allow_other_folder)
