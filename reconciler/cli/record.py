"""`reconciler record DIR` and `reconciler compare DIR`: keep how each fine-tuned model answers
(before its platform switches it off), then score another model against those answers.

Both read the state under its lock only while loading it, then send chat completions without
holding it (a recording may take minutes; an apply need not wait). Both are resumable: what was
answered is kept, and a second run sends only the prompts that have no answer yet."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli import runtime
from reconciler.cli.context import EXIT_ERROR, EXIT_OK, app, common_options, out
from reconciler.errors import ConfigError

if TYPE_CHECKING:
    from reconciler.api.protocols import Client
    from reconciler.apply.policy import Session
    from reconciler.cli.context import AppContext, Out
    from reconciler.recording.prompts import Prompt
    from reconciler.recording.targets import Target

__all__ = ["compare", "record"]

SAMPLING_TEMPERATURE = 0


def _options(f: Any) -> Any:
    options = [
        click.option("--target", "targets", multiple=True, metavar="ADDR",
                     help="Only this managed job's model (repeatable; default: every trained one)."),
        click.option("--prompts", "prompts_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Chat JSONL whose user turns are the prompts (default: the job's validation file, "
                          "else its training file)."),
        click.option("--max-prompts", type=click.IntRange(1, 1_000_000), default=None,
                     help="Ask at most this many prompts (the first ones)."),
        click.option("--max-completion-tokens", default=512, show_default=True, type=click.IntRange(1, 65536),
                     help="The longest answer asked for (and the bound of the cost estimate)."),
        click.option("--parallelism", default=4, show_default=True, type=click.IntRange(1, 32),
                     help="Prompts in flight at a time (rate limits are honoured on top)."),
        click.option("--auto-approve", is_flag=True, help="Send without asking (the estimate is still shown)."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
        click.option("--lock-timeout", default="0s", show_default=True, metavar="DURATION",
                     help="How long to wait for the state lock while the state is read."),
        click.option("--insecure-http", is_flag=True, help="Allow a non-loopback http:// base URL."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@contextlib.contextmanager
def _reading(ctx: AppContext, o: Out, operation: str, *, lock_timeout: str, insecure_http: bool) -> Iterator[Any]:
    """Specs, the state (read under its lock, which is then let go) and the API clients."""
    from reconciler.apply.policy import Session
    from reconciler.cli.providers import open_clients

    specs = runtime.load_specs(ctx, o)
    st = runtime.store(ctx)
    with st.lock(operation, wait=runtime.parse_duration(lock_timeout) or 0.0,
                 on_wait=runtime.lock_wait_callback(o)):
        state = st.load()
    with open_clients(ctx, specs, state, str(st.path), admin_for=[], insecure_http=insecure_http, out=o) as client:
        yield Session(specs, st, state, client)


def _confirm(o: Out, what: str) -> bool:
    if not sys.stdin.isatty():
        raise ConfigError(f"{what} sends paid requests and there is no terminal to confirm: review the estimate, "
                          "then run with --auto-approve")
    o.echo(o.style(f"Do you want to {what}?", bold=True))
    o.echo("  Only 'yes' will be accepted to approve.\n")
    return str(click.prompt("  Enter a value", default="", show_default=False)).strip() == "yes"


def _ask(client: Any, address: str, model: str, seed: int | None, max_tokens: int,
         deployment: str | None = None) -> Any:
    """Asks one prompt of `model` in `address`'s provider profile (on Azure through `deployment`)."""
    from reconciler.api.profiles import acting_for

    def ask(prompt: Prompt) -> Mapping[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": list(prompt.messages),
                                "temperature": SAMPLING_TEMPERATURE, "max_completion_tokens": max_tokens}
        if seed is not None:
            body["seed"] = seed
        with acting_for(client, address):  # the job's own provider profile (thread-local)
            answer: Mapping[str, Any] = (client.chat_completion(body) if deployment is None else
                                         client.chat_completion(body, deployment))
        return answer

    return ask


def _refuse_shut_down(session: Session, models: list[tuple[str, str, str]]) -> None:
    """One line, before anything is sent, for a model past the day it stops answering (the API's
    shutdown_date, else the end dates), on the API's clock."""
    from reconciler.api.clock import server_now
    from reconciler.cli.inventory import shutdowns
    from reconciler.lifecycle import serving_end, today

    dates = session.specs.settings.lifecycle.dates()
    api = shutdowns(session.client)
    now = server_now(session.client)
    for address, model, platform in models:
        end = serving_end(dates, model, platform, api)
        if end is not None and today(now) >= end.date:
            raise ConfigError(f"{address}: {model} stopped answering on {end.day} ({end.cite()}); there is nothing "
                              "left to ask, and nothing was sent")


