"""``TuningJob``: the handle on one tuning job (poll, wait with a progress bar, cancel, loss).

Kept apart from ``tuning.Tuner`` (which creates jobs at most once) so each file has one
job; ``pii_gemini.tuning.TuningJob`` stays the public path.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO, TypeVar

import pandas as pd
from tqdm import tqdm

from ._exceptions import (
    BackendError,
    ConfigError,
    TuningJobCancelled,
    TuningJobFailed,
    TuningTimeout,
)
from ._types import JobState, LossSnapshot, TrainingContract, TunedModelInfo, TuningJobInfo

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .backends.base import Backend

__all__ = ["TuningJob"]

T = TypeVar("T")
_SNAPSHOT_COLUMNS = ["step", "epoch", "mean_loss", "compute_time"]


class JobOwner(Protocol):
    """What a job needs of the ``tuning.Tuner`` that made it (imports point one way)."""

    backend: Backend
    poll_interval: float
    clock: Callable[[], float]
    sleep: Callable[[float], None]

    def _call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any: ...

    def get_model(self, name: str) -> TunedModelInfo: ...


class TuningJob:
    """Handle on one tuning job: poll it, wait for it, cancel it, inspect its loss."""

    def __init__(self, tuner: JobOwner, info: TuningJobInfo, *, total_steps: int) -> None:
        self._tuner = tuner
        self._info = info
        self._model_info: TunedModelInfo | None = None
        self.name = info.name
        self.model = info.model
        self.base_model = info.base_model
        self.total_steps = total_steps
        self.contract: TrainingContract | None = None  # set by Tuner.tune

    def __repr__(self) -> str:
        return f"TuningJob(name={self.name!r}, model={self.model!r}, state={self.state.value})"

    @property
    def info(self) -> TuningJobInfo:
        """The job as of the last poll (no call)."""
        return self._info

    @property
    def state(self) -> JobState:
        """The state as of the last poll (no call)."""
        return self._info.state

    def refresh(self) -> TuningJobInfo:
        """Poll the backend once."""
        info: TuningJobInfo = self._tuner._call(self._tuner.backend.get_tuning_job, self.name)
        self._info = info
        if info.total_steps:
            self.total_steps = info.total_steps
        return info

    def wait(
        self,
        *,
        progress: bool = True,
        timeout: float | None = None,
        poll_interval: float | None = None,
        file: TextIO | None = None,
    ) -> TunedModelInfo:
        """Poll until the job ends; returns the tuned model.

        Shows a progress bar (steps, latest loss) unless ``progress`` is False; ``file``
        defaults to stderr. Raises TuningTimeout after ``timeout`` seconds,
        TuningJobFailed or TuningJobCancelled when the job ends badly; every one of them
        carries ``job_name`` so the job can be found again (``Tuner.job(name)``).
        """
        interval = self._tuner.poll_interval if poll_interval is None else poll_interval
        if interval < 0:
            raise ConfigError(f"poll_interval must be >= 0, got {interval}")
        if timeout is not None and timeout < 0:
            raise ConfigError(f"timeout must be >= 0, got {timeout}")
        clock = self._tuner.clock
        started = clock()
        bar = tqdm(
            total=self.total_steps or None,
            unit="step",
            desc=self.model,
            disable=not progress,
            file=file if file is not None else sys.stderr,
            leave=True,
        )
        try:
            while True:
                info = self._poll()
                if not bar.total and self.total_steps:  # the service reported its count
                    bar.total = self.total_steps
                if info.completed_steps > bar.n:
                    bar.update(info.completed_steps - bar.n)
                if info.snapshots:
                    bar.set_postfix(loss=f"{info.snapshots[-1].mean_loss:.4f}", refresh=False)
                if info.state.is_terminal:
                    break
                elapsed = clock() - started
                if timeout is not None and elapsed >= timeout:
                    raise TuningTimeout(
                        f"tuning job {self.name} did not finish within {timeout:g} s "
                        f"({info.completed_steps}/{self.total_steps} steps done)",
                        job_name=self.name,
                    )
                wait = interval if timeout is None else min(interval, timeout - elapsed)
                self._tuner.sleep(max(wait, 0.0))
        finally:
            bar.close()
        if info.state is JobState.CANCELLED:
            raise TuningJobCancelled(f"tuning job {self.name} was cancelled", job_name=self.name)
        if info.state is JobState.FAILED:
            reason = info.error or "no reason given"
            raise TuningJobFailed(f"tuning job {self.name} failed: {reason}", job_name=self.name)
        model = self._with_job_name(self._tuner.get_model, self.model)
        self._model_info = model
        return model

    def _poll(self) -> TuningJobInfo:
        return self._with_job_name(self.refresh)

    def _with_job_name(self, fn: Callable[..., T], /, *args: Any) -> T:
        try:
            return fn(*args)
        except BackendError as exc:
            # Keep the job findable: the error is the backend's, the note names the job.
            _note(exc, f"tuning job: {self.name}")
            raise

    def cancel(self) -> None:
        """Ask the backend to stop the job."""
        self._tuner._call(self._tuner.backend.cancel_tuning_job, self.name)

    def _snapshot_list(self) -> tuple[LossSnapshot, ...]:
        own = self._info.snapshots
        model = self._model_info.snapshots if self._model_info is not None else ()
        return model if len(model) > len(own) else own

    def snapshots(self) -> pd.DataFrame:
        """Loss per step as of the last poll: columns step, epoch, mean_loss, compute_time,
        and validation_loss (NaN between measurements) when the backend measured any."""
        snapshots = self._snapshot_list()
        columns = list(_SNAPSHOT_COLUMNS)
        if any(s.validation_loss is not None for s in snapshots):
            columns.append("validation_loss")
        rows = [
            {
                "step": s.step,
                "epoch": s.epoch,
                "mean_loss": s.mean_loss,
                "compute_time": s.compute_time,
                "validation_loss": s.validation_loss,
            }
            for s in snapshots
        ]
        frame: pd.DataFrame = pd.DataFrame(rows, columns=columns)
        return frame

    def loss_by_epoch(self) -> pd.DataFrame:
        """Mean loss over each epoch's steps: columns epoch, mean_loss."""
        frame = self.snapshots()
        if frame.empty:
            empty: pd.DataFrame = pd.DataFrame(
                {"epoch": pd.Series(dtype="int64"), "mean_loss": pd.Series(dtype="float64")}
            )
            return empty
        means = frame.groupby("epoch", sort=True)["mean_loss"].mean()
        return means.reset_index()

    def plot_loss(self, path: str | Path | None = None) -> Figure:
        """Plot the loss per step and the mean loss per epoch; save as PNG if ``path``.

        Uses ``matplotlib.figure.Figure`` directly (no pyplot state), so it works with any
        backend and in threads. Raises ConfigError when there are no snapshots yet.
        """
        from matplotlib.figure import Figure

        frame = self.snapshots()
        backend = self._tuner.backend
        if frame.empty and not backend.reports_loss:
            raise ConfigError(f"no loss to plot for {self.name}: {backend.no_loss}")
        if frame.empty:
            raise ConfigError(f"tuning job {self.name} has no loss snapshots yet")
        fig = Figure(figsize=(7.0, 4.0))
        ax = fig.add_subplot()
        ax.plot(frame["step"], frame["mean_loss"], label="loss per step", alpha=0.6)
        ends = frame.groupby("epoch", sort=True)["step"].max()
        epochs = self.loss_by_epoch()
        ax.plot(
            ends.to_numpy(),
            epochs["mean_loss"].to_numpy(),
            marker="o",
            linestyle="--",
            label="mean loss per epoch",
        )
        if "validation_loss" in frame.columns:
            measured = frame.dropna(subset=["validation_loss"])
            ax.plot(
                measured["step"], measured["validation_loss"], marker="s", label="validation loss"
            )
        ax.set_xlabel("step")
        ax.set_ylabel("mean loss")
        ax.set_title(f"Tuning loss: {self.model}")
        ax.legend()
        fig.tight_layout()
        if path is not None:
            target = Path(path)
            if not target.parent.is_dir():
                raise ConfigError(
                    f"cannot save the loss plot: folder {target.parent} does not exist"
                )
            fig.savefig(target, format="png")
        return fig


def _note(exc: BaseException, text: str) -> None:
    add_note = getattr(exc, "add_note", None)  # Python 3.11+
    if add_note is not None:
        add_note(text)
