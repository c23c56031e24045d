"""`apply --wait`'s progress: one line per job waited on — status, step / total steps, latest train
loss, elapsed, estimated time left (from the executor's WAITING events; kinds/job/progress.py
reads them from the job's events).

On a terminal the lines are a live table drawn with `rich` (redrawn in place, coloured unless
--no-color / NO_COLOR). Elsewhere (CI logs) they are plain lines, Terraform's "Still waiting..."
wording: a job's first line, then one when its status changes, or when its step changed and
`min_interval` seconds have passed since its last line — never a line per poll."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.apply.events import Event


__all__ = ["FINISHED", "Row", "WaitProgress", "duration", "plain_line", "row_from"]

FINISHED = ("succeeded", "failed", "cancelled", "complete", "skipped", "pending")


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    m, s = divmod(seconds, 60)
    return f"{m}m{s}s" if m < 60 else f"{m // 60}h{m % 60}m"


@dataclass(frozen=True)
class Row:
    """What one line shows; `key` is the line's identity (the waiter, or the job)."""

    key: str
    job: str | None          # the job waited on when it is not the line's own address
    status: str
    step: int | None
    total_steps: int | None
    train_loss: float | None
    elapsed: float
    eta_seconds: float | None
    detail: str              # the executor's message (used when there is no progress)


def row_from(event: Event) -> Row:
    p: Mapping[str, Any] = event.progress or {}
    job = p.get("job")
    return Row(key=event.address, job=job if job and job != event.address else None,
               status=str(p.get("status") or ""), step=p.get("step"), total_steps=p.get("total_steps"),
               train_loss=p.get("train_loss"), elapsed=event.elapsed, eta_seconds=p.get("eta_seconds"),
               detail=event.message)


def _facts(row: Row) -> list[str]:
    facts = [row.status] if row.status else []
    if row.step is not None:
        facts.append(f"step {row.step}/{row.total_steps}" if row.total_steps else f"step {row.step}")
    if row.train_loss is not None:
        facts.append(f"train loss {row.train_loss:.4f}")
    if row.eta_seconds is not None and row.status not in FINISHED:
        facts.append(f"about {duration(row.eta_seconds)} left")
    return facts


def plain_line(row: Row) -> str:
    """`FineTuningJob.bot: Still waiting... [1m10s elapsed] running, step 40/120, train loss 0.8123,
    about 2m0s left` (for a grant: `... [..] waiting for FineTuningJob.bot (ftjob-…): running, step ...`)."""
    if row.status in FINISHED and not row.job:  # --wait=jobs: the job's last line
        return f"{row.key}: Training {row.status} after {duration(row.elapsed)} of waiting: " \
               f"{', '.join(_facts(row)[1:]) or 'no steps reported'}"
    head = f"{row.key}: Still waiting... [{duration(row.elapsed)} elapsed]"
    if not row.status:  # no progress known: the executor's own words
        return f"{head} {row.detail}"
    if row.job:  # a grant waiting for its job: the executor's words (job id, status) and the progress
        return f"{head} {row.detail}" + "".join(f", {fact}" for fact in _facts(row)[1:])
    return f"{head} {', '.join(_facts(row))}"


