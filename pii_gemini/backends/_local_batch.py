"""Gathering concurrent generate calls into batches: the Masker's concurrency becomes a batch.

The Masker calls ``Backend.generate`` once per text from up to ``concurrency`` threads. A
local model answers a batch of prompts in about the time of one on a GPU (and in less
than the sum of them on a CPU), so ``Batcher.submit`` does not run the model itself: it
queues the prompt and blocks, while one generation thread takes every queued prompt for
the same model and settings (up to ``max_batch``, waiting at most ``wait`` seconds for
more to arrive) and runs them as one batch. With ``concurrency=8`` the model sees batches
of up to 8 prompts, with no change to the Masker. Pure Python: the batch function is given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .._exceptions import BackendError

__all__ = ["Batcher"]

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


@dataclass
class _Request(Generic[K, R]):
    key: K
    prompt: str
    future: Future[R] = field(default_factory=Future)


class Batcher(Generic[K, R]):
    """Runs ``run(key, prompts)`` on batches of the prompts submitted for the same key.

    ``run`` must return one result per prompt, in order; an exception it raises is raised
    in every caller of that batch.
    """

    def __init__(
        self,
        run: Callable[[K, Sequence[str]], Sequence[R]],
        *,
        max_batch: int,
        wait: float = 0.005,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self._run = run
        self.max_batch = max_batch
        self.wait = max(wait, 0.0)
        self._pending: list[_Request[K, R]] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.batch_sizes: list[int] = []  # size of every batch run so far (for stats, tests)

    def submit(self, key: K, prompt: str) -> R:
        """Queue ``prompt`` for ``key`` and wait for its result."""
        request: _Request[K, R] = _Request(key, prompt)
        with self._cond:
            if self._closed:
                raise BackendError("the local backend is closed")
            self._pending.append(request)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="pii-gemini-local-generate", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
        return request.future.result()

    def close(self) -> None:
        """Stop the generation thread; prompts still queued fail with BackendError."""
        with self._cond:
            self._closed = True
            left, self._pending = self._pending, []
            self._cond.notify_all()
            thread = self._thread
        for request in left:
            request.future.set_exception(BackendError("the local backend was closed"))
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _take(self) -> list[_Request[K, R]] | None:
        """The next batch: the oldest prompt's key, up to ``max_batch`` prompts of it."""
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            key = self._pending[0].key
            deadline = time.monotonic() + self.wait
            while sum(r.key == key for r in self._pending) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    break
            if self._closed:
                return None
            batch = [r for r in self._pending if r.key == key][: self.max_batch]
            taken = {id(r) for r in batch}
            self._pending = [r for r in self._pending if id(r) not in taken]
            return batch

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            self.batch_sizes.append(len(batch))
            try:
                results = self._run(batch[0].key, [r.prompt for r in batch])
                if len(results) != len(batch):
                    raise BackendError(f"{len(results)} answers for {len(batch)} prompts")
            except BaseException as exc:
                for request in batch:
                    request.future.set_exception(exc)
                continue
            for request, result in zip(batch, results, strict=True):
                request.future.set_result(result)
