"""`reconciler plan`: refresh, diff, show; optionally save the plan for `apply FILE`."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli import runtime
from reconciler.cli.context import EXIT_CHANGES, EXIT_OK, app, common_options, out

if TYPE_CHECKING:
    from reconciler.api.protocols import Reader
    from reconciler.apply.policy import Session
    from reconciler.cli.context import AppContext, Out
    from reconciler.config.documents import SpecSet
    from reconciler.plan.model import Plan
    from reconciler.state import State

# The flag reconciler/planner/folders.py names in its refusal (FOLDER_FLAG), spelled here so that
# `--help` loads no planner module.
FOLDER_FLAG = "--allow-other-folder"
FOLDER_HELP = ("Go on although the state was applied from another spec folder and this plan would destroy, "
               "revoke or forget its objects (moving the state to this folder on purpose).")


def plan_options(f: Any, *, replace: bool = True) -> Any:
    """The options of every command that plans; `replace=False` leaves out --replace (destroy
    replaces nothing)."""
    options = [
        click.option("--target", "targets", multiple=True, metavar="ADDR",
                     help="Limit the plan to ADDR and what it depends on (repeatable)."),
        *([click.option("--replace", "replace", multiple=True, metavar="ADDR",
                        help="Force a new job/upload for ADDR even if nothing changed (repeatable).")]
          if replace else []),
        click.option("--refresh/--no-refresh", default=True, show_default=True,
                     help="Read the live API before planning; --no-refresh trusts the state."),
        click.option("--parallelism", default=10, show_default=True, type=click.IntRange(1, 64),
                     help="Concurrent API reads and actions."),
        click.option("--lock-timeout", default="0s", show_default=True, metavar="DURATION",
                     help="How long to wait for the state lock."),
        click.option("--insecure-http", is_flag=True, help="Allow a non-loopback http:// base URL."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_plan(ctx: AppContext, o: Out, specs: SpecSet, state: State, client: Reader | None, *,
              targets: tuple[str, ...], replace: tuple[str, ...], refresh: bool, refresh_only: bool, destroy: bool,
              parallelism: int) -> Plan:
    from reconciler.kinds import registry
    from reconciler.planner.build import PlanOptions
    from reconciler.planner.refresh import build_plan

    refuse_empty_specs(ctx, specs, state, destroy=destroy)
    options = PlanOptions(targets=tuple(targets), replace=tuple(replace), refresh=refresh,
                          refresh_only=refresh_only, destroy=destroy, parallelism=parallelism, kinds=registry)
    result = build_plan(specs, state, client, options)
    check_uploads(specs, result)
    return name_other_workspaces(ctx, result)


def name_other_workspaces(ctx: AppContext, plan: Plan) -> Plan:
    """The plan with a name for every job an older reconciler marked with a lineage only, when a
    workspace's state here has that lineage (planner/elsewhere.py)."""
    from reconciler.planner.elsewhere import name_lineages

    return name_lineages(plan, runtime.workspace_of(ctx))


def refuse_other_folder(session: Session, plan: Plan) -> None:
    """A plan from another spec folder than the state's that takes anything away (planner/folders.py)."""
    from reconciler.apply.policy import where_of
    from reconciler.errors import PlanError
    from reconciler.planner.folders import folder_refusal

    owner = session.state.owner
    refusal = folder_refusal(plan, recorded=session.state.folder, current=owner.folder if owner else None,
                             where=where_of(session.store))
    if refusal is not None:
        raise PlanError(refusal)


def refuse_empty_specs(ctx: AppContext, specs: SpecSet, state: State, *, destroy: bool) -> None:
    """A spec folder with no documents while the state manages objects is refused, as Terraform
    refuses an empty configuration: it is far more often a wrong -C/--dir, a failed checkout or a
    mistyped glob than a wish to cancel every job and revoke every grant. `--destroy` (and
    `reconciler destroy`) say that wish out loud."""
    from reconciler.errors import ConfigError

    if destroy or specs.documents or not state.resources:
        return
    n = len(state.resources)
    raise ConfigError(f"{ctx.dir} holds no spec documents, but the state ({ctx.state_file}) manages {n} "
                      f"object{'s' if n != 1 else ''}: refusing to plan destroying {'them all' if n != 1 else 'it'}. "
                      "Check -C/--dir; to really destroy everything, run `reconciler plan --destroy` "
                      "or `reconciler destroy`.")