class WaitProgress:
    """Receives WAITING events (from any thread) and shows them; `close()` ends a live display."""

    def __init__(self, echo: Callable[[str], None], *, live: bool, color: bool, min_interval: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, stream: IO[str] | None = None,
                 width: int | None = None):
        self._echo = echo
        self._live_wanted = live
        self._color = color
        self._min_interval = min_interval
        self._clock = clock
        self._stream = stream
        self._width = width  # None: the terminal's
        self._lock = threading.Lock()
        self._rows: dict[str, Row] = {}
        self._shown: dict[str, tuple[Row, float]] = {}   # plain mode: last line printed per key
        self._live: Any = None
        self._console_width = 200

    # -- plain lines ------------------------------------------------------------------------------
    def _due(self, row: Row, now: float) -> bool:
        last = self._shown.get(row.key)
        if last is None:
            return True
        before, at = last
        if row.status != before.status:
            return True
        if not row.status:  # no progress: the old periodic line, at most every min_interval
            return now - at >= self._min_interval
        return row.step != before.step and now - at >= self._min_interval

    # -- the live table ---------------------------------------------------------------------------
    def _table(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, show_header=True, header_style="bold" if self._color else "", pad_edge=False)
        # (header, justify, width); an address is never cut: on a narrow terminal the progress bar,
        # the time left and the train loss give way, in that order; a grant's "→ job" wraps onto a
        # second line; only an address wider than what is left would fold, whole, onto two
        columns = [("status", "left", 10), ("step", "right", 7), ("", "left", 12), ("train loss", "right", 10),
                   ("elapsed", "right", 7), ("left", "right", 7)]
        widest = max((len(row.key) for row in self._rows.values()), default=0)
        for dropped in ("", "left", "train loss"):
            if widest + sum(w + 1 for _, _, w in columns) <= self._console_width:
                break
            columns = [c for c in columns if c[0] != dropped]
        shown = [c[0] for c in columns]
        table.add_column("job", justify="left", no_wrap=False, overflow="fold")
        for name, justify, least in columns:
            table.add_column(name, justify=justify, no_wrap=True, min_width=least)  # type: ignore[arg-type]
        for row in self._rows.values():
            name = row.key + (f" → {row.job}" if row.job else "")
            step = "" if row.step is None else (f"{row.step}/{row.total_steps}" if row.total_steps else str(row.step))
            bar: Any = Text("")
            if row.step is not None and row.total_steps:
                bar = ProgressBar(total=row.total_steps, completed=row.step, width=12)
            loss = "" if row.train_loss is None else f"{row.train_loss:.4f}"
            left = "" if row.eta_seconds is None or row.status in FINISHED \
                else f"~{duration(row.eta_seconds)}"
            style = {"succeeded": "green", "complete": "green", "failed": "red", "cancelled": "yellow",
                     "skipped": "yellow"}.get(row.status, "")
            cells = {"status": Text(row.status or row.detail, style=style if self._color else ""), "step": step,
                     "": bar, "train loss": loss, "elapsed": duration(row.elapsed), "left": left}
            table.add_row(name, *(cells[c] for c in shown))
        return table

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=self._stream, no_color=not self._color, force_terminal=True,
                          highlight=False, emoji=False, width=self._width)
        self._console_width = console.width
        self._live = Live(self._table(), console=console, auto_refresh=False, transient=False,
                          redirect_stdout=True, redirect_stderr=True)
        self._live.start()

    # -- events -----------------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        row = row_from(event)
        with self._lock:
            self._rows[row.key] = row
            if self._live_wanted:
                if self._live is None:
                    self._start_live()
                self._live.update(self._table(), refresh=True)
                return
            now = self._clock()
            if self._due(row, now):
                self._shown[row.key] = (row, now)
                self._echo(plain_line(row))

    def settle(self, event: Any) -> None:
        """The change a row waited for is over (done, failed, skipped, left pending): the row says so
        instead of its job's last step (a grant's row would stay `running 12/24` after its grants)."""
        status = {"done": "complete", "failed": "failed", "skipped": "skipped", "pending": "pending"}.get(
            getattr(event.kind, "value", str(event.kind)))
        with self._lock:
            row = self._rows.get(event.address)
            if status is None or row is None:
                return
            self._rows[row.key] = Row(key=row.key, job=row.job, status=status, step=None, total_steps=None,
                                      train_loss=None, elapsed=row.elapsed, eta_seconds=None, detail=event.message)
            if self._live is not None:
                self._live.update(self._table(), refresh=True)

    def close(self) -> None:
        with self._lock:
            if self._live is not None:
                self._live.stop()
                self._live = None
