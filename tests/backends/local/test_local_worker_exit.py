"""A local job whose worker keeps dying says how the last worker ended and where its log is.

It said "the training worker stopped N times without finishing (out of memory?)" whatever
killed it. Now the process that started a worker (the only one that can) tells its signal or
exit code, and another process says it is not known. No torch needed: the workers here are
plain Python processes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pii_gemini._types import Hyperparameters, JobState
from pii_gemini.backends._local_card import ModelCard
from pii_gemini.backends._local_store import ModelFolder
from pii_gemini.backends._local_worker import supervise, track_worker


def _running_job(tmp_path: Path) -> tuple[ModelFolder, ModelCard]:
    folder = ModelFolder(tmp_path, "dies")
    folder.path.mkdir()
    card = ModelCard(
        name=folder.name,
        job=folder.job_name,
        state=JobState.RUNNING,
        base_model="google/gemma-3-270m-it",
        base_path="/models/gemma",
        hyperparameters=Hyperparameters(epoch_count=1, batch_size=1, learning_rate=0.001),
        total_steps=10,
        train_examples=10,
        restarts=2,
    )
    folder.write_card(card)
    return folder, card


def _worker_that(folder: ModelFolder, code: str) -> None:
    """Start a process as ``start_worker`` starts a worker, one that ends by ``code``."""
    process = subprocess.Popen([sys.executable, "-c", code])
    track_worker(process)
    folder.pid_path.write_text(f"{process.pid}\n", encoding="utf-8")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_killed_worker_is_named_by_its_signal_and_log(tmp_path: Path) -> None:
    folder, card = _running_job(tmp_path)
    _worker_that(folder, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    failed = supervise(folder, card, mode="thread", max_restarts=2)
    assert failed.state is JobState.FAILED
    assert failed.error is not None
    assert "3 times" in failed.error
    assert "killed by SIGKILL" in failed.error
    assert str(folder.log_path) in failed.error
    assert "out of memory?" not in failed.error


def test_a_worker_that_exited_is_named_by_its_exit_code(tmp_path: Path) -> None:
    folder, card = _running_job(tmp_path)
    _worker_that(folder, "import sys; sys.exit(3)")
    failed = supervise(folder, card, mode="thread", max_restarts=2)
    assert failed.error is not None and "exited with code 3" in failed.error


def test_an_unknown_end_is_said_to_be_unknown(tmp_path: Path) -> None:
    folder, card = _running_job(tmp_path)
    card = card.replace(restarts=0)
    folder.write_card(card)
    folder.pid_path.write_text("1\n", encoding="utf-8")  # a worker another process started
    failed = supervise(folder, card, mode="thread", max_restarts=0)
    assert failed.error is not None
    assert "stopped once without" in failed.error
    assert "not known" in failed.error and str(folder.log_path) in failed.error
    assert "out of memory?" not in failed.error
