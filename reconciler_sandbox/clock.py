"""The simulated clock: wall time times `speed`, plus whatever `advance` added. Never goes back."""

from __future__ import annotations

import threading
import time


class SimClock:
    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start_sim = time.time() if start is None else start
        self._start_wall = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._start_sim + (time.monotonic() - self._start_wall) * self.speed + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()
