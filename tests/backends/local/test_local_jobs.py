"""Local tuning jobs: kill -9 and resume, cancel, and the one-line errors.

The crash test trains in a worker process, kills it with SIGKILL once a checkpoint is on
disk, and lets the unchanged ``Tuner.job(name).wait()`` carry the job to its end.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from _local_support import short_examples

from pii_gemini import Tuner
from pii_gemini._exceptions import (
    AlreadyExistsError,
    ConfigError,
    NotFoundError,
    TuningJobCancelled,
    TuningJobFailed,
)
from pii_gemini._types import JobState
from pii_gemini.backends._local_store import ModelFolder
from pii_gemini.backends.local import LocalBackend


def _backend(models: Path, base: Path | str, **kwargs: object) -> LocalBackend:
    settings: dict[str, object] = {
        "models_dir": models,
        "base_model": str(base),
        "worker": "thread",
        "threads": 1,
    }
    settings.update(kwargs)
    return LocalBackend(**settings)  # type: ignore[arg-type]


def _wait_for(check: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:  # dead and reaped (the backend reaps its workers)
        return True
    return False


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_killed_worker_resumes_from_its_last_checkpoint(tmp_path: Path, tiny_base: Path) -> None:
    lora = {"lora_rank": 16, "lora_alpha": 32}  # settings that memorise the four pairs
    crashing = _backend(tmp_path, tiny_base, worker="process", checkpoint_every=5, **lora)
    job = Tuner(crashing).tune(
        short_examples(), model_id="crash", epoch_count=30, batch_size=1, learning_rate=0.01
    )
    folder = ModelFolder(tmp_path, "crash")
    _wait_for(lambda: (folder.checkpoint_dir / "latest").is_file())
    first_pid = int(folder.pid_path.read_text())
    os.kill(first_pid, signal.SIGKILL)
    _wait_for(lambda: _gone(first_pid))
    killed_at = folder.read_losses()[-1].step
    assert 5 <= killed_at < 120

    # Any backend on the same folder resumes it, with the settings on the card; this one
    # trains in a thread (no second import of torch).
    backend = _backend(tmp_path, tiny_base)
    model = Tuner(backend, poll_interval=0.05).job(job.name).wait(progress=False, timeout=300)

    assert model.state is JobState.SUCCEEDED
    card = backend.model_card(model.name)
    assert card.restarts == 1
    [resumed] = card.resumed_from
    assert resumed % 5 == 0 and 5 <= resumed <= killed_at
    assert int(folder.pid_path.read_text()) == os.getpid()  # the thread's process
    steps = [s.step for s in backend.get_model(model.name).snapshots]
    assert steps == list(range(1, 121))  # the steps after the checkpoint were redone once
    assert backend.generate(model.name, "Hi Ann").text == "FIRSTNAME: Ann"
    backend.close()


def test_cancel_stops_training_and_the_model_can_be_deleted(
    tmp_path: Path, tiny_base: Path
) -> None:
    backend = _backend(tmp_path, tiny_base)
    tuner = Tuner(backend, poll_interval=0.02)
    job = tuner.tune(short_examples(), model_id="stop", epoch_count=500, batch_size=1)
    _wait_for(lambda: job.refresh().completed_steps >= 2)
    job.cancel()
    with pytest.raises(TuningJobCancelled):
        job.wait(progress=False, timeout=60)
    info = job.refresh()
    assert info.state is JobState.CANCELLED and info.completed_steps < info.total_steps

    def tidied() -> bool:
        job.refresh()  # a poll also tidies what a finished worker left
        return not (tmp_path / "stop" / "data").exists()

    _wait_for(tidied, 10)
    backend.delete_model(job.model)
    assert backend.list_models() == []
    with pytest.raises(NotFoundError):
        backend.get_model(job.model)


def test_a_model_id_in_use_is_refused(tmp_path: Path, tiny_base: Path) -> None:
    backend = _backend(tmp_path, tiny_base)
    tuner = Tuner(backend, poll_interval=0.02)
    job = tuner.tune(short_examples(), model_id="twice", epoch_count=1, batch_size=4)
    with pytest.raises(AlreadyExistsError, match="tunedModels/twice already exists"):
        tuner.tune(short_examples(), model_id="twice")
    job.wait(progress=False, timeout=60)


def test_not_enough_memory_is_one_line(tmp_path: Path, tiny_base: Path) -> None:
    backend = _backend(tmp_path, tiny_base, memory_limit_gb=1e-6)
    job = Tuner(backend, poll_interval=0.02).tune(short_examples(), model_id="big")
    with pytest.raises(TuningJobFailed, match=r"failed: not enough memory to tune .* on cpu"):
        job.wait(progress=False, timeout=60)
    card = backend.model_card(job.model)
    assert card.state is JobState.FAILED and card.error is not None
    assert "\n" not in card.error and "GB free" in card.error
    with pytest.raises(ConfigError, match=r"^not enough memory to run .*lower concurrency"):
        backend.generate(str(tiny_base), "Hi Ann")


def test_weights_missing_offline_say_where_it_looked_and_how_to_fetch(
    tmp_path: Path, tiny_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    backend = _backend(tmp_path / "models", "google/gemma-3-270m-it")
    with pytest.raises(NotFoundError) as caught:
        Tuner(backend).tune(short_examples())
    message = str(caught.value)
    assert "\n" not in message
    assert str(cache) in message and "hf download google/gemma-3-270m-it" in message
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())
    with pytest.raises(NotFoundError, match=r"has no config\.json"):
        backend.generate(str(tmp_path), "Hi")  # a folder, but not a checkpoint
