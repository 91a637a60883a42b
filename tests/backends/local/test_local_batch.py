"""Batcher: concurrent generate calls become batches per model and settings (no torch)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from pii_gemini._exceptions import BackendError
from pii_gemini.backends._local_batch import Batcher


class Recorder:
    """A batch function that records its batches; the first batch waits for a gate."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[str]]] = []
        self.gate = threading.Event()
        self.started = threading.Event()

    def __call__(self, key: str, prompts: Sequence[str]) -> list[str]:
        self.started.set()
        self.gate.wait(10)
        self.batches.append((key, list(prompts)))
        return [f"{key}:{p.upper()}" for p in prompts]


def test_waiting_callers_are_answered_in_one_batch_each_with_its_own_answer() -> None:
    run = Recorder()
    batcher: Batcher[str, str] = Batcher(run, max_batch=8, wait=0.0)
    with ThreadPoolExecutor(7) as pool:
        first = pool.submit(batcher.submit, "m", "p0")
        assert run.started.wait(10)  # the model is busy with p0 ...
        rest = [pool.submit(batcher.submit, "m", f"p{i}") for i in range(1, 7)]
        while len(batcher._pending) < 6:  # ... while six more callers queue up
            threading.Event().wait(0.001)
        run.gate.set()
        assert first.result(10) == "m:P0"
        assert [f.result(10) for f in rest] == [f"m:P{i}" for i in range(1, 7)]
    assert batcher.batch_sizes == [1, 6]
    batcher.close()


def test_batches_hold_one_key_and_at_most_max_batch() -> None:
    run = Recorder()
    batcher: Batcher[str, str] = Batcher(run, max_batch=2, wait=0.0)
    queued = [("a", "a1"), ("b", "b1"), ("a", "a2"), ("a", "a3"), ("b", "b2")]
    with ThreadPoolExecutor(6) as pool:
        blocker = pool.submit(batcher.submit, "a", "a0")
        assert run.started.wait(10)
        futures = [pool.submit(batcher.submit, key, prompt) for key, prompt in queued]
        while len(batcher._pending) < len(queued):
            threading.Event().wait(0.001)
        run.gate.set()
        blocker.result(10)
        answers = [f.result(10) for f in futures]
    assert answers == [f"{key}:{prompt.upper()}" for key, prompt in queued]
    assert run.batches[1:] == [("a", ["a1", "a2"]), ("b", ["b1", "b2"]), ("a", ["a3"])]
    batcher.close()


def test_a_failed_batch_raises_in_every_caller_and_the_next_batch_runs() -> None:
    calls = []

    def run(key: str, prompts: Sequence[str]) -> list[str]:
        calls.append(list(prompts))
        if len(calls) == 1:
            raise BackendError("boom")
        return list(prompts)

    batcher: Batcher[str, str] = Batcher(run, max_batch=4)
    with pytest.raises(BackendError, match="boom"):
        batcher.submit("m", "x")
    assert batcher.submit("m", "y") == "y"
    batcher.close()


def test_a_wrong_number_of_answers_is_an_error() -> None:
    batcher: Batcher[str, str] = Batcher(lambda key, prompts: [], max_batch=4)
    with pytest.raises(BackendError, match="0 answers for 1 prompts"):
        batcher.submit("m", "x")
    batcher.close()


def test_closed_batcher_refuses_new_prompts() -> None:
    batcher: Batcher[str, str] = Batcher(lambda key, prompts: list(prompts), max_batch=4)
    assert batcher.submit("m", "x") == "x"
    batcher.close()
    with pytest.raises(BackendError, match="closed"):
        batcher.submit("m", "y")


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Batcher(lambda key, prompts: list(prompts), max_batch=0)
