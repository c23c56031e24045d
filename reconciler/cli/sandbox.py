"""`reconciler sandbox serve`: run the local OpenAI-compatible fine-tuning API (docs/SANDBOX.md)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from reconciler.cli.context import common_options
from reconciler.cli.runtime import parse_instant


@click.group("sandbox")
@common_options
def sandbox() -> None:
    """Run the local OpenAI-compatible sandbox."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: any free port).")
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep the world in FILE (uploads in FILE.files/); without it the world lives in memory.")
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Run the simulated clock X times faster than wall time.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for ids.")
@click.option("--now", "start_at", metavar="WHEN", default=None,
              help="Start the simulated clock at WHEN (2027-01-07T09:00:00Z) instead of the wall clock: the "
                   "sandbox then dates, ends models and refuses job creates as on that day.")
@click.option("--flavor", type=click.Choice(["openai", "azure"]), default="openai", show_default=True,
              help="Answer as OpenAI (/v1) or as Azure OpenAI: its data plane (/openai/... with api-version, or "
                   "/openai/v1/; api-key header: AZURE_OPENAI_API_KEY when set is the one valid key, else any; "
                   "chat through deployments) and Resource Manager's deployments (/subscriptions/...).")
@click.option("--azure-drop-metadata", is_flag=True,
              help="With --flavor azure: drop a job create's metadata, as Azure's api-version contract has none.")
@click.option("--organization", default="org-sandbox", show_default=True,
              help="The organization every answer names (openai-organization header).")
@click.option("--project", default="proj_sandbox", show_default=True,
              help="The project answers name (openai-project header) when the request names none.")
@click.option("--project-key", "project_keys", multiple=True, metavar="KEY=PROJECT",
              help="Scope KEY to PROJECT as the real API does (repeatable): a project key sees only its "
                   "project's jobs and files; other non-admin keys are refused.")
@click.option("--latency-ms", type=float, default=0.0, help="Fault: added latency per request.")
@click.option("--jitter-ms", type=float, default=0.0, help="Fault: random extra latency up to this much.")
@click.option("--rate-429", type=float, default=0.0, help="Fault: fraction answered 429 with Retry-After.")
@click.option("--rate-500", type=float, default=0.0, help="Fault: fraction answered 500.")
@click.option("--rate-503", type=float, default=0.0, help="Fault: fraction answered 503.")
@click.option("--drop-rate", type=float, default=0.0,
              help="Fault: fraction whose connection is dropped mid-response (after the work is done).")
@click.option("--slow-rate", type=float, default=0.0, help="Fault: fraction answered only after --slow-ms.")
@click.option("--slow-ms", type=float, default=0.0, help="Fault: delay for slow answers.")
@click.option("--retry-after", type=float, default=1.0, show_default=True, help="Fault: Retry-After seconds on 429.")
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Fault: seed of the fault dice.")
@click.option("--fault-path", "fault_paths", multiple=True, metavar="PREFIX",
              help="Fault: only requests whose path starts with PREFIX (repeatable).")
@click.option("--max-connections", default=256, show_default=True, type=click.IntRange(1, 4096),
              help="Connections served at once (one pooled thread each); more are answered 503.")
@click.option("--max-uploads", default=16, show_default=True, type=click.IntRange(1, 1024),
              help="Uploads streamed at once (to disk); more are answered 429 with Retry-After.")
