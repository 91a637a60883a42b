"""Item 12 of issue 13: no rolling minute sees more requests than ``requests_per_minute``,
retries included, even when sleeps wake up late (tested on a fake clock)."""

from __future__ import annotations

import bisect
import random

import pytest
from _rel_support import MODEL, FakeClock, ScriptedBackend

from pii_gemini import TransientBackendError
from pii_gemini._ratelimit import RateLimiter
from pii_gemini._retry import RetryPolicy
from pii_gemini.masking import Masker


def _max_in_any_minute(times: list[float]) -> int:
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 60.0) - i for i, t in enumerate(times)), default=0)


@pytest.mark.parametrize("late", [0.0, 0.004, 0.05])
def test_no_rolling_minute_exceeds_the_limit(late: float) -> None:
    clock = FakeClock(late=late)
    limiter = RateLimiter(600, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(1800):
        limiter.acquire()
        sent.append(clock())
    assert _max_in_any_minute(sent) <= 600
    assert sent[-1] < 3 * 60 + 5  # and the limit is still used, not wasted


def test_irregular_callers_stay_under_the_limit() -> None:
    clock = FakeClock()
    rng = random.Random(7)
    limiter = RateLimiter(100, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(600):
        clock.now += rng.choice([0.0, 0.0, 0.3, 2.0, 30.0])  # bursts after idle periods
        limiter.acquire()
        sent.append(clock())
    assert _max_in_any_minute(sent) <= 100


def test_retries_count_against_the_limit() -> None:
    clock = FakeClock(late=0.01)

    def every_other(text: str, attempt: int) -> TransientBackendError | None:
        return TransientBackendError("busy", code=503) if attempt % 2 else None

    backend = ScriptedBackend(fault=every_other, clock=clock)
    retry = RetryPolicy(attempts=3, initial_delay=0.0, max_delay=0.0, jitter=0.0)
    masker = Masker(backend, MODEL, requests_per_minute=120, retry=retry, clock=clock,
                    sleep=clock.sleep, concurrency=1, cache=False)  # fmt: skip
    masker.mask_many([f"Row {i} Alice" for i in range(300)])
    assert backend.calls == 600  # every row needed a retry
    assert _max_in_any_minute(backend.call_times) <= 120
