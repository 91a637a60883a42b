"""The executor: threads, the in-flight cap, rate limits, retries and the result cache.

It knows nothing about PII. It runs a ``work(text, run)`` function over many values, keeps
input order, hands a bounded number of rows ahead to a thread pool, and shares one result
per identical key (a finished result, or the future of one still in flight so duplicates
wait for it). Every request a worker makes goes through ``RequestGate.call``: an in-flight
slot, then a rate-limit slot, then the call, all under the run's ``Retrier`` - **this is
where the retry policy is applied** (each attempt takes its own slots, so retries count
against the limits). **This is where the circuit breaker listens** (``_breaker``): each
request's outcome is reported to the run's breaker, and once it is open no attempt is made.

Workers are daemon threads and every wait of a run (retry backoff) ends when the run is
stopped, so an interrupted run (Ctrl-C, a fatal error) returns at once: requests already
in flight are abandoned, their results discarded, and no new request starts.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from .._ratelimit import RateLimiter
from .._retry import Retrier, RetryPolicy
from ._breaker import BreakerPolicy, CircuitBreaker

__all__ = ["Executor", "RequestGate", "RunCancelled", "RunStats"]

T = TypeVar("T")
R = TypeVar("R")
RunT = TypeVar("RunT", bound="RunStats")

_WINDOW_PER_WORKER = 16  # rows submitted ahead per worker, so one slow row stalls no one
_MAX_BATCH = 8  # most rows handed to a worker at once (only for fast backends)
_BATCH_BELOW_S = 0.002  # batch rows only while requests take less than this on average


class RunCancelled(Exception):
    """Raised in a worker when its run was stopped: no new request is made."""


class RunStats:
    """One run's shared state: retries (its ``Retrier``), cache hits, the circuit breaker
    and the stop flag that ends its waits and requests."""

    def __init__(
        self,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        breaker: BreakerPolicy | None = None,
    ) -> None:
        self.stop = threading.Event()
        self._sleep = sleep
        self.retrier = Retrier(policy, sleep=self.sleep)
        self.breaker = CircuitBreaker(breaker) if breaker is not None else None
        self.started = time.perf_counter()
        self.cached = 0
        self.halted: BaseException | None = None  # the fatal error that stopped the run

    def halt(self, exc: BaseException) -> None:
        """Stop the run because of ``exc``: other workers make no new request."""
        if self.halted is None:
            self.halted = exc
        self.stop.set()

    def sleep(self, seconds: float) -> None:
        """Wait (retry backoff); a real wait ends early, and raises, once the run stops."""
        if self._sleep is time.sleep:
            self.stop.wait(seconds)
        else:
            self._sleep(seconds)
        self.check()

    def check(self) -> None:
        """Raise ``RunCancelled`` once the run was stopped."""
        if self.stop.is_set():
            raise RunCancelled()


class RequestGate:
    """One request at a time through the shared limits: in-flight cap, rate limit, retries."""

    def __init__(self, concurrency: int, limiter: RateLimiter) -> None:
        self._inflight = threading.BoundedSemaphore(concurrency)
        self._limiter = limiter
        self.latency_s = 0.0  # moving average of request wall time

    def call(
        self, run: RunStats, fn: Callable[[], T], estimate: float, cost: Callable[[T], float]
    ) -> T:
        """``fn()`` retried per the run's policy; each attempt holds an in-flight slot and a
        rate-limit reservation of ``estimate`` tokens, settled with ``cost(answer)``. The
        outcome (after retries) is reported to the run's circuit breaker."""
        try:
            answer: T = run.retrier.call(self._once, run, fn, estimate, cost)
        except RunCancelled:
            raise
        except Exception as exc:
            if run.breaker is not None:
                run.breaker.record(exc)
            raise
        if run.breaker is not None:
            run.breaker.record(None)
        return answer

    def _once(
        self, run: RunStats, fn: Callable[[], T], estimate: float, cost: Callable[[T], float]
    ) -> T:
        run.check()
        if run.breaker is not None:
            run.breaker.check()
        with self._inflight:
            run.check()
            if self._limiter.active:
                self._limiter.acquire(estimate)
                run.check()  # the run may have stopped while this waited for its slot
            started = time.perf_counter()
            answer = fn()
            # A moving average of request time; races between threads only drop samples.
            self.latency_s += (time.perf_counter() - started - self.latency_s) * 0.1
        self._limiter.settle(estimate, cost(answer))
        return answer


