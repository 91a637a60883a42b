"""The single retry layer of pii_gemini, built on tenacity.

Backends never retry (the SDKs' own retries are switched off); Tuner and Masker wrap each
backend call in a ``Retrier``. The policy is data (``RetryPolicy``); tenacity stays inside
this module. Transient errors (408/429/5xx) are retried with jittered exponential backoff,
and a server-given retry delay (``BackendError.retry_after``) is honoured. Tests pass
``sleep=`` to make waits instant.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from ._exceptions import BackendError, ConfigError, QuotaExhaustedError

__all__ = ["Retrier", "RetryPolicy"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_RETRY_ATTEMPTS = 5  # including the first call.
_RETRY_CODES = (408, 429, 500, 502, 503, 504)


@dataclass(frozen=True)
class RetryPolicy:
    """How to retry transient backend errors.

    ``attempts`` counts the first call; ``attempts=1`` disables retries.
    """

    attempts: int = _RETRY_ATTEMPTS
    initial_delay: float = 1.0
    max_delay: float = 60.0
    exp_base: float = 2.0
    jitter: float = 1.0
    retry_on: tuple[int, ...] = _RETRY_CODES
    honor_retry_after: bool = True

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"attempts must be >= 1, got {self.attempts}")
        if self.initial_delay < 0 or self.max_delay < 0 or self.jitter < 0:
            raise ConfigError("retry delays and jitter must be >= 0")
        if self.exp_base < 1:
            raise ConfigError(f"exp_base must be >= 1, got {self.exp_base}")

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(attempts=1)

    def should_retry(self, exc: BaseException) -> bool:
        """True for a backend error whose code is in ``retry_on``, except an exhausted quota
        (``QuotaExhaustedError``: it will not refill within the run)."""
        if isinstance(exc, QuotaExhaustedError):
            return False
        return isinstance(exc, BackendError) and exc.code in self.retry_on


class _wait_retry_after(tenacity.wait.wait_base):  # type: ignore[misc]
    """Wait what the server asked for, else fall back to jittered exponential backoff."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._fallback = tenacity.wait_exponential_jitter(
            initial=policy.initial_delay,
            max=policy.max_delay,
            exp_base=policy.exp_base,
            jitter=policy.jitter,
        )

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if (
            self._policy.honor_retry_after
            and isinstance(exc, BackendError)
            and exc.retry_after is not None
        ):
            return float(min(max(exc.retry_after, 0.0), self._policy.max_delay))
        return float(self._fallback(retry_state))


class Retrier:
    """Runs callables under a ``RetryPolicy``; counts retries for summaries.

    Example::

        retrier = Retrier(RetryPolicy(attempts=3), sleep=lambda s: None)
        answer = retrier.call(backend.generate, model, prompt)
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.retries = 0  # retries performed so far (not counting first attempts)
        self._lock = threading.Lock()
        # Built once: tenacity keeps per-call state in thread-locals, so threads can share it.
        self._retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.policy.attempts),
            wait=_wait_retry_after(self.policy),
            retry=tenacity.retry_if_exception(self.policy.should_retry),
            reraise=True,
            sleep=sleep,
            before_sleep=self._before_sleep,
        )

    def _before_sleep(self, retry_state: tenacity.RetryCallState) -> None:
        with self._lock:
            self.retries += 1
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        code = getattr(exc, "code", None)
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        logger.info(
            "retrying after %s (attempt %d of %d, waiting %.2fs)",
            code,
            retry_state.attempt_number,
            self.policy.attempts,
            wait,
        )

    def call(self, fn: Callable[..., T], /, *args: object, **kwargs: object) -> T:
        """Call ``fn(*args, **kwargs)``, retrying transient errors per the policy."""
        result: T = self._retrying(fn, *args, **kwargs)
        return result
