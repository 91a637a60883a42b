"""Tuner and TuningJob end to end on the FakeBackend: progress, loss, failures, retries."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from faker import Faker
from matplotlib.figure import Figure
from matplotlib.image import imread

from pii_gemini._exceptions import (
    ConfigError,
    DatasetError,
    InvalidRequestError,
    NotFoundError,
    TransientBackendError,
    TuningJobCancelled,
    TuningJobFailed,
    TuningTimeout,
)
from pii_gemini._retry import RetryPolicy
from pii_gemini._types import JobState, TuningExample
from pii_gemini.backends._service import Progression
from pii_gemini.backends.fake import FakeBackend
from pii_gemini.tuning import DEFAULT_SOURCE_MODEL, Tuner, TuningJob

PROMPT = "Mask the personal data.\n\nInput:\n{}\n\nOutput:\n"


def train_frame(n: int = 24, seed: int = 5) -> pd.DataFrame:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rows = []
    for _ in range(n):
        name, phone = fake.first_name(), fake.numerify("###-###-####")
        rows.append(
            {
                "text_input": PROMPT.format(f"Dear {name}, call me at {phone} tomorrow."),
                "output": "Dear [GIVENNAME], call me at [TELEPHONENUM] tomorrow.",
            }
        )
    return pd.DataFrame(rows)


class Clock:
    """A fake monotonic clock that the injected sleep moves forward."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_tuner(progression: Progression | None = None, **kwargs: object) -> tuple[Tuner, Clock]:
    clock = Clock()
    backend = FakeBackend(progression=progression or Progression.per_poll(steps=3))
    kwargs.setdefault("retry", RetryPolicy(attempts=4, jitter=0.0))
    tuner = Tuner(backend, sleep=clock.sleep, clock=clock, **kwargs)  # type: ignore[arg-type]
    return tuner, clock


def service_of(tuner: Tuner):  # type: ignore[no-untyped-def]
    backend = tuner.backend
    assert isinstance(backend, FakeBackend)
    return backend.service


def test_tune_wait_end_to_end_with_progress_bar() -> None:
    tuner, clock = make_tuner(poll_interval=10.0)
    job = tuner.tune(train_frame(24), epoch_count=3, batch_size=4, display_name="Dear masker")
    assert isinstance(job, TuningJob)
    assert job.total_steps == 18  # ceil(24 / 4) * 3
    assert job.base_model == DEFAULT_SOURCE_MODEL
    assert job.model.startswith("tunedModels/dear-masker-")
    assert job.state is JobState.RUNNING
    out = io.StringIO()
    model = job.wait(file=out)
    assert model.state is JobState.SUCCEEDED and model.name == job.model
    assert clock.sleeps == [10.0] * 5  # 6 polls of 3 steps, sleeping between them
    bar = out.getvalue()
    assert "18/18" in bar and "step" in bar and "loss=" in bar
    assert job.state is JobState.SUCCEEDED


def test_progress_bar_goes_to_stderr_and_can_be_disabled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tuner, _ = make_tuner(Progression.immediate())
    tuner.tune(train_frame(8), epoch_count=1).wait()
    assert "2/2" in capsys.readouterr().err
    tuner.tune(train_frame(8), epoch_count=1).wait(progress=False)
    assert capsys.readouterr().err == ""


def test_snapshots_and_epoch_means_fall() -> None:
    tuner, _ = make_tuner(Progression.immediate())
    job = tuner.tune(train_frame(40), epoch_count=3, batch_size=4)
    job.wait(progress=False)
    frame = job.snapshots()
    assert list(frame.columns) == ["step", "epoch", "mean_loss", "compute_time"]
    assert frame["step"].tolist() == list(range(1, 31))
    assert frame["compute_time"].iloc[0].tzinfo is not None
    epochs = job.loss_by_epoch()
    assert list(epochs.columns) == ["epoch", "mean_loss"]
    assert epochs["epoch"].tolist() == [1, 2, 3]
    means = epochs["mean_loss"].tolist()
    assert means[0] > means[1] > means[2]
    assert means[0] == pytest.approx(frame[frame["epoch"] == 1]["mean_loss"].mean())


