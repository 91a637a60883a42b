"""The circuit breaker: stop a run in a sustained outage instead of failing every row.

Each request (after its retries) reports to the run's ``CircuitBreaker``: a success, or an
error. Only transient backend errors count as failures (an outage, an overloaded service);
a bad request or a blocked answer says nothing about the service. The breaker opens after
``consecutive`` failures in a row, or when at least ``max_failure_rate`` of the last
``window`` requests failed; from then on every attempt raises ``CircuitOpenError`` (a fatal
error: the run stops, keeps what is done, and a resume retries the failed rows). It knows
nothing about PII: it sees error types and status codes only.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from .._exceptions import CircuitOpenError, ConfigError, TransientBackendError

__all__ = ["BreakerPolicy", "CircuitBreaker", "error_name"]


def error_name(exc: BaseException) -> str:
    """A short, PII-free error string: the exception class and its status code."""
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__}({code})" if code is not None else type(exc).__name__


@dataclass(frozen=True)
class BreakerPolicy:
    """When a run stops itself: ``consecutive`` failed requests in a row, or a failure
    rate of at least ``max_failure_rate`` over the last ``window`` requests."""

    consecutive: int = 10
    window: int = 100
    max_failure_rate: float = 0.5

    def __post_init__(self) -> None:
        for name in ("consecutive", "window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"breaker {name} must be an int >= 1, got {value!r}")
        rate = self.max_failure_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise ConfigError(f"breaker max_failure_rate must be in (0, 1], got {rate!r}")


class CircuitBreaker:
    """Counts request outcomes for one run (thread-safe) and opens per its policy."""

    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self._lock = threading.Lock()
        self._streak = 0
        self._recent: deque[bool] = deque(maxlen=policy.window)  # True = failed
        self._failures = 0  # failures in _recent
        self._open: CircuitOpenError | None = None

    @property
    def is_open(self) -> bool:
        return self._open is not None

    def check(self) -> None:
        """Raise ``CircuitOpenError`` once the breaker is open."""
        if self._open is not None:
            raise self._open

    def record(self, error: BaseException | None) -> None:
        """Note one request's outcome: ``None`` for a success, else its error."""
        failed = isinstance(error, TransientBackendError)
        if error is not None and not failed:
            return  # a row-specific error: no news about the service
        with self._lock:
            if len(self._recent) == self._recent.maxlen and self._recent[0]:
                self._failures -= 1
            self._recent.append(failed)
            self._failures += failed
            self._streak = self._streak + 1 if failed else 0
            if not failed or self._open is not None:
                return
            p = self.policy
            last = error_name(error) if error is not None else "?"
            if self._streak >= p.consecutive:
                why = f"{self._streak} requests in a row failed"
            elif len(self._recent) == p.window and self._failures >= p.max_failure_rate * p.window:
                why = (
                    f"{self._failures} of the last {p.window} requests failed "
                    f"(failure rate {self._failures / p.window:.0%})"
                )
            else:
                return
            self._open = CircuitOpenError(
                f"stopped: {why} (last error: {last}); the service looks unavailable, so "
                "the rows done are kept and the rest were not sent: resume later (failed "
                "rows are retried)",
                code=getattr(error, "code", None),
            )
