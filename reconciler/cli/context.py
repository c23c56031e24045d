"""What every command shares: global options, the environment (read here and only here),
output with or without colour, and the guard that turns errors into exit codes."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler import __version__
from reconciler.bounded import MAX_LOCK_BYTES, RefusedFile, read_regular
from reconciler.errors import ReconcilerError, SpecErrors
from reconciler.secrets import install_log_redaction, redact, register_secret

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_BUG = 3
EXIT_SIGINT = 130   # 128 + SIGINT, as a shell reports a Ctrl-C
EXIT_SIGTERM = 143  # 128 + SIGTERM, how CI cancels a job

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AppContext:
    """Resolved global options. Defaults are applied in `finalize`, so an option given after the
    subcommand overrides one given before it, and an unset one never does."""

    spec_dir: str | None = None
    state_path: str | None = None
    workspace: str | None = None
    no_color: bool = False
    sandbox: bool = False
    debug: bool = False
    var_pairs: list[str] = field(default_factory=list)
    var_files: list[str] = field(default_factory=list)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def dir(self) -> Path:
        return Path(self.spec_dir or self.env.get("RECONCILER_DIR") or "specs")

    @property
    def state_file(self) -> Path:
        if self.state_path:
            return Path(self.state_path)
        if self.env.get("RECONCILER_STATE"):
            return Path(self.env["RECONCILER_STATE"])
        return self.state_dir / f"{self.workspace_name}.json"

    @property
    def state_dir(self) -> Path:
        """Where local state files, the selected workspace and the migrated-backend marker live."""
        if self.state_path:
            return Path(self.state_path).parent
        if self.env.get("RECONCILER_STATE"):
            return Path(self.env["RECONCILER_STATE"]).parent
        return Path("state")

    @property
    def cache_dir(self) -> Path | None:
        """Where loaded spec sets are cached (config/cache.py): RECONCILER_CACHE_DIR (`off`: no
        cache), else $XDG_CACHE_HOME/reconciler, else ~/.cache/reconciler (as pip and black)."""
        chosen = self.env.get("RECONCILER_CACHE_DIR")
        if chosen is not None:
            return None if chosen.strip().lower() in ("", "off", "0", "false", "no") else Path(chosen)
        base = self.env.get("XDG_CACHE_HOME")
        if base and Path(base).is_absolute():
            return Path(base) / "reconciler"
        try:
            return Path.home() / ".cache" / "reconciler"
        except RuntimeError:  # no home directory known
            return None

    def load_collected(self) -> Any:
        """collect_specs for this run's folder and variables, through the spec cache."""
        from reconciler.config.cache import CacheOutcome
        from reconciler.loading import collect_specs

        outcome = CacheOutcome()
        collected = collect_specs(self.dir, self.variables(), self.cache_dir, outcome)
        logging.getLogger("reconciler.specs").debug("spec cache: %s", outcome.status)
        return collected

    @property
    def workspace_name(self) -> str:
        """-w NAME, else RECONCILER_WORKSPACE, else the one `workspace select` chose, else default."""
        if self.workspace or self.env.get("RECONCILER_WORKSPACE"):
            return str(self.workspace or self.env["RECONCILER_WORKSPACE"])
        try:
            selected = read_regular(self.state_dir / ".workspace", MAX_LOCK_BYTES).decode("utf-8").strip()
        except (OSError, UnicodeDecodeError, RefusedFile):
            selected = ""
        return selected or "default"

    @property
    def color(self) -> bool:
        if self.no_color or "NO_COLOR" in self.env or self.env.get("TERM") == "dumb":
            return False
        if self.env.get("FORCE_COLOR") or self.env.get("CLICOLOR_FORCE"):
            return True
        return sys.stdout.isatty()

    def variables(self) -> dict[str, str]:
        """Variables for ${var.NAME}: RECONCILER_VAR_NAME from the environment, then var files
        (YAML mappings), then --var KEY=VALUE, later ones winning."""
        values: dict[str, str] = {}
        for key, value in self.env.items():
            if key.startswith("RECONCILER_VAR_"):
                values[key[len("RECONCILER_VAR_"):]] = value
        for path in self.var_files:
            import yaml  # only for var files: a cached spec set is read without the YAML parser

            try:
                with open(path, encoding="utf-8") as fh:
                    loaded = yaml.safe_load(fh) or {}
            except OSError as exc:
                raise click.BadParameter(f"{path}: {exc.strerror}", param_hint="--var-file") from None
            except yaml.YAMLError as exc:
                raise click.BadParameter(f"{path}: not valid YAML: {exc}", param_hint="--var-file") from None
            if not isinstance(loaded, dict):
                raise click.BadParameter(f"{path}: must be a mapping of names to values", param_hint="--var-file")
            values.update({str(k): v for k, v in loaded.items()})
        for pair in self.var_pairs:
            if "=" not in pair:
                raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--var")
            key, value = pair.split("=", 1)
            values[key] = value
        return values


