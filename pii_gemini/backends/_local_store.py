"""The local models folder: one sub-folder per tuned model, and how processes share it.

::

    <root>/<model-id>/
        card.json          the model card (``_local_card.ModelCard``), rewritten atomically
        loss.jsonl         one loss snapshot a line, appended by the worker after each step
        adapter/           the trained LoRA adapter (peft format), once the job succeeded
        data/              the training examples (mode 0600), only while the job runs
        checkpoints/       the last checkpoint(s) a crashed job resumes from
        worker.lock        held (flock) by the live training worker, released when it dies
        worker.pid         the id of the process that trains (or last trained) the model
        control.lock       taken by whoever checks on or restarts the worker
        cancel             exists once a cancel was asked for
        worker.log         the worker's stderr (class names and tracebacks, no messages)

The worker's liveness is its lock: the kernel drops a ``flock`` when its process dies, also
on ``kill -9``, so a poll that can take ``worker.lock`` knows the worker is gone and may
start a new one from the last checkpoint. Pure Python; nothing here imports torch.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .._types import LossSnapshot, TuningExample
from ._fake_state import _write_atomically  # the one atomic replace of the backends
from ._local_card import ModelCard

__all__ = ["ModelFolder", "model_id_of", "write_atomic"]

_MODEL_PREFIX = "tunedModels/"
_JOB_SUFFIX = "/operations/tune"

try:  # POSIX; elsewhere a dead worker is not detected (see has_locks)
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows
    _fcntl = None  # type: ignore[assignment]


def model_id_of(name: str) -> str | None:
    """``tunedModels/<id>`` or ``tunedModels/<id>/operations/tune`` -> ``<id>``, else None."""
    if not name.startswith(_MODEL_PREFIX):
        return None
    rest = name[len(_MODEL_PREFIX) :]
    if rest.endswith(_JOB_SUFFIX):
        rest = rest[: -len(_JOB_SUFFIX)]
    if not rest or "/" in rest or rest.startswith("."):
        return None
    return rest


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader (or a crash) never sees half a file.

    The file is readable by its owner only (``mkstemp``'s mode), as training data must be.
    """
    _write_atomically(path, text.encode("utf-8"))


class ModelFolder:
    """One model's folder: its card, loss log, data, checkpoints, adapter and locks."""

    def __init__(self, root: Path, model_id: str) -> None:
        self.model_id = model_id
        self.path = root / model_id
        self.name = f"{_MODEL_PREFIX}{model_id}"
        self.job_name = f"{self.name}{_JOB_SUFFIX}"
        self.card_path = self.path / "card.json"
        self.loss_path = self.path / "loss.jsonl"
        self.adapter_dir = self.path / "adapter"
        self.data_dir = self.path / "data"
        self.checkpoint_dir = self.path / "checkpoints"
        self.log_path = self.path / "worker.log"
        self.pid_path = self.path / "worker.pid"
        self._cancel_path = self.path / "cancel"

    def exists(self) -> bool:
        """True when the folder holds a card."""
        return self.card_path.is_file()

    # -- the card -----------------------------------------------------------------------

    def read_card(self) -> ModelCard:
        """The model card (raises FileNotFoundError or ValueError for a missing/bad one)."""
        return ModelCard.from_json(self.card_path.read_text(encoding="utf-8"))

    def write_card(self, card: ModelCard) -> None:
        """Replace the card atomically."""
        write_atomic(self.card_path, card.to_json())

    # -- the training data (deleted when the job ends) ------------------------------------

    def write_data(self, split: str, examples: Sequence[TuningExample]) -> None:
        """Keep ``examples`` for the worker (and a resumed worker), readable by the owner only."""
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        lines = "".join(
            json.dumps({"text_input": ex.text_input, "output": ex.output}, ensure_ascii=False)
            + "\n"
            for ex in examples
        )
        write_atomic(self.data_dir / f"{split}.jsonl", lines)

    def read_data(self, split: str) -> list[TuningExample]:
        """The examples of ``split`` (empty when there are none)."""
        path = self.data_dir / f"{split}.jsonl"
        if not path.is_file():
            return []
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return [TuningExample(row["text_input"], row["output"]) for row in rows]

    def has_work_files(self) -> bool:
        """True while the data copy or checkpoints are on disk."""
        return self.data_dir.exists() or self.checkpoint_dir.exists()

    def discard_work_files(self) -> None:
        """Drop the data copy and the checkpoints: the job is over, nothing will resume."""
        for folder in (self.data_dir, self.checkpoint_dir):
            shutil.rmtree(folder, ignore_errors=True)
        self._cancel_path.unlink(missing_ok=True)

    # -- the loss log ---------------------------------------------------------------------

    def append_loss(self, snapshot: LossSnapshot) -> None:
        """Append one snapshot as a line (the worker calls this after every step)."""
        row: dict[str, Any] = {
            "step": snapshot.step,
            "epoch": snapshot.epoch,
            "mean_loss": snapshot.mean_loss,
            "time": snapshot.compute_time.isoformat() if snapshot.compute_time else None,
        }
        if snapshot.validation_loss is not None:
            row["validation_loss"] = snapshot.validation_loss
        with self.loss_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")

    def read_losses(self) -> list[LossSnapshot]:
        """Every complete snapshot line; a line torn by a crash is skipped."""
        if not self.loss_path.is_file():
            return []
        snapshots: list[LossSnapshot] = []
        for line in self.loss_path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                when = _dt.datetime.fromisoformat(row["time"]) if row.get("time") else None
                loss = float(row["mean_loss"])
                validation = row.get("validation_loss")
                snapshots.append(
                    LossSnapshot(
                        int(row["step"]),
                        int(row["epoch"]),
                        loss if math.isfinite(loss) else math.nan,
                        when,
                        validation_loss=None if validation is None else float(validation),
                    )
                )
            except (ValueError, KeyError, TypeError):
                continue  # the torn last line of a killed worker
        return snapshots

    def keep_losses_up_to(self, step: int) -> None:
        """Forget the snapshots after ``step`` (a resumed run redoes those steps)."""
        kept = [s for s in self.read_losses() if s.step <= step]
        self.loss_path.unlink(missing_ok=True)
        for snapshot in kept:
            self.append_loss(snapshot)

    # -- cancel ---------------------------------------------------------------------------

    def request_cancel(self) -> None:
        """Leave the cancel mark the worker looks for before each step."""
        self._cancel_path.touch()

    def cancel_requested(self) -> bool:
        """True once ``request_cancel`` was called for the running job."""
        return self._cancel_path.exists()

    # -- locks ----------------------------------------------------------------------------

    def claim_worker_lock(self) -> int | None:
        """Take ``worker.lock`` without waiting: an open fd that holds it, or None if a live
        worker holds it. The fd can be handed to a worker (``pass_fds``), which then holds
        the lock for as long as it lives."""
        fd = os.open(self.path / "worker.lock", os.O_RDWR | os.O_CREAT, 0o600)
        if _fcntl is None:  # pragma: no cover - Windows: assume it is alive
            os.close(fd)
            return None
        try:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    @contextlib.contextmanager
    def control_lock(self) -> Iterator[None]:
        """Serialise checks and restarts of the worker across threads and processes."""
        fd = os.open(self.path / "control.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if _fcntl is not None:
                _fcntl.flock(fd, _fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the lock


def has_locks() -> bool:
    """True where a dead worker can be told from a live one (POSIX ``flock``)."""
    return _fcntl is not None
