"""Value objects validate themselves and keep PII out of repr()."""

from __future__ import annotations

import pytest

from pii_gemini import (
    ConfigError,
    Generation,
    GenerationConfig,
    Hyperparameters,
    JobState,
    MaskResult,
    MaskStatus,
    Span,
    TuningExample,
    TuningJobInfo,
    TuningSpec,
)


def test_span_validates_offsets_and_value() -> None:
    assert Span(5, 9, "FIRSTNAME", "Omer").to_dict() == {
        "value": "Omer",
        "start": 5,
        "end": 9,
        "label": "FIRSTNAME",
    }
    with pytest.raises(ValueError):
        Span(9, 5, "FIRSTNAME")
    with pytest.raises(ValueError):
        Span(-1, 5, "FIRSTNAME")
    with pytest.raises(ValueError):
        Span(0, 3, "")
    with pytest.raises(ValueError):
        Span(0, 3, "FIRSTNAME", "Omer")


def test_reprs_never_show_pii() -> None:
    secret = "Hulda44@yahoo.com"
    objects = [
        Span(0, len(secret), "EMAIL", secret),
        MaskResult(text=secret, masked_text="[EMAIL]", status=MaskStatus.OK, raw_output=secret),
        TuningExample(text_input=secret, output="[EMAIL]"),
        Generation(text=secret),
    ]
    for obj in objects:
        assert secret not in repr(obj)


@pytest.mark.parametrize(
    ("n", "batch", "epochs", "steps"),
    [(1900, 4, 2, 950), (1901, 4, 2, 952), (1, 4, 1, 1), (10, 3, 5, 20)],
)
def test_total_steps_is_ceil_n_over_batch_times_epochs(
    n: int, batch: int, epochs: int, steps: int
) -> None:
    hp = Hyperparameters(epoch_count=epochs, batch_size=batch)
    assert hp.total_steps(n) == steps
    spec = TuningSpec("models/x", tuple(TuningExample("a", "b") for _ in range(n)), hp)
    assert spec.total_steps == steps


@pytest.mark.parametrize(
    "kwargs",
    [
        {"epoch_count": 0},
        {"batch_size": 0},
        {"learning_rate": 0},
        {"learning_rate": -1e-3},
        {"learning_rate": float("inf")},
        {"epoch_count": 2.5},
        {"batch_size": True},
    ],
)
def test_bad_hyperparameters_raise_config_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Hyperparameters(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs", [{"temperature": 3}, {"top_p": 1.5}, {"top_k": 0}, {"max_output_tokens": 0}]
)
def test_bad_generation_config(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        GenerationConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("generation", "status"),
    [
        (Generation(text="[FIRSTNAME] said hi"), MaskStatus.OK),
        (Generation(text=None, finish_reason=None, block_reason="SAFETY"), MaskStatus.BLOCKED),
        (Generation(text=None, finish_reason="SAFETY"), MaskStatus.BLOCKED),
        (Generation(text="partial", finish_reason="MAX_TOKENS"), MaskStatus.TRUNCATED),
        (Generation(text="  "), MaskStatus.EMPTY),
        (Generation(text=None), MaskStatus.EMPTY),
    ],
)
def test_generation_status(generation: Generation, status: MaskStatus) -> None:
    assert generation.to_status() is status


def test_job_progress_and_terminal_states() -> None:
    job = TuningJobInfo("op", "tunedModels/m", JobState.RUNNING, total_steps=8, completed_steps=2)
    assert job.completed_percent == 25.0
    assert not job.state.is_terminal
    assert JobState.SUCCEEDED.is_terminal and JobState.CANCELLED.is_terminal
    done = TuningJobInfo("op", "tunedModels/m", JobState.SUCCEEDED)
    assert done.completed_percent == 100.0