@dataclass(frozen=True)
class _Ticket(Generic[R]):
    """A row's future, and whether this run created it (else it is shared via the cache)."""

    future: Future[R]
    owned: bool = False


def _completed(result: R) -> Future[R]:
    fut: Future[R] = Future()
    fut.set_result(result)
    return fut


class _DaemonPool:
    """Worker threads that never keep the process alive (unlike ``ThreadPoolExecutor``,
    whose threads are joined at exit): after Ctrl-C the process ends at once."""

    def __init__(self, workers: int, name: str) -> None:
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def _loop(self) -> None:
        while (task := self._tasks.get()) is not None:
            task()

    def submit(self, task: Callable[[], None]) -> None:
        self._tasks.put(task)

    def shutdown(self, *, wait: bool) -> None:
        for _ in self._threads:
            self._tasks.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


class Executor(Generic[R, RunT]):
    """Runs ``work`` over values concurrently, in order, with a shared result cache.

    * ``shortcut(value)`` gives the result of a value that needs no work (not text, blank),
      else None; every other value must then be a ``str``.
    * ``key(text)`` is the cache key; ``keep(result)`` says whether a finished result may
      be reused (failures are not, so an identical later text is tried again).
    * An exception of a ``fatal`` type stops the rest of a worker's batch (and the run); any
      other exception of ``work`` becomes that value's result through ``on_error(text, exc)``,
      so one bad value never stops a run.
    """

    def __init__(
        self,
        work: Callable[[str, RunT], R],
        gate: RequestGate,
        *,
        concurrency: int,
        cache_size: int,
        key: Callable[[str], str],
        keep: Callable[[R], bool],
        shortcut: Callable[[object], R | None],
        fatal: tuple[type[BaseException], ...],
        on_error: Callable[[str, Exception], R],
    ) -> None:
        self._work = work
        self._on_error = on_error
        self.gate = gate
        self.concurrency = concurrency
        self._cache_size = cache_size
        self.cache_enabled = cache_size > 0
        self._key = key
        self._keep = keep
        self._shortcut = shortcut
        self._fatal: tuple[type[BaseException], ...] = (*fatal, RunCancelled)
        # key -> result, or the future of a request still in flight (so duplicates wait)
        self.cache: OrderedDict[str, Future[R] | R] = OrderedDict()
        self._cache_lock = threading.Lock()

    # -- one value inline, many in a pool ---------------------------------------------------

    def run_one(self, value: object, run: RunT) -> R:
        """The result of one value, computed in the calling thread (or from the cache)."""
        return self._submit(value, run, None).future.result()

    def imap(self, values: Iterable[object], run: RunT) -> Iterator[R]:
        """Results for ``values`` in order, with a bounded number submitted ahead.

        Rows go to the pool one by one. Only when requests are very fast (a local model,
        a cache-like backend) is the thread hand-off per row a real cost; then rows go in
        batches that grow with the backlog (up to ``_MAX_BATCH``). Slow requests never
        batch, so no worker idles at the end while another finishes a batch.
        """
        window = self.concurrency * _WINDOW_PER_WORKER
        pool = _DaemonPool(self.concurrency, "pii-gemini-mask")
        pending: deque[tuple[object, _Ticket[R]]] = deque()
        batch: list[tuple[str, Future[R]]] = []

        def flush() -> None:
            if batch:
                pool.submit(functools.partial(self._run_batch, batch.copy(), run))
                batch.clear()

        def next_result() -> R:
            value, ticket = pending.popleft()
            if not ticket.future.done():
                flush()  # never wait for a row that was not handed to a worker
            try:
                return ticket.future.result()
            except CancelledError:
                # A cached future shared with another run that was aborted: redo it here.
                ticket = self._submit(value, run, batch)
                flush()
                return ticket.future.result()
            except RunCancelled:
                if run.halted is not None:  # a worker met a fatal error: that is the news
                    raise run.halted from None
                raise

        try:
            for value in values:
                pending.append((value, self._submit(value, run, batch)))
                size = 1
                if self.gate.latency_s < _BATCH_BELOW_S:
                    size = min(_MAX_BATCH, len(pending) // (2 * self.concurrency))
                if len(batch) >= max(1, size):
                    flush()
                while len(pending) >= window or (pending and pending[0][1].future.done()):
                    yield next_result()
            flush()
            while pending:
                yield next_result()
        except BaseException:
            run.stop.set()  # waits end, no new request starts
            for _, ticket in pending:
                if ticket.owned:
                    ticket.future.cancel()
            for _, fut in batch:
                fut.cancel()
            pool.shutdown(wait=False)
            raise
        pool.shutdown(wait=True)

    def _submit(
        self, value: object, run: RunT, batch: list[tuple[str, Future[R]]] | None
    ) -> _Ticket[R]:
        """A future for ``value``'s result: done at once, from the cache, or new.

        A new future is appended to ``batch`` (to be run by the pool) and owned by the
        caller; with ``batch=None`` it is computed inline in the calling thread.
        """
        quick = self._shortcut(value)
        if quick is not None:
            return _Ticket(_completed(quick))
        assert isinstance(value, str)
        fut: Future[R] = Future()
        if self.cache_enabled:
            key = self._key(value)
            with self._cache_lock:
                hit = self.cache.get(key)
                if hit is not None and not (isinstance(hit, Future) and hit.cancelled()):
                    self.cache.move_to_end(key)
                    run.cached += 1
                    return _Ticket(hit if isinstance(hit, Future) else _completed(hit))
                self._remember(key, fut)
            fut.add_done_callback(lambda f: self._settle(key, f))
        if batch is None:
            self._run_one(value, fut, run)
        else:
            batch.append((value, fut))
        return _Ticket(fut, owned=True)

    def _run_one(self, text: str, fut: Future[R], run: RunT) -> bool:
        """Compute one future; False when its error must stop the rest of a batch."""
        if not fut.set_running_or_notify_cancel():
            return True
        try:
            result = self._work(text, run)
        except self._fatal as exc:
            if not isinstance(exc, RunCancelled):
                run.halt(exc)
            fut.set_exception(exc)
            return False
        except Exception as exc:  # one bad value: its result says so, the run goes on
            fut.set_result(self._on_error(text, exc))
            return True
        except BaseException as exc:
            fut.set_exception(exc)
            return False
        fut.set_result(result)
        return True

    def _run_batch(self, batch: list[tuple[str, Future[R]]], run: RunT) -> None:
        """A pool task: several rows in order (fewer thread hand-offs per row)."""
        for i, (text, fut) in enumerate(batch):
            if not self._run_one(text, fut, run):
                for _, rest in batch[i + 1 :]:
                    rest.cancel()  # the run stops at the fatal error before these
                return

    # -- cache ------------------------------------------------------------------------------

    def clear_cache(self) -> None:
        """Forget every cached result."""
        with self._cache_lock:
            self.cache.clear()

    def prefill(self, key: str, result: R) -> None:
        """Offer a result computed elsewhere (a resumed row); kept unless the key is known."""
        with self._cache_lock:
            if key not in self.cache:
                self._remember(key, result)

    def _remember(self, key: str, entry: Future[R] | R) -> None:
        """Insert under the cache lock; evict the least recently used entries."""
        self.cache[key] = entry
        while len(self.cache) > self._cache_size:
            self.cache.popitem(last=False)

    def _settle(self, key: str, fut: Future[R]) -> None:
        """Keep a finished result as a plain value (lighter than a future); drop failures
        and crashes so a later identical text is tried again."""
        with self._cache_lock:
            if self.cache.get(key) is not fut:
                return
            if fut.cancelled() or fut.exception() is not None:
                del self.cache[key]
                return
            result = fut.result()
            if self._keep(result):
                self.cache[key] = result
            else:
                del self.cache[key]
