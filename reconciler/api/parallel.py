"""Bounded concurrency for independent API calls (refresh reads, parallel actions), and the
adaptive bound reads use.

`AdaptiveLimit` is AIMD, as TCP's congestion window: it starts at the configured parallelism, adds
one slot per window of answers that came back fast and without a 429, halves on a 429 (once per
round trip, however many answers in flight report it) and cuts by a fifth when the latency climbs
well above the best seen. The rate-limit headers steer it too: `x-ratelimit-remaining-requests`
running out (answered with `x-ratelimit-reset-requests` and `x-ratelimit-limit-requests`) spaces
request starts by the time the server needs to grant one more, and a 429's `Retry-After` holds
every new request until then — instead of each worker finding the wall for itself.

One more signal, given a CPU clock: when this process uses a core's worth of CPU (answers so fast
that reading them is the work, as from a local sandbox), more threads only contend for the GIL
and cost CPU (BENCHMARKS.md has the figures). The limit then halves per window down to CPU_FLOOR
and does not grow; answers slow enough to leave the CPU idle (any real API) grow it by the rules
above.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.concurrency import map_bounded

__all__ = ["AdaptiveLimit", "map_bounded", "parse_reset"]

CEILING = 32          # the most reads in flight however fast the answers (the client's pool holds 32)
RISING = 2.0          # latency above this many times the best seen (plus SLACK) counts as congestion
SLACK = 0.05          # seconds: jitter on a fast local server is not congestion
MAX_HOLD = 60.0       # never hold new requests longer than this on one header
WINDOW = 0.2          # seconds over which this process's CPU use is measured
SATURATED = 0.85      # a core's worth of CPU, or near it: the process itself is the bottleneck
CPU_FLOOR = 2         # the fewest reads in flight when CPU-bound (one on the wire, one being read)


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?")


def parse_reset(text: str | None) -> float | None:
    """OpenAI's reset durations ("1s", "6m0s", "20ms", "1h2m3.5s", or plain seconds) in seconds."""
    if not text:
        return None
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    found = _DURATION.fullmatch(text)
    if not found or not any(found.groups()):
        return None
    h, m, s, ms = (float(g) if g else 0.0 for g in found.groups())
    return h * 3600 + m * 60 + s + ms / 1000


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None


