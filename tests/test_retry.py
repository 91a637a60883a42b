"""The single retry layer: what is retried, how long it waits, and that tests never sleep."""

from __future__ import annotations

import pytest

from pii_gemini import RetryPolicy
from pii_gemini._exceptions import (
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TransientBackendError,
    error_for_code,
)
from pii_gemini._retry import Retrier


class Flaky:
    """Fails with the given errors in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, value: str) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return value.upper()


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504])
def test_transient_codes_are_retried(code: int) -> None:
    sleeps: list[float] = []
    fn = Flaky(error_for_code(code, "boom"), error_for_code(code, "boom"))
    retrier = Retrier(RetryPolicy(attempts=3), sleep=sleeps.append)
    assert retrier.call(fn, "ok") == "OK"
    assert fn.calls == 3
    assert len(sleeps) == 2
    assert retrier.retries == 2


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409])
def test_client_errors_are_never_retried(code: int) -> None:
    fn = Flaky(error_for_code(code, "nope"))
    retrier = Retrier(RetryPolicy(attempts=5), sleep=lambda s: None)
    with pytest.raises(type(error_for_code(code, "x"))):
        retrier.call(fn, "ok")
    assert fn.calls == 1
    assert retrier.retries == 0


def test_gives_up_after_attempts_and_reraises_the_last_error() -> None:
    errors = [error_for_code(503, f"attempt {i}") for i in range(4)]
    fn = Flaky(*errors)
    with pytest.raises(TransientBackendError, match="attempt 2"):
        Retrier(RetryPolicy(attempts=3), sleep=lambda s: None).call(fn, "x")
    assert fn.calls == 3


def test_server_retry_delay_is_honoured_and_capped() -> None:
    sleeps: list[float] = []
    fn = Flaky(
        RateLimitError("slow down", code=429, retry_after=7.5),
        RateLimitError("slow down", code=429, retry_after=500.0),
    )
    Retrier(RetryPolicy(attempts=3, max_delay=30.0), sleep=sleeps.append).call(fn, "x")
    assert sleeps == [7.5, 30.0]


def test_backoff_grows_exponentially_without_retry_after() -> None:
    sleeps: list[float] = []
    fn = Flaky(*(error_for_code(500, "x") for _ in range(4)))
    policy = RetryPolicy(attempts=5, initial_delay=1.0, jitter=0.0, exp_base=2.0, max_delay=60)
    Retrier(policy, sleep=sleeps.append).call(fn, "x")
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


def test_jitter_stays_within_bounds() -> None:
    sleeps: list[float] = []
    fn = Flaky(*(error_for_code(500, "x") for _ in range(3)))
    policy = RetryPolicy(attempts=4, initial_delay=1.0, jitter=0.5, max_delay=60)
    Retrier(policy, sleep=sleeps.append).call(fn, "x")
    for i, slept in enumerate(sleeps):
        assert 2**i <= slept <= 2**i + 0.5


def test_retry_on_can_be_narrowed() -> None:
    fn = Flaky(error_for_code(503, "x"))
    with pytest.raises(TransientBackendError):
        Retrier(RetryPolicy(retry_on=(429,)), sleep=lambda s: None).call(fn, "x")
    assert fn.calls == 1


def test_policy_none_never_retries() -> None:
    fn = Flaky(error_for_code(429, "x"))
    with pytest.raises(RateLimitError):
        Retrier(RetryPolicy.none(), sleep=lambda s: None).call(fn, "x")
    assert fn.calls == 1


def test_non_backend_errors_pass_through_untouched() -> None:
    fn = Flaky(KeyError("k"))
    with pytest.raises(KeyError):
        Retrier(sleep=lambda s: None).call(fn, "x")
    assert fn.calls == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"attempts": 0}, {"initial_delay": -1}, {"jitter": -0.1}, {"exp_base": 0.5}],
)
def test_bad_policies_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_error_for_code_builds_the_right_classes() -> None:
    assert isinstance(error_for_code(400, "x"), InvalidRequestError)
    assert isinstance(error_for_code(403, "x"), PermissionDeniedError)
    assert isinstance(error_for_code(404, "x"), NotFoundError)
    assert isinstance(error_for_code(429, "x", retry_after=2.0), RateLimitError)
    assert error_for_code(429, "x", retry_after=2.0).retry_after == 2.0
    assert isinstance(error_for_code(599, "x"), TransientBackendError)
    assert not error_for_code(418, "x").retryable


def test_one_retrier_is_safe_to_share_between_threads() -> None:
    import threading

    retrier = Retrier(RetryPolicy(attempts=4), sleep=lambda s: None)
    results: list[str] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        fn = Flaky(error_for_code(503, "x"), error_for_code(429, "y"))
        answer = retrier.call(fn, f"v{i}")
        with lock:
            results.append(answer)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(f"V{i}" for i in range(16))
    assert retrier.retries == 32


def test_an_exhausted_quota_is_never_retried() -> None:
    # A per-day quota does not come back within a run: retrying only burns requests.
    from pii_gemini._exceptions import QuotaExhaustedError

    fn = Flaky(QuotaExhaustedError("daily quota used up", quota="GenerateRequestsPerDay"))
    retrier = Retrier(RetryPolicy(attempts=5), sleep=lambda s: None)
    with pytest.raises(QuotaExhaustedError) as info:
        retrier.call(fn, "ok")
    assert fn.calls == 1
    assert retrier.retries == 0
    assert (info.value.code, info.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert info.value.quota == "GenerateRequestsPerDay"
    assert not info.value.retryable
