"""The local models folder: names, the loss log, the data copy and the worker lock."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pii_gemini._types import LossSnapshot, TuningExample
from pii_gemini.backends._local_card import now
from pii_gemini.backends._local_store import ModelFolder, has_locks, model_id_of


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tunedModels/pii-1", "pii-1"),
        ("tunedModels/pii-1/operations/tune", "pii-1"),
        ("tunedModels/", None),
        ("tunedModels/../etc", None),
        ("tunedModels/a/b", None),
        ("models/gemini-1.5-flash", None),
        ("/models/gemma", None),
    ],
)
def test_model_id_of(name: str, expected: str | None) -> None:
    assert model_id_of(name) == expected


def _folder(tmp_path: Path) -> ModelFolder:
    folder = ModelFolder(tmp_path, "m1")
    folder.path.mkdir()
    return folder


def test_loss_log_skips_a_torn_line_and_trims_for_a_resume(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    for step in range(1, 6):
        validation = 2.0 if step == 4 else None
        folder.append_loss(LossSnapshot(step, 1 + step // 3, 5.0 / step, now(), validation))
    with folder.loss_path.open("a") as fh:
        fh.write('{"step": 6, "epoch": 2, "mean_lo')  # the worker was killed mid-write
    snapshots = folder.read_losses()
    assert [s.step for s in snapshots] == [1, 2, 3, 4, 5]
    assert snapshots[3].validation_loss == 2.0 and snapshots[2].validation_loss is None
    folder.keep_losses_up_to(3)
    assert [s.step for s in folder.read_losses()] == [1, 2, 3]


def test_training_data_is_private_and_discarded(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    rows = [TuningExample("Dear Ann", "Dear [FIRSTNAME]"), TuningExample("hé\nx", "y")]
    folder.write_data("train", rows)
    assert folder.read_data("train") == rows
    assert folder.read_data("validation") == []
    mode = stat.S_IMODE(os.stat(folder.data_dir / "train.jsonl").st_mode)
    assert mode == 0o600
    folder.checkpoint_dir.mkdir()
    folder.request_cancel()
    folder.discard_work_files()
    assert not folder.data_dir.exists() and not folder.checkpoint_dir.exists()
    assert not folder.cancel_requested()


@pytest.mark.skipif(not has_locks(), reason="needs POSIX flock")
def test_worker_lock_is_held_until_its_holder_closes_it(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    fd = folder.claim_worker_lock()
    assert fd is not None
    assert folder.claim_worker_lock() is None  # a live holder, even in this process
    os.close(fd)
    again = folder.claim_worker_lock()
    assert again is not None
    os.close(again)


@pytest.mark.skipif(not has_locks(), reason="needs POSIX flock")
def test_a_killed_holder_releases_the_worker_lock(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    code = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        from pii_gemini.backends._local_store import ModelFolder
        fd = ModelFolder(Path({str(tmp_path)!r}), "m1").claim_worker_lock()
        print("held" if fd is not None else "busy", flush=True)
        sys.stdin.readline()
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "held"
    assert folder.claim_worker_lock() is None
    child.stdin.write("\n")
    child.stdin.close()
    child.wait(timeout=30)
    child.stdout.close()
    fd = folder.claim_worker_lock()
    assert fd is not None
    os.close(fd)
