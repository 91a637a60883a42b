"""Thread-safe limits for requests/minute and tokens/minute quotas.

A token bucket hands out *reservations*: taking ``n`` units may drive the balance negative,
and the caller then sleeps until its slot comes (outside the lock). Reservations are served
in order, a late wake-up never wastes capacity, and a request larger than the bucket still
gets through (the limiter refuses only one larger than a whole minute's quota). The
bucket alone grants at most ``capacity + rate * W`` units in any window of ``W`` seconds
*at reservation time*; a caller that wakes up late can then send close behind
the next one, so the bucket alone lets a rolling minute see one or two requests too many.

Requests therefore also pass a sliding window (``_Window``): the times at which the last
``floor(requests_per_minute)`` requests left the limiter are kept, and one more may leave
only when the oldest of them is at least 61 s old. **Bound: no interval of 61 s contains
more than ``floor(requests_per_minute)`` requests leaving the limiter**, retries included
(each attempt passes it), whatever the thread timing. The extra second is for the way to
the service, which counts requests as they arrive: it sees at most that many in any
rolling minute unless one request takes over a second longer than another to get there
(measured: without it, 2402 arrived in one minute at a limit of 2400 with 64 threads on two
busy cores). The clock and the sleep are injectable so tests run on a fake clock.

A request estimated at more tokens than ``tokens_per_minute`` is refused (``ConfigError``)
rather than queued: no minute could ever hold it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from ._exceptions import ConfigError

__all__ = ["RateLimiter", "TokenBucket"]

_EPSILON_S = 1e-6  # added to window waits (see _Window.acquire)
_WINDOW_S = 61.0  # a minute, plus a second for the variable delay to the service


def _check_positive(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a finite number > 0, got {value}")


class TokenBucket:
    """``rate`` units per second, holding at most ``capacity`` units of unused credit."""

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check_positive("rate", rate)
        _check_positive("capacity", capacity)
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._last = clock()
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._last)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._last = max(self._last, now)

    def reserve(self, amount: float = 1.0) -> float:
        """Take ``amount`` units now; return how many seconds the caller must wait first."""
        if amount < 0:
            raise ConfigError(f"amount must be >= 0, got {amount}")
        with self._lock:
            self._refill(self._clock())
            self._tokens -= amount
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self, amount: float = 1.0) -> float:
        """Block until ``amount`` units are granted; return the time waited."""
        wait = self.reserve(amount)
        if wait > 0:
            self._sleep(wait)
        return wait

    def adjust(self, delta: float) -> None:
        """Charge ``delta`` more units (or refund them if negative) after the fact."""
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self.capacity, self._tokens - delta)


class _Window:
    """At most ``limit`` acquisitions in any ``period`` seconds, by their real times."""

    def __init__(
        self,
        limit: int,
        period: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._times: deque[float] = deque(maxlen=limit)
        self._period = period
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait until one more may go now without breaking the bound; return the wait."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                times = self._times
                if len(times) < (times.maxlen or 0) or now - times[0] >= self._period:
                    times.append(now)
                    return waited
                # a hair more than needed: float sums must not leave `now` a rounding short
                wait = times[0] + self._period - now + _EPSILON_S
            self._sleep(wait)
            waited += wait


class RateLimiter:
    """Requests/minute and tokens/minute limits applied together before each API request.

    Requests are spaced evenly (no burst: ``capacity`` 1) and then pass the sliding window,
    so no 61 s ever see more than ``floor(requests_per_minute)`` of them leave. Tokens
    are charged from an estimate up front and settled with the real count afterwards; their
    bucket holds one second of credit, so in any window of ``W`` seconds at most
    ``tokens_per_minute / 60 * (W + 1)`` *estimated* tokens are granted (the real counts
    differ from the estimates by what the settlement corrects afterwards).
    """

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check_positive("requests_per_minute", requests_per_minute)
        _check_positive("tokens_per_minute", tokens_per_minute)
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._sleep = sleep
        self._requests = (
            TokenBucket(requests_per_minute / 60.0, 1.0, clock=clock, sleep=sleep)
            if requests_per_minute
            else None
        )
        self._window = (
            _Window(max(1, math.floor(requests_per_minute)), _WINDOW_S, clock, sleep)
            if requests_per_minute
            else None
        )
        self._tokens = (
            TokenBucket(
                tokens_per_minute / 60.0,
                max(1.0, tokens_per_minute / 60.0),
                clock=clock,
                sleep=sleep,
            )
            if tokens_per_minute
            else None
        )

    @property
    def active(self) -> bool:
        """True when at least one limit is set."""
        return self._requests is not None or self._tokens is not None

    def acquire(self, tokens: float = 0.0) -> float:
        """Wait for one request slot and ``tokens`` estimated tokens; return the wait.

        A request estimated above ``tokens_per_minute`` is refused with a ``ConfigError``
        before any wait: no minute's quota could ever hold it, so waiting would only stall
        the run (for ever at the service's own limit, for hours here).
        """
        limit = self.tokens_per_minute
        if limit is not None and tokens > limit:
            raise ConfigError(
                f"one request needs about {math.ceil(tokens)} tokens, more than "
                f"tokens_per_minute ({limit:g}) allows in a minute: raise tokens_per_minute "
                "(--tpm) to your real quota, or lower max_input_chars so texts go in smaller "
                "pieces"
            )
        wait = 0.0
        if self._requests is not None:
            wait = self._requests.reserve(1.0)
        if self._tokens is not None:
            wait = max(wait, self._tokens.reserve(tokens))
        if wait > 0:
            self._sleep(wait)
        if self._window is not None:
            wait += self._window.acquire()
        return wait

    def settle(self, estimated: float, actual: float) -> None:
        """Correct the token charge once the real token count is known."""
        if self._tokens is not None and actual > 0:
            self._tokens.adjust(actual - estimated)
