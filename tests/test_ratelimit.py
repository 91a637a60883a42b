from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pii_gemini._exceptions import ConfigError
from pii_gemini._ratelimit import RateLimiter, TokenBucket


class FakeClock:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def max_in_window(times: list[float], window: float) -> int:
    """Most events in any half-open window [t, t + window)."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def test_max_in_window_helper() -> None:
    assert max_in_window([0, 0.5, 1.0, 1.5], 1.0) == 2
    assert max_in_window([0, 0, 0], 1.0) == 3
    assert max_in_window([], 1.0) == 0


def test_requests_per_minute_never_exceeded_and_fully_used() -> None:
    fc = FakeClock()
    limiter = RateLimiter(requests_per_minute=120, clock=fc.clock, sleep=fc.sleep)
    grants = []
    for _ in range(300):
        limiter.acquire()
        grants.append(fc.now)
    assert max_in_window(grants, 60.0) == 120  # the quota, and no more
    assert max_in_window(grants, 61.0) == 120  # a second to spare for the way to the service
    # evenly spaced at the full rate; each block of 120 waits one second more
    assert grants[-1] == pytest.approx(299 / 2.0 + 2.0, abs=1e-3)
    assert grants[0] == 0.0  # the first request does not wait


def test_tokens_per_minute_bound() -> None:
    fc = FakeClock()
    limiter = RateLimiter(tokens_per_minute=6000, clock=fc.clock, sleep=fc.sleep)  # 100/s
    grants = []
    for _ in range(200):
        limiter.acquire(50)
        grants.append(fc.now)
    # capacity (100) + rate * W tokens in any window W; 50 tokens per request.
    for window in (1.0, 10.0, 60.0):
        assert max_in_window(grants, window) * 50 <= 100 + 100 * window
    assert grants[-1] == pytest.approx((200 * 50 - 100) / 100)


def test_request_larger_than_bucket_still_passes() -> None:
    fc = FakeClock()
    bucket = TokenBucket(10.0, 5.0, clock=fc.clock, sleep=fc.sleep)
    waited = bucket.acquire(25)
    assert waited == pytest.approx(2.0)
    assert bucket.acquire(1) == pytest.approx(0.1)


def test_settle_charges_or_refunds_the_difference() -> None:
    fc = FakeClock()
    limiter = RateLimiter(tokens_per_minute=600, clock=fc.clock, sleep=fc.sleep)  # 10/s, cap 10
    assert limiter.acquire(10) == 0.0
    limiter.settle(10, 30)  # 20 more than estimated: 2 s of debt
    assert limiter.acquire(10) == pytest.approx(3.0)
    limiter.settle(10, 0)  # unknown actual count: nothing changes
    fc.now += 100
    limiter.settle(10, 1)  # a refund never exceeds the bucket
    assert limiter.acquire(10) == 0.0
    assert limiter.acquire(10) == pytest.approx(1.0)


def test_inactive_limiter_never_waits() -> None:
    fc = FakeClock()
    limiter = RateLimiter(clock=fc.clock, sleep=fc.sleep)
    assert not limiter.active
    for _ in range(1000):
        limiter.acquire(10_000)
    assert fc.sleeps == []


def test_concurrent_reservations_get_distinct_slots() -> None:
    fc = FakeClock()  # time stands still: each thread's wait is its slot
    bucket = TokenBucket(20.0, 1.0, clock=fc.clock, sleep=lambda s: None)
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            wait = bucket.reserve(1)
            with lock:
                slots.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(round(s * 20) for s in slots) == list(range(200))


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "10"])
def test_bad_limits_are_config_errors(bad: object) -> None:
    with pytest.raises(ConfigError, match="requests_per_minute"):
        RateLimiter(requests_per_minute=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="tokens_per_minute"):
        RateLimiter(tokens_per_minute=bad)  # type: ignore[arg-type]


def test_bad_bucket_arguments() -> None:
    with pytest.raises(ConfigError, match="rate"):
        TokenBucket(0, 1)
    with pytest.raises(ConfigError, match="capacity"):
        TokenBucket(1, -2)
    with pytest.raises(ConfigError, match="amount"):
        TokenBucket(1, 1).reserve(-1)


def test_a_request_larger_than_the_tokens_per_minute_limit_is_refused_not_waited_for() -> None:
    fc = FakeClock()
    limiter = RateLimiter(tokens_per_minute=600, clock=fc.clock, sleep=fc.sleep)
    assert limiter.acquire(600) == pytest.approx(59.0)  # one minute's worth still gets through
    waited = list(fc.sleeps)
    with pytest.raises(ConfigError, match=r"tokens_per_minute \(600\)") as caught:
        limiter.acquire(601)
    assert "601" in str(caught.value)
    assert fc.sleeps == waited  # refused at once: no wait for a slot that can never come


def test_masker_with_a_tokens_per_minute_below_one_request_stops_at_once(tmp_path: Path) -> None:
    from _masking_support import ScriptedBackend

    from pii_gemini.masking import Masker

    fc = FakeClock()
    masker = Masker(ScriptedBackend(), "tunedModels/x", tokens_per_minute=10,
                    clock=fc.clock, sleep=fc.sleep)  # fmt: skip
    with pytest.raises(ConfigError, match="tokens_per_minute"):
        masker.mask("Alice wrote to Bruno about the meeting on Monday.")
    source = tmp_path / "in.jsonl"
    source.write_text('{"source_text": "Alice wrote to Bruno."}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="tokens_per_minute"):
        masker.mask_file(source, tmp_path / "out.jsonl", progress=False)
    assert sum(fc.sleeps) < 1.0  # no real or fake minute-long waits
