"""A fake job keeps the speed it was started with: it is saved with the job in the state file.

``--fake-speed`` was a setting of each process, so ``tune --fake-speed 50`` then ``status``
without it ran the job at the default speed (400 steps/s): it finished far too early.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import pytest

from pii_gemini.backends._fake_state import SPEED_ENV, FakeState
from pii_gemini.tuning import Tuner

PAIRS = [(f"Input: call Ann on 555-01{i:02d}", "call [NAME] on [PHONE]") for i in range(40)]
CRAWL = 0.001  # steps per second: a job at this speed runs no step within the test


def _start_job(path: Path, speed: float | None) -> str:
    """Start a 40-step job through a FakeState of ``speed`` and save it; its operation."""
    store = FakeState(path, speed)
    backend = store.load()
    job = Tuner(backend, poll_interval=0).tune(PAIRS, epoch_count=1, batch_size=1)
    store.save(backend)
    return job.name


def _steps(path: Path, job: str, speed: float | None) -> tuple[int, str]:
    """Completed steps and state of ``job`` seen by a new FakeState of ``speed``."""
    store = FakeState(path, speed)
    backend = store.load()
    info = Tuner(backend).job(job).info
    store.save(backend)
    return info.completed_steps, info.state.value


def test_a_later_process_runs_the_job_at_its_own_speed(tmp_path: Path) -> None:
    path = tmp_path / "state.pkl"
    job = _start_job(path, CRAWL)
    time.sleep(0.2)  # 80 steps at the default 400 steps/s: the whole job
    assert _steps(path, job, None) == (0, "RUNNING")
    assert _steps(path, job, None) == (0, "RUNNING")  # saving kept the job's speed


def test_an_explicit_speed_overrides_the_jobs_for_that_command_only(tmp_path: Path) -> None:
    path = tmp_path / "state.pkl"
    crawling, instant = _start_job(path, CRAWL), _start_job(path, 0)
    assert _steps(path, instant, None) == (40, "SUCCEEDED")
    assert _steps(path, crawling, 0) == (40, "SUCCEEDED")  # --fake-speed 0: finish it now
    other = _start_job(path, CRAWL)
    assert _steps(path, other, 0.002) == (0, "RUNNING")
    time.sleep(0.2)
    assert _steps(path, other, None) == (0, "RUNNING")  # still its own speed afterwards


def test_a_state_file_written_before_jobs_kept_their_speed_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.pkl"
    job = _start_job(path, CRAWL)
    envelope = pickle.loads(path.read_bytes())
    for saved in envelope["service"]["jobs"].values():
        del saved.__dict__["progression"]  # as an older pii_gemini pickled it
    path.write_bytes(pickle.dumps(envelope))
    monkeypatch.setenv(SPEED_ENV, "0")
    assert _steps(path, job, None) == (40, "SUCCEEDED")  # at the speed of this process