def test_plot_loss_writes_a_png(tmp_path: Path) -> None:
    tuner, _ = make_tuner(Progression.immediate())
    job = tuner.tune(train_frame(16), epoch_count=2)
    job.refresh()
    path = tmp_path / "loss.png"
    fig = job.plot_loss(path)
    assert isinstance(fig, Figure)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 100
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 and len(lines[0].get_xdata()) == 8 and len(lines[1].get_xdata()) == 2
    assert isinstance(job.plot_loss(), Figure)  # no path: nothing written


def test_plot_without_snapshots_is_a_config_error() -> None:
    tuner, _ = make_tuner()
    job = tuner.tune(train_frame(8))
    assert job.snapshots().empty and job.loss_by_epoch().empty
    with pytest.raises(ConfigError, match="no loss snapshots"):
        job.plot_loss()


def test_timeout_keeps_the_job_name_and_the_job_can_be_resumed() -> None:
    tuner, clock = make_tuner(Progression.per_poll(steps=1), poll_interval=4.0)
    job = tuner.tune(train_frame(24), epoch_count=2)
    with pytest.raises(TuningTimeout) as info:
        job.wait(timeout=10.0, progress=False)
    assert info.value.job_name == job.name
    assert job.name in str(info.value)
    assert clock.sleeps == [4.0, 4.0, 2.0]
    again = tuner.job(job.name)
    assert again.model == job.model and again.total_steps == 12
    model = again.wait(progress=False, poll_interval=0.0)
    assert model.state is JobState.SUCCEEDED


def test_failed_job_raises_with_the_service_message() -> None:
    tuner, _ = make_tuner()
    service_of(tuner).fail_job(None, message="internal tuning error 42")
    job = tuner.tune(train_frame(24))
    with pytest.raises(TuningJobFailed, match="internal tuning error 42") as info:
        job.wait(progress=False)
    assert info.value.job_name == job.name
    assert job.state is JobState.FAILED


def test_cancelled_job_raises() -> None:
    tuner, _ = make_tuner()
    job = tuner.tune(train_frame(24))
    job.cancel()
    with pytest.raises(TuningJobCancelled) as info:
        job.wait(progress=False)
    assert info.value.job_name == job.name
    assert job.refresh().state is JobState.CANCELLED


def test_transient_errors_are_retried_with_the_injected_sleep() -> None:
    tuner, clock = make_tuner(Progression.per_poll(steps=100))
    service = service_of(tuner)
    service.inject_fault("create_tuned_model", 503, times=2)
    service.inject_fault("get_operation", 429, retry_delay=7.0)
    job = tuner.tune(train_frame(8), epoch_count=1)
    assert service.calls["create_tuned_model"] == 3
    assert len(clock.sleeps) == 2
    model = job.wait(progress=False)
    assert model.state is JobState.SUCCEEDED
    assert 7.0 in clock.sleeps  # the server's retry delay was honoured
    assert service.calls["get_operation"] == 2
    assert tuner.retrier.retries == 3


def test_retries_give_up_and_wait_errors_name_the_job() -> None:
    tuner, _ = make_tuner(retry=RetryPolicy(attempts=2, jitter=0.0))
    service = service_of(tuner)
    job = tuner.tune(train_frame(8))
    service.inject_fault("get_operation", 503, times=5)
    with pytest.raises(TransientBackendError) as info:
        job.wait(progress=False)
    assert service.calls["get_operation"] == 2
    assert any(job.name in note for note in getattr(info.value, "__notes__", [job.name]))