class AdaptiveLimit:
    """How many reads may be in flight now (see the module docstring). Thread-safe: workers call
    `acquire`/`release` around each call, the API client reports every answer to `observe`."""

    def __init__(self, start: int, *, ceiling: int = CEILING, floor: int = 1,
                 clock: Callable[[], float] = time.monotonic,
                 cpu_clock: Callable[[], float] | None = None) -> None:
        self.start = max(1, start)
        self.ceiling = max(self.start, ceiling)
        self.floor = max(1, min(floor, self.start))
        self.limit = float(self.start)
        self.peak = self.start
        self.lowest = self.start
        self.answers = 0
        self.throttled = 0            # 429s seen
        self.paced = False            # the remaining-requests header ever spaced the starts
        self._clock = clock
        self._cond = threading.Condition()
        self._in_flight = 0
        self._hold_until = 0.0        # no new request before this (a 429's Retry-After)
        self._spacing = 0.0           # seconds between request starts (the budget ran out)
        self._next_start = 0.0
        self._best: float | None = None
        self._last_cut = float("-inf")
        self._cpu_clock = cpu_clock
        self._window: tuple[float, float] | None = None  # (wall, cpu) at the window's start
        self.cpu_bound = False        # the last window found the process CPU-bound
        self.cpu_bound_windows = 0

    @property
    def level(self) -> int:
        return max(self.floor, int(self.limit))

    def acquire(self) -> None:
        with self._cond:
            while True:
                now = self._clock()
                ready = max(self._hold_until, self._next_start)
                if now < ready:
                    self._cond.wait(ready - now)
                    continue
                if self._in_flight < self.level:
                    break
                self._cond.wait(0.5)
            self._in_flight += 1
            if self._spacing:
                self._next_start = now + self._spacing

    def pace(self) -> None:
        """Before a retry (the caller holds its slot already): wait out a 429's hold and take a
        turn in the spacing, so retries do not race the paced starts for the refilled budget."""
        with self._cond:
            while True:
                now = self._clock()
                ready = max(self._hold_until, self._next_start)
                if now >= ready:
                    break
                self._cond.wait(ready - now)
            if self._spacing:
                self._next_start = now + self._spacing

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            # one slot freed: wake one waiter. notify_all woke every worker of the pool (up to 32)
            # for each answer, and the herd cost more CPU than the requests (1,000 reads: 3 s of
            # CPU, a third of it in the kernel)
            self._cond.notify()

    def observe(self, status: int | None, seconds: float, headers: Mapping[str, str] | None) -> None:
        """One answer (status None: no answer, a connection error) that took `seconds`."""
        headers = headers or {}
        with self._cond:
            before = self.level
            now = self._clock()
            self.answers += 1
            round_trip = max(self._best or 0.0, 0.05)
            remaining = _int(headers.get("x-ratelimit-remaining-requests"))
            allowed = _int(headers.get("x-ratelimit-limit-requests"))
            reset = parse_reset(headers.get("x-ratelimit-reset-requests"))
            if status == 429:
                self.throttled += 1
                if now - self._last_cut > 2 * round_trip:
                    self.limit = max(float(self.floor), self.limit / 2)
                    self._last_cut = now
                wait = parse_reset(headers.get("retry-after-ms"))
                wait = wait / 1000 if wait is not None else parse_reset(headers.get("retry-after"))
                if wait is None and allowed and reset:
                    wait = reset / allowed
                if wait:
                    self._hold_until = max(self._hold_until, now + min(wait, MAX_HOLD))
            elif status is not None and status < 500:
                if self._best is None or seconds < self._best:
                    self._best = seconds
                self._measure_cpu(now)
                if self.cpu_bound:
                    pass  # more threads cannot help: _measure_cpu lowered the limit
                elif seconds > RISING * (self._best or 0.0) + SLACK:
                    if now - self._last_cut > 2 * round_trip:
                        self.limit = max(float(self.floor), self.limit * 0.8)
                        self._last_cut = now
                elif remaining is None or remaining > self._in_flight:
                    self.limit = min(float(self.ceiling), self.limit + 1 / self.limit)
            if remaining is not None and allowed and reset is not None:
                # the budget refills at `allowed` per `reset` (when empty): once fewer requests are
                # left than are in flight, start them no faster than it refills
                used = max(1, allowed - remaining)
                per_request = min(reset / used, MAX_HOLD)
                self._spacing = per_request if remaining <= max(self._in_flight, 1) else 0.0
                self.paced = self.paced or bool(self._spacing)
            self.peak = max(self.peak, self.level)
            self.lowest = min(self.lowest, self.level)
            if self.level > before:  # room for more: wake that many (holds and spacing are waited
                self._cond.notify(self.level - before)  # out by the waiters' own timeouts)

    def _measure_cpu(self, now: float) -> None:
        if self._cpu_clock is None:
            return
        if self._window is not None and now - self._window[0] < WINDOW:
            return
        cpu = self._cpu_clock()
        if self._window is None:
            self._window = (now, cpu)
            return
        started, used = self._window
        self._window = (now, cpu)
        self.cpu_bound = (cpu - used) / (now - started) >= SATURATED
        if self.cpu_bound:
            self.cpu_bound_windows += 1
            self.limit = max(float(min(CPU_FLOOR, self.start)), self.limit / 2)

    def summary(self) -> str:
        return (f"read concurrency: started at {self.start}, ranged {self.lowest}-{self.peak}, ended at {self.level} "
                f"({self.answers} answers, {self.throttled} rate-limited"
                f"{', paced by x-ratelimit-remaining-requests' if self.paced else ''}"
                f"{', held down while this process was CPU-bound' if self.cpu_bound_windows else ''})")


def observing(reader: Any, limit: AdaptiveLimit) -> Callable[[], None]:
    """Let `reader` (an ApiClient, or anything with an `observer` attribute) report its answers to
    `limit`; returns the call that undoes it. A reader without one is simply not observed."""
    if not hasattr(reader, "observer"):
        return lambda: None
    previous = reader.observer, getattr(reader, "pacer", None)
    reader.observer = limit.observe
    if hasattr(reader, "pacer"):
        reader.pacer = limit.pace

    def undo() -> None:
        reader.observer = previous[0]
        if hasattr(reader, "pacer"):
            reader.pacer = previous[1]

    return undo
