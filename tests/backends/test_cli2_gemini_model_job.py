"""GeminiBackend.get_tuning_job with a tuned model name resolves the model to its job, as
the fake and local backends do: the step counts come from the job's operation (it answered
0/0 steps, so ``pii-gemini status tunedModels/x`` printed ``0/0 steps (100%)`` above a last
loss at step 13)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pii_gemini._types import Hyperparameters, JobState, TuningExample, TuningSpec
from pii_gemini.backends.gemini import GeminiBackend
from pii_gemini.testing import Emulator, Progression

BASE = "models/gemini-1.5-flash-001-tuning"


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(era="2024", progression=Progression.per_poll(2)) as emulator:
        yield emulator


@pytest.fixture()
def backend(emu: Emulator) -> Iterator[GeminiBackend]:
    with emu.gemini_backend(timeout=10) as b:
        assert isinstance(b, GeminiBackend)
        yield b


def _spec() -> TuningSpec:
    examples = tuple(TuningExample(f"Input: call Ann {i}", "call [NAME]") for i in range(12))
    settings = Hyperparameters(epoch_count=1, batch_size=4, learning_rate=0.001)
    return TuningSpec(BASE, examples, hyperparameters=settings, model_id="by-name")


def test_a_model_name_gives_its_jobs_steps(backend: GeminiBackend) -> None:
    job = backend.create_tuning_job(_spec())  # 3 steps, 2 a poll
    running = backend.get_tuning_job("tunedModels/by-name")
    assert running.name == job.name  # resolved to the job
    assert running.model == "tunedModels/by-name"
    assert running.total_steps == 3 and running.state is JobState.RUNNING
    assert running.completed_steps == len(running.snapshots) == 2
    done = backend.get_tuning_job("tunedModels/by-name")
    assert done.state is JobState.SUCCEEDED
    assert (done.completed_steps, done.total_steps) == (3, 3)
    assert done.base_model == BASE


def test_a_model_whose_operation_is_gone_tells_its_steps_once_succeeded(
    backend: GeminiBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend.create_tuning_job(_spec())
    real = backend._client

    def without_operations(kind: str) -> Any:
        client = real(kind)
        if kind == "operations":
            monkeypatch.setattr(client, "list_operations", lambda **_: [])
        return client

    monkeypatch.setattr(backend, "_client", without_operations)
    running = backend.get_tuning_job("tunedModels/by-name")  # polls the model: 2 steps
    assert running.name == "tunedModels/by-name" and running.state is JobState.RUNNING
    assert (running.completed_steps, running.total_steps) == (0, 0)  # not told: not guessed
    done = backend.get_tuning_job("tunedModels/by-name")
    assert done.state is JobState.SUCCEEDED
    assert (done.completed_steps, done.total_steps) == (3, 3)  # from its last snapshot
