"""Cost in the CLI: the estimate every plan shows (`estimate_plan_cost`, called by `plan` and
`apply` after the plan is made), and `reconciler cost`, the actual spend of managed jobs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli import runtime
from reconciler.cli.context import EXIT_OK, app, common_options, out

if TYPE_CHECKING:
    from reconciler.api.protocols import Client
    from reconciler.cli.context import AppContext
    from reconciler.config.documents import SpecSet
    from reconciler.plan.model import Plan
    from reconciler.state import State


__all__ = ["CHILD_ENV", "child_argv", "child_env", "cost", "cost_cache_path", "estimate_plan_cost", "price_table"]


def cost_cache_path(ctx: AppContext) -> Any:
    """Token counts are cached beside the state: `<state dir>/.cache/token-counts.json`."""
    return ctx.state_file.parent / ".cache" / "token-counts.json"


def price_table(specs: SpecSet) -> Any:
    """prices.json with the Settings document's `spec.pricing` over it."""
    from reconciler.cost.pricing import builtin_prices, parse_overrides

    raw = getattr(getattr(specs, "settings", None), "pricing", None)
    return builtin_prices().with_overrides(parse_overrides(list(raw) if raw else None))


def estimate_plan_cost(ctx: AppContext, specs: SpecSet, plan: Plan) -> Any:
    """The estimated training cost of the jobs `plan` creates or replaces (None when it starts no
    training). Counting reads each training file once; a later plan finds the count in the cache."""
    from reconciler.cost.cache import TokenCache
    from reconciler.cost.estimate import estimate_plan
    from reconciler.cost.files import count_training_files
    from reconciler.cost.hosting import hosting_costs, hosting_prices
    from reconciler.cost.jobs import costed_changes
    from reconciler.kinds.registry import hosted_types

    raw = getattr(getattr(specs, "settings", None), "hosting_prices", None)
    hosting = tuple(hosting_costs(plan, hosting_prices(raw), hosted_types()))
    if not costed_changes(plan) and not hosting:
        return None
    counts = count_training_files(plan, specs.documents, TokenCache(cost_cache_path(ctx)),
                                  count_many=lambda requests: count_in_child(ctx, requests))
    from reconciler.config.providers import document_platforms

    return estimate_plan(plan, specs.documents, counts, price_table(specs), document_platforms(specs), hosting)


# What the token counting child is given of this process's environment: the locale and where
# temporary files go. Never a key, a connection string or a webhook URL: the child talks to nothing.
CHILD_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT")

# Run by `python -I -c`: isolated mode puts neither the working directory nor PYTHONPATH nor the
# user's site-packages on sys.path, so the child imports reconciler from where this process did
# (argv[1]) and nothing from the folder it was started in.
_CHILD_MAIN = ("import sys; sys.path.insert(0, sys.argv[1]); "
               "from reconciler.cost.count_worker import main; sys.exit(main())")


def child_argv(package_root: str) -> list[str]:
    """The token counting child's command line: an isolated interpreter (`-I`)."""
    import sys

    return [sys.executable, "-I", "-c", _CHILD_MAIN, package_root]


def child_env(env: Any) -> dict[str, str]:
    """The part of `env` the token counting child gets (CHILD_ENV)."""
    return {key: str(env[key]) for key in CHILD_ENV if key in env}


def count_in_child(ctx: AppContext, requests: Any) -> Any:
    """Token counts made by a child running reconciler/cost/count_worker.py (the tokenizer's ~67 MiB
    stay in that process). The child starts isolated (child_argv) with only CHILD_ENV: code in the
    working directory or the spec folder is never imported, and no key reaches it. Should the child
    not run or not answer as expected, the files are counted here instead."""
    import logging
    import subprocess
    from pathlib import Path

    import reconciler
    from reconciler.cost.tokens import FileCount, count_in_process

    log = logging.getLogger("reconciler.cost")
    package_root = str(Path(reconciler.__file__).resolve().parent.parent)
    try:
        done = subprocess.run(child_argv(package_root), input=json.dumps([list(r) for r in requests]),
                              capture_output=True, text=True, encoding="utf-8", env=child_env(ctx.env),
                              check=False)
        # (Ctrl-C or SIGTERM to this process raises Interrupted here, and subprocess.run kills the child)
        answers = json.loads(done.stdout) if done.returncode == 0 else None
        if isinstance(answers, list) and len(answers) == len(requests):
            return [FileCount(**a["count"]) if "count" in a else str(a["error"]) for a in answers]
        log.debug("token counting child: exit %s, %s", done.returncode, done.stderr.strip()[-300:])
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.debug("token counting child failed (%s): counting here", exc)
    return count_in_process(requests)


def _managed_jobs(state: State, client: Client, refresh: bool) -> list[tuple[str, dict[str, Any]]]:
    from reconciler.kinds.registry import JOB_KINDS

    jobs = [(address, r) for address, r in sorted(state.resources.items()) if r.kind in JOB_KINDS and r.id]
    live: dict[str, dict[str, Any]] = {}
    if refresh and jobs:
        wanted = {r.id for _, r in jobs}
        for job in client.list_jobs():
            if job.get("id") in wanted:
                live[job["id"]] = job
    found = []
    for address, r in jobs:
        job = dict(r.attributes or {})
        job.update(live.get(r.id or "", {}))
        job.setdefault("id", r.id)
        inputs = r.inputs or {}
        job.setdefault("model", inputs.get("model"))
        job.setdefault("method", inputs.get("method"))
        if not job.get("metadata"):
            job["metadata"] = inputs.get("metadata") or {}
        found.append((address, job))
    return found


@click.command("cost")
@click.option("--by", "by", metavar="KEY", default=None, help="Group by this metadata key (e.g. team).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "csv"]), default="text",
              show_default=True, help="Output format.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--refresh/--no-refresh", default=True, show_default=True,
              help="Read the jobs from the API; --no-refresh uses what the state recorded.")
@click.option("--lock-timeout", default="0s", show_default=True, metavar="DURATION",
              help="How long to wait for the state lock held by another run (e.g. 30s).")
@click.option("--insecure-http", is_flag=True, help="Allow a non-loopback http:// base URL.")
@common_options
def cost(by: str | None, fmt: str, as_json: bool, refresh: bool, lock_timeout: str, insecure_http: bool) -> int:
    """Actual training spend of managed jobs: trained_tokens × the price of the job's base model and
    method (prices.json, overridden by the Settings document's spec.pricing). Changes nothing."""
    from reconciler.cost.spend import group_spend, job_spend
    from reconciler.render import cost as render

    ctx = app()
    o = out()
    fmt = "json" if as_json else fmt
    with runtime.session(ctx, o, "cost", lock_timeout=lock_timeout, insecure_http=insecure_http) as s:
        prices = price_table(s.specs)
        from reconciler.config.providers import document_platforms

        platforms = document_platforms(s.specs, s.state)
        rows = [job_spend(address, job, prices, platforms.get(address, "openai"))
                for address, job in _managed_jobs(s.state, s.client, refresh)]
    groups = group_spend(rows, by) if by is not None else []
    if fmt == "json":
        o.echo(json.dumps(render.spend_json(rows, by, groups), indent=2))
    elif fmt == "csv":
        o.echo(render.spend_csv(rows, by, groups), nl=False)
    elif fmt == "markdown":
        o.echo(render.spend_markdown(rows, by, groups), nl=False)
    else:
        o.echo(render.spend_text(rows, by, groups, o.style), nl=False)
    return EXIT_OK
