"""Wiring shared by the commands that talk to the API: the environment (read here), the client
or the built-in sandbox, the specs and the state store."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli.context import AppContext, Out, joined_in_chunks
from reconciler.errors import ConfigError

if TYPE_CHECKING:
    from reconciler.apply.policy import Session
    from reconciler.config.documents import SpecSet
    from reconciler.plan.model import Plan
    from reconciler.state import State
    from reconciler.state.model import Owner

DEFAULT_BASE_URL = "https://api.openai.com/v1"
SANDBOX_PROJECT_KEY = "sk-sandbox-project-key"
SANDBOX_ADMIN_KEY = "sk-admin-sandbox-key"
SANDBOX_SPEED = 60.0


def parse_instant(text: str) -> float:
    """"2027-01-07T09:00:00Z" or "2027-01-07" (UTC midnight) -> a POSIX time (ValueError otherwise)."""
    import datetime as dt

    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


SANDBOX_PLATFORMS = ("openai", "azure")


def sandbox_world(ctx: AppContext, platform: str = "openai") -> Path:
    """Where the --sandbox world of a platform is kept: beside the state file."""
    suffix = "" if platform == "openai" else f"-{platform}"
    return ctx.state_file.parent / f"sandbox-world{suffix}.json"


def sandbox_clock_file(ctx: AppContext) -> Path:
    """Where `reconciler sandbox speed X` keeps the --sandbox clock's speed: beside the world."""
    return ctx.state_file.parent / "sandbox-clock.json"


def sandbox_speed(ctx: AppContext) -> tuple[float, str]:
    """How many times faster than the wall clock the --sandbox clock runs, and where that was said:
    RECONCILER_SANDBOX_SPEED, else what `sandbox speed X` kept, else SANDBOX_SPEED."""
    import json
    import math

    raw = ctx.env.get("RECONCILER_SANDBOX_SPEED")
    if raw:
        try:
            speed = float(raw)
        except ValueError:
            speed = math.nan
        if not math.isfinite(speed) or speed <= 0:
            raise ConfigError(f"RECONCILER_SANDBOX_SPEED={raw!r} is not a positive number (e.g. 60)")
        return speed, "RECONCILER_SANDBOX_SPEED"
    path = sandbox_clock_file(ctx)
    if path.is_file():
        try:
            kept = json.loads(path.read_text(encoding="utf-8")).get("speed")
        except (OSError, ValueError, AttributeError):
            kept = None
        if isinstance(kept, (int, float)) and not isinstance(kept, bool) and math.isfinite(kept) and kept > 0:
            return float(kept), str(path)
        raise ConfigError(f"{path}: not a sandbox clock this version reads; set it again with "
                          "`reconciler sandbox speed X`")
    return SANDBOX_SPEED, "the default"


def sandbox_now(ctx: AppContext) -> float | None:
    """The moment the built-in sandbox's clock starts at (RECONCILER_SANDBOX_NOW), or None."""
    raw = ctx.env.get("RECONCILER_SANDBOX_NOW")
    if not raw:
        return None
    try:
        return parse_instant(raw)
    except ValueError:
        raise ConfigError(f"RECONCILER_SANDBOX_NOW={raw!r} is not a date and time "
                          "(e.g. 2027-01-07T09:00:00Z)") from None


def load_specs(ctx: AppContext, out: Out | None = None) -> Any:
    specs = ctx.load_collected().specset_or_raise()
    if out is not None:
        for warning in specs.warnings:
            out.echo(out.style("Warning: ", fg="yellow", bold=True) + str(warning), err=True)
    return specs


def store(ctx: AppContext) -> Any:
    """The state store: local files or PostgreSQL, as the Settings document says."""
    from reconciler.cli.backend import open_store

    return open_store(ctx)


def needs_admin(specs: SpecSet, state: State, plan: Plan | None = None) -> list[str]:
    """Addresses that need the admin key: permissions declared in the specs, recorded in the state,
    or changed by a saved `plan`."""
    from reconciler.kinds.registry import admin_kinds

    admin = admin_kinds()
    wanted = [a for a, d in specs.documents.items() if d.type in admin or d.kind in admin]
    wanted += [c.address for c in (plan.changes if plan is not None else ()) if c.kind in admin]
    declared = set(wanted)  # a set: `not in wanted` on the list was quadratic
    wanted += [a for a, r in state.resources.items() if r.kind in admin and a not in declared]
    return wanted


@contextlib.contextmanager
def api_client(ctx: AppContext, *, admin_for: list[str] | None = None, insecure_http: bool = False,
               out: Out | None = None) -> Iterator[Any]:
    """The API client for this run: the built-in sandbox with --sandbox, else from OPENAI_* ."""
    from reconciler.api import ApiClient
    from reconciler.api.client import client_options_from_env

    with contextlib.ExitStack() as stack:
        key: str | None
        admin: str | None
        sources: dict[str, str] = {}  # named in the hint of a 401 / a 404 (which variable to check)
        if ctx.sandbox:
            from reconciler_sandbox import run_sandbox

            speed, _ = sandbox_speed(ctx)
            handle = stack.enter_context(run_sandbox(data=sandbox_world(ctx), speed=speed, now=sandbox_now(ctx)))
            base_url, key, admin = handle.base_url, SANDBOX_PROJECT_KEY, SANDBOX_ADMIN_KEY
            org = project = None
        else:
            base_url = ctx.env.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
            key = ctx.env.get("OPENAI_API_KEY")
            admin = ctx.env.get("OPENAI_ADMIN_KEY")
            org = ctx.env.get("OPENAI_ORG_ID") or ctx.env.get("OPENAI_ORGANIZATION")
            project = ctx.env.get("OPENAI_PROJECT_ID")
            sources = {"api_key": "OPENAI_API_KEY" if key else "OPENAI_ADMIN_KEY", "admin_key": "OPENAI_ADMIN_KEY",
                       "base_url": "OPENAI_BASE_URL" if ctx.env.get("OPENAI_BASE_URL") else "the base URL"}
            if not key and not admin:
                raise ConfigError("no API key: set OPENAI_API_KEY (and OPENAI_ADMIN_KEY for checkpoint "
                                  "permissions), or try it out with --sandbox")
            if admin_for and not admin:
                raise ConfigError(f"{admin_for[0]} needs an admin key to read and change checkpoint permissions: "
                                  "set OPENAI_ADMIN_KEY" + (f" (also needed by {len(admin_for) - 1} more)"
                                                            if len(admin_for) > 1 else ""))
        on_retry = None
        if out is not None:
            def on_retry(info: Any) -> None:
                out.echo(out.style(f"  … {info.reason}: retrying {info.method} {info.path} in "
                                   f"{info.delay:.1f}s (attempt {info.attempt})", dim=True), err=True)
        client = ApiClient(base_url, key or admin, admin, org, project, insecure_http=insecure_http,
                           on_retry=on_retry, sources=sources, **client_options_from_env(ctx.env))
        stack.callback(client.close)
        yield client