def _routing(session: Session) -> tuple[Any, Any]:
    """(platform_of, profile_of): the platform ("openai", "azure") and provider profile of an address."""
    from reconciler.cli.providers import profiles_of
    from reconciler.config.providers import DEFAULT_PROVIDER

    profiles = profiles_of(session.specs, session.state)
    providers = session.specs.providers

    def profile_of(address: str) -> str:
        return str(profiles.get(address, DEFAULT_PROVIDER))

    def platform_of(address: str) -> str:
        provider = providers.get(profile_of(address))
        return str(provider.platform) if provider is not None else "openai"

    return platform_of, profile_of


def _routed(session: Session, targets: list[Target]) -> list[Target]:
    """Targets on Azure asked through a deployment of their model (recording/targets.py)."""
    from reconciler.recording.targets import through_deployments

    platform_of, profile_of = _routing(session)
    return through_deployments(targets, session.state.resources, platform_of, profile_of)


def _default_route(target: Target) -> tuple[str, str | None]:
    return target.via or target.address, target.deployment


def _api_time(client: Client) -> str | None:
    """The API's clock (its last Date header) in ISO 8601, if it answered."""
    import datetime as dt

    from reconciler.api.clock import server_time

    when = server_time(client)
    return dt.datetime.fromtimestamp(when, dt.UTC).isoformat().replace("+00:00", "Z") if when is not None else None


def _live_jobs(client: Client, records: Mapping[str, Any]) -> dict[str, Any]:
    """The managed jobs as the API lists them now, by id."""
    wanted = {r.id for r in records.values() if r.id}
    return {j["id"]: j for j in client.list_jobs() if j.get("id") in wanted}


