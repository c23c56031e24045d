"""Fault injection: latency, 429 with Retry-After, 500, 503, dropped connections, slow answers,
and a rate limit (`rpm`: requests per minute, answered as the real API does, see `RateLimit`).

Decisions come from one seeded random generator, drawn in request order, so a sequential test
reproduces the same run. Control endpoints (`/_sandbox/...`) are never faulted.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

KEYS = ("latency_ms", "jitter_ms", "rate_429", "rate_500", "rate_503", "drop_rate", "slow_rate", "slow_ms",
        "retry_after", "seed", "paths", "methods", "rpm")


@dataclass
class FaultConfig:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_ms: float = 0.0
    retry_after: float = 1.0
    seed: int = 0
    paths: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)  # only requests with these methods (none: all)
    rpm: float = 0.0           # requests per minute (0: no limit); the bucket holds a minute's worth

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise ValueError(f"unknown fault setting {unknown[0]!r}; known: {', '.join(KEYS)}")
        cfg = cls()
        for f in fields(cls):
            if f.name not in data or data[f.name] is None:
                continue
            value = data[f.name]
            if f.name in ("paths", "methods"):
                if isinstance(value, str):
                    value = [value]
                if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                    raise ValueError("paths must be a list of path prefixes" if f.name == "paths" else
                                     "methods must be a list of HTTP methods")
                if f.name == "methods":
                    value = [m.upper() for m in value]
            elif f.name == "seed":
                value = int(value)
            else:
                value = float(value)
                if value < 0 or ((f.name.startswith("rate_") or f.name.endswith("_rate")) and value > 1):
                    raise ValueError(f"{f.name} must be between 0 and 1" if "rate" in f.name
                                     else f"{f.name} must not be negative")
            setattr(cfg, f.name, value)
        total = cfg.rate_429 + cfg.rate_500 + cfg.rate_503 + cfg.drop_rate + cfg.slow_rate
        if total > 1:
            raise ValueError("the fault rates add up to more than 1")
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def applies(self, path: str, method: str) -> bool:
        """Whether a request is subject to these faults (`paths` and `methods` both allow it)."""
        return (not self.paths or any(path.startswith(p) for p in self.paths)) and \
            (not self.methods or method.upper() in self.methods)


@dataclass(frozen=True)
class Decision:
    delay_s: float = 0.0       # before handling
    status: int | None = None  # 429/500/503 instead of handling
    drop: bool = False         # handle, then cut the response short and close
    slow_s: float = 0.0        # handle, then wait this long before answering


class RateLimit:
    """Requests per minute as the real API enforces them: a bucket of `rpm` requests, refilled
    continuously at rpm/60 per second. Every answer tells x-ratelimit-limit-requests, -remaining-
    requests and -reset-requests (the time until the bucket is full again); a request that finds it
    empty is answered 429 with Retry-After (the time until one more request is allowed)."""

    def __init__(self, rpm: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rpm = rpm
        self.rate = rpm / 60.0
        self._clock = clock
        self._tokens = float(rpm)
        self._at = clock()
        self.refused = 0

    def take(self) -> tuple[bool, dict[str, str]]:
        """Whether this request may go ahead, and the headers its answer carries (under the
        injector's lock)."""
        now = self._clock()
        self._tokens = min(self.rpm, self._tokens + (now - self._at) * self.rate)
        self._at = now
        ok = self._tokens >= 1
        if ok:
            self._tokens -= 1
        else:
            self.refused += 1
        full_in = (self.rpm - self._tokens) / self.rate
        headers = {"x-ratelimit-limit-requests": str(int(self.rpm)),
                   "x-ratelimit-remaining-requests": str(int(self._tokens)),
                   "x-ratelimit-reset-requests": f"{full_in:.3f}s"}
        if not ok:
            wait = (1 - self._tokens) / self.rate
            headers.update({"Retry-After": str(max(1, math.ceil(wait))), "retry-after-ms": str(math.ceil(wait * 1000))})
        return ok, headers


class FaultInjector:
    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.config = config or FaultConfig()
        self._rng = random.Random(self.config.seed)
        self._limit = RateLimit(self.config.rpm) if self.config.rpm else None

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self._limit = RateLimit(config.rpm) if config.rpm else None

    def rate(self, path: str, method: str = "GET") -> tuple[bool, dict[str, str]]:
        """The rate limit's verdict on one request to `path` (always yes without `rpm`)."""
        with self._lock:
            cfg = self.config
            if self._limit is None or not cfg.applies(path, method):
                return True, {}
            return self._limit.take()

    def refused(self) -> int:
        with self._lock:
            return self._limit.refused if self._limit is not None else 0

    def decide(self, path: str, method: str = "GET") -> Decision:
        with self._lock:
            cfg = self.config
            if not cfg.applies(path, method):
                return Decision()
            delay = cfg.latency_ms / 1000
            if cfg.jitter_ms:
                delay += self._rng.uniform(0, cfg.jitter_ms) / 1000
            roll = self._rng.random()
        edges = [(cfg.rate_429, "429"), (cfg.rate_500, "500"), (cfg.rate_503, "503"), (cfg.drop_rate, "drop"),
                 (cfg.slow_rate, "slow")]
        acc = 0.0
        for rate, kind in edges:
            acc += rate
            if rate and roll < acc:
                if kind == "drop":
                    return Decision(delay_s=delay, drop=True)
                if kind == "slow":
                    return Decision(delay_s=delay, slow_s=cfg.slow_ms / 1000)
                return Decision(delay_s=delay, status=int(kind))
        return Decision(delay_s=delay)