@common_options
def serve(host: str, port: int, data: Path | None, speed: float, seed: int, start_at: str | None, flavor: str,
          azure_drop_metadata: bool, organization: str, project: str, project_keys: tuple[str, ...], max_connections: int, max_uploads: int,
          latency_ms: float, jitter_ms: float,
          rate_429: float, rate_500: float, rate_503: float, drop_rate: float, slow_rate: float, slow_ms: float,
          retry_after: float, fault_seed: int, fault_paths: tuple[str, ...]) -> int:
    """Serve the fine-tuning, files and checkpoint-permission API under /v1 until Ctrl-C."""
    from reconciler_sandbox.projects import parse_project_key
    from reconciler_sandbox.server import Sandbox

    faults: dict[str, Any] = {"latency_ms": latency_ms, "jitter_ms": jitter_ms, "rate_429": rate_429,
                              "rate_500": rate_500, "rate_503": rate_503, "drop_rate": drop_rate,
                              "slow_rate": slow_rate, "slow_ms": slow_ms, "retry_after": retry_after,
                              "seed": fault_seed, "paths": list(fault_paths)}
    try:
        keys = dict(parse_project_key(text) for text in project_keys)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--project-key") from None
    try:
        now = parse_instant(start_at) if start_at is not None else None
    except ValueError:
        raise click.BadParameter(f"{start_at!r} is not a date and time (e.g. 2027-01-07T09:00:00Z)",
                                 param_hint="--now") from None
    try:
        server = Sandbox(data=data, speed=speed, faults=faults, host=host, port=port, seed=seed,
                         organization=organization, project=project, project_keys=keys,
                         max_connections=max_connections, max_uploads=max_uploads, now=now, flavor=flavor,
                         azure_key=os.environ.get("AZURE_OPENAI_API_KEY") if flavor == "azure" else None,
                         azure_metadata=not azure_drop_metadata)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Ctrl-C and SIGTERM are how a server is stopped: a clean stop (exit 0, world saved), not the
    # interruption of a command the CLI reports with 130/143.
    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)}
    server.start()
    where = f" (world in {data})" if data else " (in memory)"
    if flavor == "azure":
        key = "AZURE_OPENAI_API_KEY's value" if server.azure_key else "any api-key"
        click.echo(f"Sandbox listening on {server.url}{where} as Azure OpenAI. Point the SDK at it: "
                   f"AzureOpenAI(azure_endpoint={server.url!r}, api_version=…) with {key}; Resource Manager "
                   f"(Deployments): management_url {server.url} with a bearer token (AZURE_MANAGEMENT_TOKEN's "
                   "value when set, else any).")
    else:
        click.echo(f"Sandbox listening on {server.url}{where}. Point the SDK at it: "
                   f"OPENAI_BASE_URL={server.url}/v1 with any API key (admin keys start with sk-admin-).")
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.stop()
    click.echo("Sandbox stopped." + (f" World saved to {data}." if data else ""))
    return 0


@sandbox.command("advance")
@click.argument("duration")
@click.option("--lock-timeout", default="0s", show_default=True, metavar="DURATION",
              help="How long to wait for the state lock another command holds.")
@common_options
def advance(duration: str, lock_timeout: str) -> int:
    """Move the clock of the --sandbox world (beside the state file) forward by DURATION (90s, 30m,
    2h, 3d): jobs progress, models reach their end dates, as if that much time had passed."""
    import datetime as dt

    from reconciler.cli.context import app, out
    from reconciler.cli.runtime import (
        SANDBOX_PLATFORMS,
        lock_wait_callback,
        parse_duration,
        sandbox_world,
        store,
    )
    from reconciler.errors import ConfigError
    from reconciler_sandbox import run_sandbox

    seconds = parse_duration(duration)
    if seconds is None or seconds < 0:
        raise click.BadParameter(f"{duration!r} is not a duration forward like 90s, 30m, 2h", param_hint="DURATION")
    ctx = app()
    o = out()
    worlds = {p: w for p in SANDBOX_PLATFORMS if (w := sandbox_world(ctx, p)).is_file()}
    if not worlds:
        raise ConfigError(f"{sandbox_world(ctx)}: no sandbox world here yet; run a command with --sandbox first "
                          "(e.g. `reconciler apply --sandbox`)")

    def when(t: float) -> str:
        return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    # The state lock keeps a running `--sandbox` command (which holds it and the worlds) out.
    with store(ctx).lock("sandbox advance", wait=parse_duration(lock_timeout) or 0.0,
                         on_wait=lock_wait_callback(o)):
        for platform, world in worlds.items():
            with run_sandbox(data=world, flavor=platform) as handle:
                before = handle.now()
                after = handle.advance(seconds)
                handle.flush()
            o.echo(f"Sandbox clock moved {duration} forward: {when(before)} → {when(after)} ({world}).")
    return 0


@sandbox.command("speed")
@click.argument("factor", required=False, type=click.FloatRange(min=0, min_open=True, max=1e9))
@common_options
def speed(factor: float | None) -> int:
    """Show, or set to FACTOR, how many times faster than the wall clock the --sandbox clock runs
    (kept beside the state file; RECONCILER_SANDBOX_SPEED overrides it). 1 is real time."""
    import json

    from reconciler.cli.context import app, out
    from reconciler.cli.runtime import sandbox_clock_file, sandbox_speed, write_private

    ctx = app()
    o = out()
    if factor is not None:
        path = sandbox_clock_file(ctx)
        write_private(path, json.dumps({"speed": factor}) + "\n")
        o.echo(f"The --sandbox clock runs {factor:g}× the wall clock from the next command ({path}).")
    current, source = sandbox_speed(ctx)
    if factor is None or source != str(sandbox_clock_file(ctx)):
        o.echo(f"The --sandbox clock runs {current:g}× the wall clock ({source}).")
    return 0