def _progress(o: Out, as_json: bool, label: str, verb: str = "answered") -> Any:
    step = {"next": 0}

    def on_answer(done: int, total: int) -> None:
        if as_json:
            return
        if done >= step["next"] or done == total:
            o.echo(f"  {label}: {done}/{total} {verb}", err=True)
            step["next"] = done + max(1, total // 10)

    return on_answer


def _estimates(jobs: list[tuple[Target, list[Prompt], Any, dict[str, Any]]], max_tokens: int,
               model_for: Any) -> list[dict[str, Any]]:
    from reconciler.recording.estimate import estimate

    return [estimate(target.address, model_for(target), [p for p in prompts if p.id not in done], max_tokens)
            for target, prompts, _folder, done in jobs]


def _run(o: Out, session: Session, folder_of: Any, targets: list[Target], *, prompts_file: Path | None,
         max_prompts: int | None, max_tokens: int, parallelism: int, auto_approve: bool, as_json: bool,
         what: str, model_for: Any, meta_for: Any, grading_for: Any = None,
         route_for: Any = _default_route) -> list[dict[str, Any]]:
    """Shared by record and compare: open each folder, show the estimate (with what grading the
    answers costs, `grading_for(target, prompts, folder)`, when a model grades them), ask, send, finish.
    `route_for(target)`: (the address whose provider asks, the Azure deployment or None)."""
    from reconciler.recording.estimate import budget_refusal, spent
    from reconciler.recording.run import answer_missing, total_usage
    from reconciler.recording.targets import load_prompts
    from reconciler.render.recording import render_estimates

    platform_of, _profile_of = _routing(session)
    _refuse_shut_down(session, [(t.address, model_for(t), platform_of(route_for(t)[0])) for t in targets])
    jobs = []
    for target in targets:
        prompts, source = load_prompts(target, records=session.state.resources, documents=session.specs.documents,
                                       reader=session.client, override=prompts_file, limit=max_prompts)
        folder = folder_of(target)
        manifest = folder.open(model_for(target), prompts,
                               {**meta_for(target), "prompts_source": source, "prompts": len(prompts)})
        jobs.append((target, prompts, folder, folder.answers.load() if not manifest.get("complete") else {
            p.id: True for p in prompts}))
    estimates = _estimates(jobs, max_tokens, model_for)
    grading = [grading_for(target, prompts, folder) for target, prompts, folder, _done in jobs] if grading_for \
        else []
    pending = sum(e["prompts"] for e in estimates + grading)
    if not as_json:
        o.echo(render_estimates(estimates + grading, o.style))
    budgets = session.specs.settings.budgets
    refusal = budget_refusal(estimates + grading, budgets.max_cost_per_apply, budgets.unknown_cost)
    if refusal is not None:
        raise ConfigError(f"{what} refused by {refusal}")
    if pending and not auto_approve and not _confirm(o, what):
        o.echo(f"\n{what.capitalize()} cancelled.")
        return []
    results = []
    for (target, prompts, folder, done), est in zip(jobs, estimates, strict=True):
        manifest = folder.manifest() or {}
        if not manifest.get("complete"):
            outcome = answer_missing(prompts, folder.answers,
                                     _ask(session.client, route_for(target)[0], model_for(target), target.seed,
                                          max_tokens, route_for(target)[1]),
                                     parallelism=parallelism, done=done,
                                     on_answer=_progress(o, as_json, target.address))
            answers = folder.answers.load()
            if outcome.failed:
                raise ConfigError(f"{target.address}: {len(outcome.failed)} prompt(s) refused by the API, the first "
                                  f"(prompt {outcome.failed[0][0].index + 1}): {outcome.failed[0][1]}; the "
                                  f"{len(answers)} answered are kept in {folder.path}")
            usage = total_usage(answers)
            manifest = folder.finish(manifest, {"usage": usage, "cost": spent(model_for(target), usage),
                                                "completed_at": _api_time(session.client)})
        results.append({"address": target.address, "model": manifest.get("model"), "folder": str(folder.path),
                        "estimate": est, "manifest": manifest})
    for result, graded in zip(results, grading, strict=False):
        result["grading_estimate"] = graded
    return results


def _grading_for(scorer: Any, recording_of: Any, max_tokens: int) -> Any:
    """What grading a comparison's answers with a model grader costs (None for a local grader)."""
    if not scorer.remote:
        return None
    from reconciler.recording.compare import recording_digest
    from reconciler.recording.model_grading import grade_log, graded_ids, grading_estimate

    def estimate(target: Target, prompts: list[Prompt], folder: Any) -> dict[str, Any]:
        recording = recording_of(target)
        answered = folder.answers.load()
        log = grade_log(folder.path, dict(scorer.definition), recording_digest(recording.manifest() or {}))
        return grading_estimate(target.address, scorer, prompts, recording.answers.load(), answered,
                                graded_ids(log, answered), max_tokens)

    return estimate


def _grade(o: Out, session: Any, scorer: Any, recording: Any, comparison: Any, address: str, *, parallelism: int,
           as_json: bool) -> dict[str, Any] | None:
    """A model grader's grades of every pair (sent through graders/run for those not graded yet);
    None for a local grader, which scores as the report is written."""
    if not scorer.remote:
        return None
    from reconciler.api.profiles import acting_for
    from reconciler.recording.compare import recording_digest
    from reconciler.recording.model_grading import grade_log, grade_missing
    from reconciler.recording.prompts import read_prompts

    log = grade_log(comparison.path, dict(scorer.definition), recording_digest(recording.manifest() or {}))
    grade_missing(read_prompts(comparison.prompts_file), recording.answers.load(), comparison.answers.load(), scorer,
                  log, session.client, parallelism=parallelism, acting=lambda: acting_for(session.client, address),
                  on_grade=_progress(o, as_json, address, "graded"))
    return log.load()


@click.command("record")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@_options
@common_options
def record(directory: Path, targets: tuple[str, ...], prompts_file: Path | None, max_prompts: int | None,
           max_completion_tokens: int, parallelism: int, auto_approve: bool, as_json: bool, lock_timeout: str,
           insecure_http: bool) -> int:
    """Record how each managed fine-tuned model answers its prompts (temperature 0, the job's seed),
    into DIRECTORY/<address>/recording/ with a sha256 manifest. Shows the estimated cost first.
    Resumable; never overwrites another model's or another prompt set's recording."""
    from reconciler.recording.store import Folder, folder_name
    from reconciler.recording.targets import select_targets

    ctx = app()
    o = out()
    with _reading(ctx, o, "record", lock_timeout=lock_timeout, insecure_http=insecure_http) as s:
        chosen = _routed(s, select_targets(s.state.resources, targets, _live_jobs(s.client, s.state.resources)))
        if not chosen:
            o.echo("No trained fine-tuned model to record.")
            return EXIT_OK
        results = _run(o, s, lambda t: Folder(directory / folder_name(t.address) / "recording"), chosen,
                       prompts_file=prompts_file, max_prompts=max_prompts, max_tokens=max_completion_tokens,
                       parallelism=parallelism, auto_approve=auto_approve, as_json=as_json, what="record",
                       model_for=lambda t: t.model,
                       meta_for=lambda t: {"kind": "recording", "address": t.address, "job_id": t.job_id,
                                           "base": t.base, **({"deployment": t.deployment} if t.deployment else {}),
                                           "sampling": {"temperature": SAMPLING_TEMPERATURE, "seed": t.seed,
                                                        "max_completion_tokens": max_completion_tokens}})
    if as_json:
        o.echo(json.dumps({"version": 1, "recordings": results}, indent=2))
    else:
        for r in results:
            usage = r["manifest"].get("usage") or {}
            o.echo(f"{o.style(r['address'], bold=True)}: {usage.get('requests', 0)} answers of {r['model']} in "
                   f"{r['folder']} ({usage.get('prompt_tokens', 0):,} prompt + "
                   f"{usage.get('completion_tokens', 0):,} completion tokens)")
    return EXIT_OK


def _compare_grader(grader: str | None, grader_file: Path | None) -> Any:
    """The grader compare scores with: --grader-file, --grader, or fuzzy text similarity."""
    from reconciler.kinds.evaluation.grading import load_grader_file, parse_grader

    if grader is not None and grader_file is not None:
        raise ConfigError("compare: give --grader or --grader-file, not both")
    return load_grader_file(grader_file, str(grader_file)) if grader_file is not None \
        else parse_grader(grader or "text_similarity:fuzzy_match")


def _complete_recordings(directory: Path, chosen: Sequence[Target]) -> dict[str, Any]:
    """Address -> its recording folder under `directory`; refused unless each is complete."""
    from reconciler.recording.store import Folder, folder_name

    recordings = {t.address: Folder(directory / folder_name(t.address) / "recording") for t in chosen}
    missing = [a for a, f in recordings.items() if not (f.manifest() or {}).get("complete")]
    if missing:
        raise ConfigError(f"{directory}: no complete recording of {', '.join(missing)}; run "
                          f"`reconciler record {directory}` first (or name --target)")
    return recordings


def _score_run(o: Out, s: Any, scorer: Any, recording: Any, result: dict[str, Any], threshold: float, worst: int, *,
               parallelism: int, as_json: bool) -> dict[str, Any]:
    """One finished comparison graded (what is not graded yet) and scored against its recording."""
    from reconciler.recording.compare import score_folder
    from reconciler.recording.store import Folder

    comparison = Folder(Path(result["folder"]))
    grades = _grade(o, s, scorer, recording, comparison, result["address"], parallelism=parallelism, as_json=as_json)
    return _with_estimate(score_folder(recording, comparison, scorer, threshold, worst, grades), result)


@click.command("compare")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path), required=False)
@click.option("--evaluation", "evaluations", multiple=True, metavar="ADDR",
              help="Run this Evaluation document (Evaluation.NAME, repeatable): its recording, target, grader "
                   "and threshold come from the spec, and its result is kept beside the recording for plan "
                   "and drift. Without DIRECTORY, --model or --against.")