@contextlib.contextmanager
def session(ctx: AppContext, out: Out, operation: str, *, lock_timeout: str, insecure_http: bool,
            saved_plan: Plan | None = None, saved_check: Callable[[Any, Any], None] | None = None) -> Iterator[Session]:
    """Load the specs (nothing is sent when they are invalid), take the state lock for the whole
    operation, load the state, and open the API client (or the built-in sandbox).

    Applying a `saved_plan` reads the specs too: the plan is made again from them and must be the
    same (cli/apply.py); the admin key is required up front when the plan touches checkpoint
    permissions. `saved_check` runs once the state is loaded, before any client is opened."""
    specs = load_specs(ctx, out)
    st = store(ctx)
    with st.lock(operation, wait=parse_duration(lock_timeout) or 0.0, on_wait=lock_wait_callback(out)):
        state = st.load()
        state.owner = owner(ctx, st)
        if state.recovered_from_journal:
            out.echo(f"Recovered {state.recovered_from_journal} action(s) recorded by an interrupted run.", err=True)
        from reconciler.cli.providers import open_clients

        if saved_check is not None:  # the saved plan's profiles are still the folder's (cli/providers.py)
            saved_check(specs, state)
        # one client per provider profile (cli/providers.py), or the one from OPENAI_* when no profile is used
        with open_clients(ctx, specs, state, str(st.path), admin_for=needs_admin(specs, state, saved_plan),
                          insecure_http=insecure_http, out=out) as client:
            from reconciler.apply.policy import Session

            yield Session(specs, st, state, client)


def owner(ctx: AppContext, st: Any) -> Owner:
    """Who this run acts as: the workspace (a local state named by --state / RECONCILER_STATE is
    the workspace its file names) and the spec folder (resources/ownership.py folder_identity)."""
    from reconciler.resources.ownership import folder_identity
    from reconciler.state.model import Owner

    named = getattr(st, "backend", "local") == "local" and (ctx.state_path or ctx.env.get("RECONCILER_STATE"))
    workspace = Path(ctx.state_file).stem if named else ctx.workspace_name
    return Owner(workspace, folder_identity(ctx.dir, Path.cwd()))


def workspace_of(ctx: AppContext) -> Callable[[str], str | None]:
    """The workspace whose state (in this backend) has a lineage mark: read, on the first call,
    from every workspace's state; for jobs an older reconciler marked with the lineage only."""
    from reconciler.cli.workspace import lineages

    found: dict[str, str] = {}
    read = False

    def lookup(lineage_mark: str) -> str | None:
        nonlocal read
        if not read:
            found.update(lineages(ctx))
            read = True
        return found.get(lineage_mark)
    return lookup


def bind_identity(client: Any, state: State, where: str) -> None:
    """At the API's first answer (before anything can change: the client asks first when its first
    request would change something), refuse an account other than the one `state` belongs to;
    otherwise the state records the account on its next write."""
    from reconciler.identity import ApiIdentity, check_identity

    def on_identity(reported: ApiIdentity) -> None:
        state.api = check_identity(state.api, reported, where=where)

    client.on_identity = on_identity


def probe_identity(client: Any) -> None:
    """Ask which account answers now (one small read), when nothing has been read yet: a saved
    plan or -refresh=false would otherwise meet the account only at its first change."""
    client.probe_identity()


def lock_wait_callback(out: Out) -> Any:
    def on_wait(info: Any) -> None:
        out.echo(f"Waiting for the state lock held by {info.describe() if hasattr(info, 'describe') else info}…",
                 err=True)

    return on_wait


def parse_duration(text: str | None) -> float | None:
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        if text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except (ValueError, IndexError):
        raise click.BadParameter(f"{text!r} is not a duration like 90s, 30m, 2h") from None


def elapsed(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    m, s = divmod(seconds, 60)
    return f"{m}m{s}s" if m < 60 else f"{m // 60}h{m % 60}m"


def write_private(path: Path, text: str | Iterable[str]) -> None:
    """Write a file readable by its owner only (plans and reports hold ids and project names),
    atomically: the state store's writer. `text` may come in pieces (a large plan)."""
    from reconciler.state.files import atomic_write, ensure_dir

    ensure_dir(path.parent)
    if isinstance(text, str):
        atomic_write(path, text.encode("utf-8"))
    else:
        # ~1 MB per write: one system call per small piece is slow
        atomic_write(path, (chunk.encode("utf-8") for chunk in joined_in_chunks(text, 1 << 20)))
