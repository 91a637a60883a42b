"""The executor: threads, the in-flight cap, rate limits, retries and the result cache.

It knows nothing about PII. It runs a ``work(text, run)`` function over many values, keeps
input order, hands a bounded number of rows ahead to a thread pool, and shares one result
per identical key (a finished result, or the future of one still in flight so duplicates
wait for it). Every request a worker makes goes through ``RequestGate.call``: an in-flight
slot, then a rate-limit slot, then the call, all under the run's ``Retrier`` - **this is
where the retry policy is applied** (each attempt takes its own slots, so retries count
against the limits).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from .._ratelimit import RateLimiter
from .._retry import Retrier, RetryPolicy

__all__ = ["Executor", "RequestGate", "RunStats"]

T = TypeVar("T")
R = TypeVar("R")
RunT = TypeVar("RunT", bound="RunStats")

_WINDOW_PER_WORKER = 16  # rows submitted ahead per worker, so one slow row stalls no one
_MAX_BATCH = 8  # most rows handed to a worker at once (only for fast backends)
_BATCH_BELOW_S = 0.002  # batch rows only while requests take less than this on average


class RunStats:
    """What the executor counts for one run: retries (its ``Retrier``) and cache hits."""

    def __init__(self, policy: RetryPolicy, sleep: Callable[[float], None]) -> None:
        self.retrier = Retrier(policy, sleep=sleep)
        self.started = time.perf_counter()
        self.cached = 0


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
        rate-limit reservation of ``estimate`` tokens, settled with ``cost(answer)``."""
        answer: T = run.retrier.call(self._once, fn, estimate, cost)
        return answer

    def _once(self, fn: Callable[[], T], estimate: float, cost: Callable[[T], float]) -> T:
        with self._inflight:
            if self._limiter.active:
                self._limiter.acquire(estimate)
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


class Executor(Generic[R, RunT]):
    """Runs ``work`` over values concurrently, in order, with a shared result cache.

    * ``shortcut(value)`` gives the result of a value that needs no work (not text, blank),
      else None; every other value must then be a ``str``.
    * ``key(text)`` is the cache key; ``keep(result)`` says whether a finished result may
      be reused (failures are not, so an identical later text is tried again).
    * An exception of a ``fatal`` type stops the rest of a worker's batch (and the run).
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
    ) -> None:
        self._work = work
        self.gate = gate
        self.concurrency = concurrency
        self._cache_size = cache_size
        self.cache_enabled = cache_size > 0
        self._key = key
        self._keep = keep
        self._shortcut = shortcut
        self._fatal = fatal
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
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="pii-gemini-mask")
        pending: deque[tuple[object, _Ticket[R]]] = deque()
        batch: list[tuple[str, Future[R]]] = []

        def flush() -> None:
            if batch:
                pool.submit(self._run_batch, batch.copy(), run)
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
            for _, ticket in pending:
                if ticket.owned:
                    ticket.future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
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
            fut.set_result(self._work(text, run))
        except BaseException as exc:
            fut.set_exception(exc)
            return not isinstance(exc, self._fatal)
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