@click.option("--model", "candidate", default=None, metavar="MODEL",
              help="The model to compare with the recording (a base or fine-tuned model id).")
@click.option("--against", "against", default=None, metavar="ADDR",
              help="Compare with the fine-tuned model of this managed job instead of --model.")
@click.option("--grader", default=None, metavar="GRADER",
              help="How an answer is scored against the recorded one: string_check:OP, text_similarity:METRIC "
                   "(default text_similarity:fuzzy_match), or a grader mapping inline ('{type: score_model, ...}').")
@click.option("--grader-file", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="A YAML or JSON file holding the grader mapping (a score_model grader: model, input messages "
                   "with {{sample.output_text}}, {{item.reference}}, {{item.prompt}}), graded through graders/run.")
@click.option("--threshold", default=0.9, show_default=True, type=click.FloatRange(0, 1),
              help="Pass when the mean score reaches it.")
@click.option("--worst", default=5, show_default=True, type=click.IntRange(0, 1000),
              help="How many of the lowest-scoring prompts to show side by side.")
@_options
@common_options
def compare(directory: Path | None, evaluations: tuple[str, ...], candidate: str | None, against: str | None,
            grader: str | None, grader_file: Path | None, threshold: float, worst: int, targets: tuple[str, ...], prompts_file: Path | None,
            max_prompts: int | None, max_completion_tokens: int, parallelism: int, auto_approve: bool, as_json: bool,
            lock_timeout: str, insecure_http: bool) -> int:
    """Ask another model the recorded prompts and score each answer against the recording. Exit 0
    when every comparison passes its threshold, 1 when one fails (a CI gate before switching)."""
    if evaluations:
        if directory is not None or candidate is not None or against is not None or targets or prompts_file \
                or grader is not None or grader_file is not None:
            raise ConfigError("compare --evaluation takes its recording, target and grader from the spec: drop "
                              "DIRECTORY, --model, --against, --target, --prompts, --grader and --grader-file")
        return _compare_evaluations(evaluations, worst=worst, max_prompts=max_prompts, parallelism=parallelism,
                                    auto_approve=auto_approve, as_json=as_json, lock_timeout=lock_timeout,
                                    insecure_http=insecure_http)
    if directory is None:
        raise ConfigError("compare: give DIRECTORY (what `reconciler record` wrote), or --evaluation ADDR")
    from reconciler.recording.store import Folder, folder_name
    from reconciler.recording.targets import select_targets
    from reconciler.render.recording import compare_text

    if (candidate is None) == (against is None):
        raise ConfigError("compare: give exactly one of --model MODEL or --against ADDR")
    scorer = _compare_grader(grader, grader_file)
    ctx = app()
    o = out()
    with _reading(ctx, o, "compare", lock_timeout=lock_timeout, insecure_http=insecure_http) as s:
        live = _live_jobs(s.client, s.state.resources)
        chosen = select_targets(s.state.resources, targets, live)
        route: Any = None
        if against is not None:
            other = _routed(s, select_targets(s.state.resources, (against,), live))[0]
            candidate = other.model
            route = _default_route(other)
            if not targets:   # by default every other recording; one named with --target may be itself
                chosen = [t for t in chosen if t.address != against]
        assert candidate is not None
        recordings = _complete_recordings(directory, chosen)
        model = candidate

        def folder_of(t: Target) -> Folder:
            return Folder(directory / folder_name(t.address) / "compare" / folder_name(model))

        reports = []
        for target in chosen:
            # the recording's own prompt set (prompts.jsonl is chat JSONL too), unless --prompts
            source = prompts_file or recordings[target.address].prompts_file
            done = _run(o, s, folder_of, [target], prompts_file=source, max_prompts=max_prompts,
                        max_tokens=max_completion_tokens, parallelism=parallelism, auto_approve=auto_approve,
                        as_json=as_json, what="compare", model_for=lambda t: model,
                        meta_for=lambda t: {"kind": "comparison", "address": t.address, "recorded": t.model,
                                            "sampling": {"temperature": SAMPLING_TEMPERATURE, "seed": t.seed,
                                                         "max_completion_tokens": max_completion_tokens}},
                        grading_for=_grading_for(scorer, lambda t: recordings[t.address], max_completion_tokens),
                        route_for=(lambda t: route) if route is not None else _default_route)
            reports += [_score_run(o, s, scorer, recordings[r["address"]], r, threshold, worst,
                                   parallelism=parallelism, as_json=as_json) for r in done]
    if as_json:
        o.echo(json.dumps({"version": 1, "comparisons": reports}, indent=2))
    else:
        o.echo(compare_text(reports, o.style), nl=False)
    return EXIT_OK if reports and all(r["summary"]["passed"] for r in reports) else EXIT_ERROR


