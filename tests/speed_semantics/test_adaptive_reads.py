"""Adaptive read concurrency: AIMD on latency and 429s, steered by the rate-limit
headers. Table-driven without a server (a fake clock), then the real CLI against the real sandbox
under a 600 requests/minute limit with 150 ms latency: 1,000 permission sets refreshed, zero failed
runs, the 429s counted and bounded. Counts only, never timings."""

from __future__ import annotations

import json
import logging

import pytest

from reconciler.api.parallel import AdaptiveLimit, map_bounded, parse_reset
from reconciler_sandbox.faults import RateLimit
from tests.e2e.conftest import World


@pytest.mark.parametrize(("text", "seconds"), [
    ("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("0.5", 0.5), ("2.000s", 2.0),
    ("", None), (None, None), ("soon", None),
])
def test_parse_reset(text: str | None, seconds: float | None) -> None:
    assert parse_reset(text) == (pytest.approx(seconds) if seconds is not None else None)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_fast_clean_answers_grow_the_limit_up_to_the_ceiling() -> None:
    limit = AdaptiveLimit(10, ceiling=16, clock=Clock())
    for _ in range(2000):
        limit.observe(200, 0.05, {})
    assert limit.level == 16 and limit.peak == 16


def test_a_burst_of_429s_halves_once_per_round_trip() -> None:
    clock = Clock()
    limit = AdaptiveLimit(16, clock=clock)
    limit.observe(200, 0.1, {})
    for _ in range(10):                      # ten answers in flight report the same wall
        limit.observe(429, 0.1, {"retry-after-ms": "200"})
    assert limit.level == 8 and limit.throttled == 10
    clock.now += 1.0                         # a later 429 is news
    limit.observe(429, 0.1, {})
    assert limit.level == 4


def test_rising_latency_backs_off_and_a_floor_holds() -> None:
    clock = Clock()
    limit = AdaptiveLimit(10, clock=clock)
    limit.observe(200, 0.1, {})
    for _ in range(20):
        clock.now += 1.0
        limit.observe(200, 2.0, {})          # twenty times the best: congestion
    assert limit.level == 1 and limit.lowest == 1


def test_an_exhausted_budget_spaces_the_starts() -> None:
    clock = Clock()
    limit = AdaptiveLimit(10, clock=clock)
    limit.observe(200, 0.1, {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "0",
                             "x-ratelimit-reset-requests": "60s"})
    assert limit.paced
    limit.acquire()
    first = limit._next_start
    assert first == pytest.approx(clock.now + 0.1)   # 600 per minute: one every 0.1 s


class CpuClock:
    """This process's CPU seconds, advanced by the test: `rate` CPU seconds per wall second."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.rate = 0.0
        self.used = 0.0
        self.at = clock.now

    def __call__(self) -> float:
        self.used += (self.clock.now - self.at) * self.rate
        self.at = self.clock.now
        return self.used


@pytest.mark.parametrize(("cpu_rate", "level", "peak"), [
    (0.1, 32, 32),     # answers leave the CPU idle (a real API's round trips): grow to the ceiling
    (0.6, 32, 32),
    (0.95, 2, 13),     # a core's worth: more threads only contend for the GIL - down to 2 after the
                       # first window (0.2 s, which grew it from 10 to 13), no growth after
    (1.3, 2, 13),      # more than a core (kernel time, C code without the GIL): the same
])
def test_a_cpu_bound_process_holds_the_limit_down(cpu_rate: float, level: int, peak: int) -> None:
    clock = Clock()
    cpu = CpuClock(clock)
    cpu.rate = cpu_rate
    limit = AdaptiveLimit(10, clock=clock, cpu_clock=cpu)
    for _ in range(2000):
        clock.now += 0.005                   # fast answers: 200 a second
        limit.observe(200, 0.002, {})
    assert (limit.level, limit.peak) == (level, peak)
    assert ("CPU-bound" in limit.summary()) is (cpu_rate >= 0.85)


def test_the_limit_grows_again_once_the_cpu_is_idle() -> None:
    clock = Clock()
    cpu = CpuClock(clock)
    limit = AdaptiveLimit(10, clock=clock, cpu_clock=cpu)
    cpu.rate = 1.0
    for _ in range(400):
        clock.now += 0.005
        limit.observe(200, 0.002, {})
    assert limit.level == 2
    cpu.rate = 0.2                           # the answers slowed: the wire is the wait again
    for _ in range(1000):
        clock.now += 0.005
        limit.observe(200, 0.002, {})
    assert limit.level > 10


def test_without_a_cpu_clock_the_limit_ignores_cpu() -> None:
    clock = Clock()
    limit = AdaptiveLimit(10, ceiling=16, clock=clock)
    for _ in range(2000):
        clock.now += 0.005
        limit.observe(200, 0.002, {})
    assert limit.level == 16 and limit.cpu_bound_windows == 0


@pytest.mark.parametrize(("tokens", "ok"), [(600, True), (0, False)])
def test_sandbox_rate_limit_headers(tokens: int, ok: bool) -> None:
    clock = Clock()
    bucket = RateLimit(600, clock=clock)
    bucket._tokens = float(tokens)
    allowed, headers = bucket.take()
    assert allowed is ok
    assert headers["x-ratelimit-limit-requests"] == "600"
    assert ("Retry-After" in headers) is (not ok)


def test_map_bounded_with_a_limit_keeps_order_and_errors() -> None:
    limit = AdaptiveLimit(3)
    assert map_bounded(lambda x: x * 2, range(50), 3, limit) == [x * 2 for x in range(50)]

    def boom(x: int) -> int:
        if x == 7:
            raise ValueError("seven")
        return x

    with pytest.raises(ValueError, match="seven"):
        map_bounded(boom, range(20), 3, AdaptiveLimit(3))


N = 1000


def specs(n: int) -> str:
    parts = ["kind: File\nname: train\nspec:\n  path: data/train.jsonl\n"]
    for i in range(n):
        parts.append(f"kind: FineTuningJob\nname: job{i}\nspec:\n  model: gpt-4o-mini\n"
                     f"  training_file: ${{File.train.id}}\n  suffix: s{i}\n  seed: {i}\n"
                     "  method:\n    type: supervised\n")
        parts.append(f"kind: CheckpointPermission\nname: share{i}\nspec:\n"
                     f"  fine_tuned_model_checkpoint: ${{FineTuningJob.job{i}.fine_tuned_model}}\n"
                     f"  project_ids: [proj_a{i}, proj_b{i}]\n")
    return "---\n".join(parts)


def test_1000_permission_sets_under_600_rpm_and_150ms(world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.write("all.yaml", specs(N))
    world.ok("apply", "--auto-approve")
    world.finish_jobs()
    world.ok("apply", "--auto-approve")           # the grants
    world.sandbox.set_faults(latency_ms=150, rpm=600)
    world.sandbox.reset_stats()
    caplog.set_level(logging.DEBUG, logger="reconciler.refresh")

    result = world.run("plan", "--detailed-exitcode")

    stats = world.sandbox.stats()
    print("\nSPEED adaptive 600rpm/150ms:", json.dumps(stats, sort_keys=True),
          [r.getMessage() for r in caplog.records if "concurrency" in r.getMessage()])
    assert result.exit_code == 0, result.output          # no failed run: every read got through
    assert stats.get("GET /v1/fine_tuning/checkpoints/{ckpt}/permissions") == N + stats.get("429 rate limit", 0)
    assert stats.get("429 rate limit", 0) <= 100          # the wall is found, then the starts are paced
    assert any("read concurrency: started at 10" in r.getMessage() for r in caplog.records)