def check_uploads(specs: SpecSet, plan: Plan) -> None:
    """The training-data checks of `validate`, on every File this plan would upload (create or
    replace), streaming: a bad file is refused with validate's file:line messages before anything
    is uploaded or any job is created on it (and paid for, to end `failed`)."""
    from reconciler.errors import SpecErrors
    from reconciler.kinds.job.training_files import check_training_files
    from reconciler.plan.model import Op

    uploads = {c.address for c in plan.changes if any(s.op is Op.UPLOAD for s in c.steps)}
    if not uploads:
        return
    errors = check_training_files(specs, only=uploads)
    if errors:
        raise SpecErrors(errors)


@click.command("plan")
@plan_options
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Save the plan; `reconciler apply FILE` applies exactly it.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 2 with changes, 1 on error.")
@click.option("--refresh-only", is_flag=True, help="Only show what changed outside reconciler.")
@click.option("--destroy", is_flag=True, help="Plan to destroy everything in the state.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (docs/PLAN_JSON.md).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default=None,
              help="Output format (markdown: for a pull-request comment).")
@click.option(FOLDER_FLAG, "allow_other_folder", is_flag=True, help=FOLDER_HELP)
@click.option("--compact/--no-compact", default=None,
              help="Group identical changes into one line each (default: above 20 changes). Destroys, "
                   "replacements, revokes and cancels always keep their own entry.")
@common_options
def plan(targets: tuple[str, ...], replace: tuple[str, ...], refresh: bool, parallelism: int, lock_timeout: str,
         insecure_http: bool, out_file: Path | None, detailed_exitcode: bool, refresh_only: bool, destroy: bool,
         as_json: bool, fmt: str | None, compact: bool | None, allow_other_folder: bool) -> int:
    """Show what apply would change, without changing anything."""
    ctx = app()
    o = out()
    fmt = "json" if as_json else (fmt or "text")
    with runtime.session(ctx, o, "plan", lock_timeout=lock_timeout, insecure_http=insecure_http) as s:
        from reconciler.cli.providers import provider_reviews

        reviews = provider_reviews(ctx, s.specs, s.state, s.client)  # before refresh records any account
        result = make_plan(ctx, o, s.specs, s.state, s.client, targets=targets, replace=replace, refresh=refresh,
                           refresh_only=refresh_only, destroy=destroy, parallelism=parallelism)
        if not allow_other_folder:
            refuse_other_folder(s, result)
        evaluations = evaluation_statuses(s.specs, result, s.state)
    from reconciler.cli.cost import estimate_plan_cost

    cost = estimate_plan_cost(ctx, s.specs, result)
    from reconciler.cli.policy import check_policies

    policies = check_policies(s.specs, result, cost)
    render(result, fmt, o, cost, compact=compact, policies=policies, providers=reviews, evaluations=evaluations)
    if out_file is not None:
        from reconciler.cli.providers import saved_plan_providers
        from reconciler.cli.saved_plan import make_binding

        save_plan(result, out_file, ctx, cost, policies, providers=saved_plan_providers(s.specs, s.state, result),
                  binding=make_binding(ctx.dir, s.specs, s.state, replace))
        o.echo(f"\nSaved the plan to: {out_file}\nTo perform exactly these actions, run: "
               f"reconciler apply {out_file}", err=fmt != "text")
    if detailed_exitcode and result.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


def evaluation_statuses(specs: Any, plan: Any, state: Any) -> list[Any]:
    """Where each `kind: Evaluation` stands for this plan (recording/status.py); nothing is sent."""
    if not specs.evaluations:
        return []
    from reconciler.recording.status import plan_statuses

    return plan_statuses(specs.evaluations, plan, state.resources)