def _with_estimate(report: dict[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """The report, with the grading estimate shown before the run beside what was billed."""
    if "grading" in report and result.get("grading_estimate") is not None:
        report["grading"]["estimate"] = result["grading_estimate"]
    return report


def _evaluation_attributes(session: Any) -> dict[str, Any]:
    """What each managed address looks like now: the state's records, jobs overlaid with the live
    listing (a job may have finished since the last apply)."""
    live = _live_jobs(session.client, session.state.resources)
    return {address: {**(record.attributes or {}), **live.get(str(record.id), {})}
            for address, record in session.state.resources.items()}


def _recorded_target(folder: Any, evaluation: Any) -> Target:
    """The recorded model as a Target, from its manifest (the job need not be managed any more)."""
    from reconciler.recording.targets import Target

    manifest = folder.manifest() or {}
    if not manifest.get("complete"):
        raise ConfigError(f"{evaluation.address}: no complete recording in {folder.path}; run `reconciler record` "
                          "until it completes")
    seed = (manifest.get("sampling") or {}).get("seed")
    return Target(address=str(manifest.get("address") or evaluation.address), job_id=str(manifest.get("job_id") or ""),
                  model=str(manifest.get("model")), base=str(manifest.get("base") or ""),
                  seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None, files=())


def _evaluation_route(session: Any, evaluation: Any, recorded: Target, model: str) -> tuple[str, str | None]:
    """Where an Evaluation's target is asked: through the Deployment its target names
    (`${Deployment.x.model}`), else in the provider of the job it names (or of the recording), on
    Azure through a deployment of the model."""
    from reconciler.recording.targets import Target, deployed_by

    address = evaluation.target_ref[0] if evaluation.target_ref is not None else recorded.address
    deployed = deployed_by(session.state.resources.get(address))
    if deployed is not None:
        return address, deployed[1]
    probe = Target(address=address, job_id="", model=model, base="", seed=None, files=())
    return _default_route(_routed(session, [probe])[0])


def _compare_evaluations(addresses: tuple[str, ...], *, worst: int, max_prompts: int | None, parallelism: int,
                         auto_approve: bool, as_json: bool, lock_timeout: str, insecure_http: bool) -> int:
    """`compare --evaluation ADDR`: each Evaluation's target against its recording, with its grader
    and threshold; the result is kept beside the recording (recording/compare.py) for plan and drift."""
    from reconciler.config.schema import suggest
    from reconciler.recording.compare import evaluation_result, score_folder, write_evaluation_result
    from reconciler.recording.status import resolve_target
    from reconciler.recording.store import Folder, folder_name
    from reconciler.render.recording import compare_text

    ctx = app()
    o = out()
    reports = []
    with _reading(ctx, o, "compare", lock_timeout=lock_timeout, insecure_http=insecure_http) as s:
        declared = {e.address: e for e in s.specs.evaluations}
        for address in addresses:
            if address not in declared:
                raise ConfigError(f"--evaluation {address}: no such Evaluation in {ctx.dir}"
                                  f"{suggest(address, declared)}" + (f"; declared: {', '.join(declared)}"
                                                                    if declared else ""))
        attributes = _evaluation_attributes(s)
        for address in addresses:
            evaluation = declared[address]
            recording = Folder(evaluation.recording / "recording")
            target = _recorded_target(recording, evaluation)
            model, why = resolve_target(evaluation, attributes)
            if model is None:
                raise ConfigError(f"{address}: nothing to compare yet: {why}")
            manifest = recording.manifest() or {}
            max_tokens = int((manifest.get("sampling") or {}).get("max_completion_tokens") or 512)
            candidate = model
            scorer = evaluation.scorer()
            route = _evaluation_route(s, evaluation, target, candidate)

            def folder_of(_t: Target, candidate: str = candidate, evaluation: Any = evaluation) -> Folder:
                return Folder(evaluation.recording / "compare" / folder_name(candidate))

            results = _run(o, s, folder_of, [target], prompts_file=recording.prompts_file, max_prompts=max_prompts,
                            max_tokens=max_tokens, parallelism=parallelism, auto_approve=auto_approve,
                            as_json=as_json, what="compare", model_for=lambda t, m=candidate: m,
                            meta_for=lambda t, mt=max_tokens: {
                                "kind": "comparison", "address": t.address, "recorded": t.model,
                                "sampling": {"temperature": SAMPLING_TEMPERATURE, "seed": t.seed,
                                             "max_completion_tokens": mt}},
                            grading_for=_grading_for(scorer, lambda t, r=recording: r, max_tokens),
                            route_for=lambda t, r=route: r)
            if not results:   # not approved
                return EXIT_ERROR
            result = results[0]
            comparison = Folder(Path(result["folder"]))
            grades = _grade(o, s, scorer, recording, comparison, target.address, parallelism=parallelism,
                            as_json=as_json)
            report = _with_estimate(score_folder(recording, comparison, scorer, evaluation.threshold, worst, grades),
                                    result)
            kept = evaluation_result(address, report, evaluation.grader, evaluation.threshold, manifest,
                                     _api_time(s.client))
            report["evaluation"] = address
            report["result_file"] = str(write_evaluation_result(evaluation.recording, evaluation.name, kept))
            reports.append(report)
    if as_json:
        o.echo(json.dumps({"version": 1, "comparisons": reports}, indent=2))
    else:
        o.echo(compare_text(reports, o.style), nl=False)
    return EXIT_OK if all(r["summary"]["passed"] for r in reports) else EXIT_ERROR