def test_non_transient_errors_are_not_retried() -> None:
    tuner, clock = make_tuner()
    with pytest.raises(NotFoundError):
        tuner.get_model("tunedModels/missing")
    with pytest.raises(InvalidRequestError):
        tuner.tune(train_frame(8), batch_size=65)  # over the service's limit
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "train",
    [
        pd.DataFrame({"text_input": [], "output": []}),
        [],
    ],
    ids=["empty-frame", "empty-list"],
)
def test_empty_training_data(train: object) -> None:
    tuner, _ = make_tuner()
    with pytest.raises(DatasetError, match="empty"):
        tuner.tune(train)  # type: ignore[arg-type]
    assert sum(service_of(tuner).calls.values()) == 0


def test_missing_column_is_named() -> None:
    tuner, _ = make_tuner()
    frame = train_frame(4).rename(columns={"output": "target"})
    with pytest.raises(DatasetError, match="'output'") as info:
        tuner.tune(frame)
    assert info.value.column == "output"
    job = tuner.tune(frame, output_column="target")
    assert job.total_steps == 2


def test_bad_cells_name_row_and_column_without_values() -> None:
    tuner, _ = make_tuner()
    frame = train_frame(4)
    frame.loc[2, "output"] = None
    with pytest.raises(DatasetError) as info:
        tuner.tune(frame)
    assert (info.value.row, info.value.column) == (2, "output")
    with pytest.raises(DatasetError) as info:
        tuner.tune([("Dear Ann", "Dear [X]"), ("Secret Bob", "   ")])
    assert info.value.row == 1 and "Bob" not in str(info.value)
    with pytest.raises(DatasetError):
        tuner.tune([("only one",)])  # type: ignore[list-item]
    with pytest.raises(DatasetError):
        tuner.tune("not a dataset")  # type: ignore[arg-type]
    assert sum(service_of(tuner).calls.values()) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"epoch_count": 0},
        {"batch_size": 0},
        {"learning_rate": 0.0},
        {"learning_rate": float("inf")},
        {"epoch_count": 1.5},
        {"model_id": "Bad_Id"},
        {"source_model": ""},
    ],
)
def test_bad_hyperparameters_fail_before_any_call(kwargs: dict[str, object]) -> None:
    tuner, _ = make_tuner()
    with pytest.raises(ConfigError):
        tuner.tune(train_frame(4), **kwargs)  # type: ignore[arg-type]
    assert sum(service_of(tuner).calls.values()) == 0


def test_sequence_inputs_and_model_management() -> None:
    tuner, _ = make_tuner(Progression.immediate())
    frame = train_frame(6)
    pairs = list(zip(frame["text_input"], frame["output"], strict=True))
    first = tuner.tune(pairs, model_id="from-pairs", epoch_count=1)
    second = tuner.tune([TuningExample(i, o) for i, o in pairs], epoch_count=1)
    assert first.model == "tunedModels/from-pairs" and first.total_steps == 2
    assert second.total_steps == 2
    table = tuner.models_frame()
    assert table["name"].tolist() == [first.model, second.model]
    assert table.loc[0, "state"] == "SUCCEEDED" and table.loc[0, "epoch_count"] == 1
    assert tuner.get_model(first.model).display_name == ""
    tuner.delete_model(first.model)
    assert [m.name for m in tuner.list_models()] == [second.model]
    assert re.search(r"TuningJob\(name='tunedModels/from-pairs/operations/", repr(first))


def test_tuned_fake_masks_after_tuning() -> None:
    tuner, _ = make_tuner(Progression.immediate())
    model = tuner.tune(train_frame(40), epoch_count=3).wait(progress=False)
    answer = tuner.backend.generate(
        model.name, PROMPT.format("Dear Hortense, call me at 415-555-0123 tomorrow.")
    )
    assert answer.text == "Dear [GIVENNAME], call me at [TELEPHONENUM] tomorrow."


def test_bad_wait_arguments() -> None:
    tuner, _ = make_tuner()
    job = tuner.tune(train_frame(4))
    with pytest.raises(ConfigError):
        job.wait(timeout=-1)
    with pytest.raises(ConfigError):
        job.wait(poll_interval=-1)
    with pytest.raises(ConfigError):
        Tuner(tuner.backend, poll_interval=-1)