def render(result: Plan, fmt: str, o: Out, cost: Any = None, *, compact: bool | None = None,
           policies: Any = None, providers: Any = (), evaluations: Any = ()) -> None:
    """The plan in `fmt`; `policies` (a PolicyReport) adds every policy and budget result: a
    `policies` array in JSON (only when there are results), a table in Markdown, lines in text.
    `providers` (planner/providers.py reviews) shows where the run sends API keys: a
    `provider_documents` array in JSON, a table in Markdown, lines before the plan in text.
    `evaluations` (recording/status.py): an `evaluations` array in JSON, a table in
    Markdown, lines after the policies in text."""
    from reconciler.render.evaluations import evaluation_markdown, iter_evaluation_lines
    from reconciler.render.policy import iter_policy_lines, policy_markdown

    if fmt == "json":
        from reconciler.render.json_plan import iter_plan_json

        extra: dict[str, Any] = {"policies": policies.to_list()} if policies is not None and policies.results else {}
        if providers:
            extra["provider_documents"] = [r.to_dict() for r in providers]
        if evaluations:
            extra["evaluations"] = [e.to_dict() for e in evaluations]
        o.echo_pieces(itertools.chain(iter_plan_json(result, cost=cost, extra=extra or None), ["\n"]))
    elif fmt == "markdown":
        from reconciler.render.markdown import render_plan_markdown

        o.echo(render_plan_markdown(result, cost=cost, providers=providers)
               + (policy_markdown(policies) if policies is not None else "") + evaluation_markdown(evaluations))
    else:
        from reconciler.render.providers import provider_lines
        from reconciler.render.text import iter_plan_lines

        o.echo_pieces(line + "\n" for line in itertools.chain(
            provider_lines(providers, o.style),
            iter_plan_lines(result, o.style, cost, compact),
            iter_policy_lines(policies, o.style) if policies is not None else (),
            iter_evaluation_lines(evaluations, o.style)))


def save_plan(result: Plan, path: Path, ctx: AppContext, cost: Any = None, policies: Any = None,
              providers: dict[str, Any] | None = None, binding: dict[str, Any] | None = None) -> None:
    """Write the plan for `apply PLANFILE`: with what it is bound to (cli/saved_plan.py) and
    sealed by the digest of its text."""
    from reconciler.cli.saved_plan import BINDING_KEY, sealed
    from reconciler.render.json_plan import iter_plan_json

    extra: dict[str, Any] = {"state_file": str(ctx.state_file)}
    if providers is not None:  # which profile each change goes to (cli/providers.py checks it at apply)
        extra["providers"] = providers
    if policies is not None and policies.results:
        extra["policies"] = policies.to_list()  # shown by `show`; apply evaluates the policies again
    if binding is not None:
        extra[BINDING_KEY] = binding
    runtime.write_private(path, sealed(iter_plan_json(result, indent=1, extra=extra, cost=cost)))


# What a saved plan file holds beside the plan itself, read with it (cli/apply.py): the policy
# results it was made with, the provider profiles of its changes, and what it is bound to.
SAVED_EXTRAS = ("policies", "providers", "binding")


def load_plan(path: Path) -> Any:
    """The plan in `path`, to show: its seal is not checked (apply checks it)."""
    return load_saved_plan(path, check_seal=False)[0]


def load_saved_plan(path: Path, *, check_seal: bool = True) -> tuple[Plan, dict[str, Any]]:
    """The plan in `path` and the extras saved beside it (SAVED_EXTRAS), from one bounded read of a
    regular file; a file whose digest does not match its text is refused (cli/saved_plan.py)."""
    from reconciler.bounded import MAX_PLAN_BYTES, RefusedFile, read_regular
    from reconciler.errors import StateError
    from reconciler.render.json_plan import FORMAT_VERSION, plan_from_dict

    try:
        from reconciler.sharing import dedupe_hook
        from reconciler.state.model import NonFiniteNumber, strict_numbers

        text = read_regular(path, MAX_PLAN_BYTES).decode("utf-8")
        # changes repeat their kinds, models and ids many times over: one string each
        data = json.loads(text, object_hook=dedupe_hook(), **strict_numbers())
    except OSError as exc:
        raise StateError(f"{path}: cannot read the plan: {exc.strerror}") from None
    except RefusedFile as exc:
        raise StateError(f"{path}: plan file {exc}") from None
    except NonFiniteNumber as exc:
        raise StateError(f"{path}: damaged plan file ({exc}); make a new plan") from None
    except ValueError:
        raise StateError(f"{path}: not a saved plan (not JSON)") from None
    if not isinstance(data, dict) or "resource_changes" not in data or "lineage" not in data:
        raise StateError(f"{path}: not a saved plan")
    if str(data.get("format_version", "")).split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise StateError(f"{path}: plan format {data.get('format_version')} is not supported by this version")
    if check_seal:
        from reconciler.cli.saved_plan import check_seal as seal_holds

        seal_holds(path, text)
    del text
    try:
        return plan_from_dict(data), {key: data[key] for key in SAVED_EXTRAS if key in data}
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"{path}: damaged plan file ({type(exc).__name__}: {exc})") from None