def app(ctx: click.Context | None = None) -> AppContext:
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        root.obj = AppContext()
    obj: AppContext = root.obj
    return obj


def _setter(attr: str, *, append: bool = False) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or value is False or value == ():
            return
        target = app(ctx)
        if append:
            getattr(target, attr).extend(value)
        else:
            setattr(target, attr, value)
        if attr == "debug" and value:
            logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s %(message)s")
            install_log_redaction()

    return callback


def common_options(f: F) -> F:
    """Global options, accepted both before and after the subcommand (`reconciler -C x plan`
    and `reconciler plan -C x` mean the same)."""
    options = [
        click.option("-C", "--dir", "spec_dir", metavar="DIR", default=None, expose_value=False,
                     callback=_setter("spec_dir"), help="Folder of spec files (default: specs/)."),
        click.option("--state", "state_path", metavar="FILE", default=None, expose_value=False,
                     callback=_setter("state_path"), help="State file (default: state/WORKSPACE.json)."),
        click.option("-w", "--workspace", default=None, expose_value=False, callback=_setter("workspace"),
                     help="Workspace name; selects state/NAME.json (default: default)."),
        click.option("--no-color", is_flag=True, default=False, expose_value=False,
                     callback=_setter("no_color"), help="Plain output (also NO_COLOR=1)."),
        click.option("--sandbox", is_flag=True, default=False, expose_value=False, callback=_setter("sandbox"),
                     help="Run against a built-in sandbox API whose world lives under state/."),
        click.option("--var", "var_pairs", multiple=True, metavar="KEY=VALUE", expose_value=False,
                     callback=_setter("var_pairs", append=True), help="Set ${var.KEY} (repeatable)."),
        click.option("--var-file", "var_files", multiple=True, metavar="FILE", expose_value=False,
                     callback=_setter("var_files", append=True), help="YAML file of variables (repeatable)."),
        click.option("--debug", is_flag=True, default=False, expose_value=False, callback=_setter("debug"),
                     help="Log HTTP requests and decisions to stderr (keys are redacted)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


class Out:
    """Human output: colour only when wanted, everything redacted."""

    def __init__(self, color: bool):
        self.color = color

    def style(self, text: str, **kw: Any) -> str:
        return click.style(text, **kw) if self.color else text

    def echo(self, text: str = "", *, err: bool = False, nl: bool = True) -> None:
        click.echo(redact(text, keep_sgr=self.color), err=err, nl=nl, color=self.color)

    def echo_pieces(self, pieces: Iterable[str]) -> None:
        """Write text produced in pieces (lines, or whole JSON members), about 64 KB at a time: a
        plan of 10,000 changes is never one string. A secret never spans pieces (they split only
        between lines or between JSON tokens), so redacting each chunk is enough."""
        for text in joined_in_chunks(pieces):
            self.echo(text, nl=False)

    def json(self, data: Any) -> None:
        click.echo(redact(json.dumps(data, indent=2, sort_keys=False, default=str)))


def joined_in_chunks(pieces: Iterable[str], size: int = 1 << 16) -> Iterator[str]:
    """Consecutive pieces joined into strings of about `size` characters (never split a piece)."""
    buffer: list[str] = []
    held = 0
    for piece in pieces:
        buffer.append(piece)
        held += len(piece)
        if held >= size:
            yield "".join(buffer)
            buffer, held = [], 0
    if buffer:
        yield "".join(buffer)


def out(ctx: click.Context | None = None) -> Out:
    return Out(app(ctx).color)


def register_env_secrets(env: Mapping[str, str]) -> None:
    for key in ("OPENAI_API_KEY", "OPENAI_ADMIN_KEY", "RECONCILER_NOTIFY_SECRET"):
        register_secret(env.get(key))


def _crash_log(exc: BaseException) -> str:
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    fd, path = tempfile.mkstemp(prefix=f"reconciler-crash-{stamp}-", suffix=".log")
    body = "".join(traceback.format_exception(exc))
    header = f"reconciler {__version__} on Python {sys.version.split()[0]}\nargv: {sys.argv}\n\n"
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(redact(header + body))
    return path


def print_error(exc: ReconcilerError) -> None:
    if isinstance(exc, SpecErrors):
        for error in exc.errors:
            click.echo(redact(str(error)), err=True)
        n = len(exc.errors)
        click.echo(f"{n} error{'s' if n != 1 else ''} found.", err=True)
    else:
        click.echo(redact(f"Error: {exc}"), err=True)


class Interrupted(BaseException):
    """Raised in the main thread by the first SIGINT/SIGTERM while nothing is being applied
    (loading, refreshing, planning, a prompt): the stack unwinds, so the state lock is released.
    A BaseException, like KeyboardInterrupt, but not one: click turns KeyboardInterrupt into
    `Abort` (exit 1)."""

    def __init__(self, signame: str, code: int):
        super().__init__(signame)
        self.signame = signame
        self.code = code


@dataclass
class SignalState:
    """What the signal handler saw in this run."""

    name: str = ""       # first signal received, e.g. "SIGTERM"; "" when none
    code: int = 0        # its exit code (128 + number)
    count: int = 0
    reported: bool = False  # a command already printed the one line about it


SIGNALS = SignalState()


def signal_received() -> tuple[str, int] | None:
    """(name, exit code) of the first SIGINT/SIGTERM this run received, if any."""
    return (SIGNALS.name, SIGNALS.code) if SIGNALS.count else None


def mark_interrupt_reported() -> None:
    SIGNALS.reported = True


def _stderr_now(text: str) -> None:
    """Write from a signal handler: unbuffered, so never a re-entrant call into sys.stderr."""
    try:
        os.write(2, redact(text).encode("utf-8", errors="replace"))
    except OSError:
        pass


def _running_executors() -> int:
    """Ask the apply executors running in this process to stop scheduling (cooperative stop)."""
    executor = sys.modules.get("reconciler.apply.executor")
    if executor is None:
        return 0
    stopped: int = executor.interrupt_running()
    return stopped


def _changes_started() -> bool:
    executor = sys.modules.get("reconciler.apply.executor")
    return executor is not None and bool(executor.runs_started())


def _on_signal(signum: int, frame: Any) -> None:
    name = signal.Signals(signum).name
    code = 128 + signum
    SIGNALS.count += 1
    if SIGNALS.count == 1:
        SIGNALS.name, SIGNALS.code = name, code
    else:
        # A second signal: exit now. The state file is only ever replaced whole (temp + rename),
        # and every finished action is already in the fsync'd journal that the next run replays.
        lock = sys.modules.get("reconciler.state.lock")
        released = lock.abandon_held_locks() if lock is not None else 0
        _stderr_now(f"\nInterrupted again ({name}): exiting at once. The state file is intact; what "
                    f"completed is in its journal, which the next run replays"
                    f"{'; the state lock was released' if released else ''}.\n")
        os._exit(code)
    if _running_executors():
        _stderr_now(f"\n{name} received: starting no new changes and waiting for the ones in flight; "
                    f"send it again to exit at once.\n")
        return
    raise Interrupted(name, code)


class _StderrNotes(logging.Handler):
    """Warnings the core logs for the user (a stale state lock taken over): one line on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(redact(record.getMessage()), err=True)
        except Exception:  # pragma: no cover - never fail a run over a note
            pass


_NOTES = _StderrNotes(logging.WARNING)
NOTE_LOGGERS = ("reconciler.state.lock",)


def _install_notes() -> None:
    for name in NOTE_LOGGERS:
        logger = logging.getLogger(name)
        if _NOTES not in logger.handlers:
            logger.addHandler(_NOTES)


def _install_signal_handlers() -> dict[int, Any]:
    """SIGINT and SIGTERM handled alike (main thread only; restored by the caller)."""
    SIGNALS.name, SIGNALS.code, SIGNALS.count, SIGNALS.reported = "", 0, 0, False
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, _on_signal)
        except (ValueError, OSError):  # pragma: no cover - not the main interpreter
            pass
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        try:
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        except (ValueError, OSError):  # pragma: no cover
            pass


def _interrupted_line(name: str) -> str:
    if _changes_started():
        return (f"Interrupted ({name}): stopped after the changes in flight; the state records what "
                "completed. Run the command again to continue.")
    return f"Interrupted ({name}): no changes were made; the state lock is released."


def _exit_now(code: int) -> None:
    """Exit after a signal, once the run has unwound or finished (the state written, the lock
    released): without waiting for requests still running in other threads, which a server may
    hold for minutes (a request's deadline), and whose results nothing will use."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def run_guarded(invoke: Callable[[], Any]) -> None:
    """Run the CLI; map errors to exit codes. Never shows a traceback for a user mistake.

    SIGTERM is handled like Ctrl-C (SIGINT): while an apply runs, the first one stops it
    cooperatively (nothing new starts, what is in flight finishes and is recorded, the state is
    written); otherwise it unwinds the run (the state lock is released). Exit 143 for SIGTERM, 130
    for SIGINT. A second signal exits at once."""
    register_env_secrets(os.environ)
    _install_notes()
    previous = _install_signal_handlers()
    try:
        _run_guarded(invoke)
    except Interrupted as exc:  # it came while a result or an error was being reported
        click.echo(_interrupted_line(exc.signame), err=True)
        _exit_now(exc.code)
    finally:
        _restore_signal_handlers(previous)
        for name in NOTE_LOGGERS:
            logging.getLogger(name).removeHandler(_NOTES)


def _run_guarded(invoke: Callable[[], Any]) -> None:
    try:
        result = invoke()
    except Interrupted as exc:
        click.echo(_interrupted_line(exc.signame), err=True)
        _exit_now(exc.code)
    except click.exceptions.Exit as exc:
        _exit_after_signal()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # no handler installed (not the main thread)
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_SIGINT)
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR)  # usage errors are 1: exit 2 means "changes present"
    except ReconcilerError as exc:
        print_error(exc)
        _exit_after_signal()
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_SIGINT)
    except BrokenPipeError:
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # a bug: say so, keep the details in a file
        path = _crash_log(exc)
        click.echo(redact(f"reconciler: internal error ({type(exc).__name__}: {exc}). "
                          f"This is a bug; details in {path}"), err=True)
        sys.exit(EXIT_BUG)
    _exit_after_signal()
    sys.exit(result if isinstance(result, int) else EXIT_OK)


def _exit_after_signal() -> None:
    """A command that finished after a signal stopped it cooperatively exits with the signal's
    code, having said so in one line (its own, or this one)."""
    received = signal_received()
    if received is None:
        return
    if not SIGNALS.reported:
        click.echo(_interrupted_line(received[0]), err=True)
    _exit_now(received[1])
