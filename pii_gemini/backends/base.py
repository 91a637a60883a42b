"""The small base class every backend implements.

A backend turns the library's own requests (``TuningSpec``, a prompt) into calls to one
service and its answers into the library's own types (``TuningJobInfo``, ``Generation``).
It raises only ``pii_gemini`` exceptions and never retries: retrying is the job of the one
layer in ``pii_gemini._retry``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import ClassVar

from .._types import (
    Generation,
    GenerationConfig,
    TunedModelInfo,
    TuningJobInfo,
    TuningSpec,
)

__all__ = ["Backend"]


class Backend(ABC):
    """A service that can tune models and generate text with them."""

    #: Short name used by the CLI and in messages ("fake", "gemini", "vertex").
    name: ClassVar[str] = "base"
    #: The base model ``Tuner.tune`` uses when none is given; None: there is no default
    #: (``no_default_source_model`` says why).
    default_source_model: ClassVar[str | None] = None
    no_default_source_model: ClassVar[str] = "this backend has no default base model"
    #: The ``Hyperparameters`` fields this backend sends; ``Tuner.tune`` warns about the
    #: others when they are set, and counts steps from ``batch_size`` only when it is sent.
    tuning_hyperparameters: ClassVar[tuple[str, ...]] = (
        "epoch_count",
        "batch_size",
        "learning_rate",
    )
    #: False when the service reports no training loss (``TuningJob.plot_loss`` cannot work).
    reports_loss: ClassVar[bool] = True
    #: Why there is no loss, for the refusal of a loss plot (``reports_loss`` False).
    no_loss: ClassVar[str] = ""
    #: False when a running job reports no completed steps (0 until it succeeds).
    reports_steps: ClassVar[bool] = True

    def tunable_models(self) -> tuple[str, ...] | None:
        """The base models this backend's service tunes (``Tuner.tune`` refuses others
        before uploading anything), or None when it does not know (any model is tried)."""
        return None

    @abstractmethod
    def create_tuning_job(self, spec: TuningSpec) -> TuningJobInfo:
        """Start tuning ``spec.source_model`` on ``spec.examples``."""

    def find_tuning_job(self, spec: TuningSpec) -> TuningJobInfo | None:
        """The job an earlier ``create_tuning_job(spec)`` created, found by
        ``spec.client_token``; None when there is none.

        Creating a job is not idempotent: when a create fails ambiguously (a timeout, a 5xx,
        a dropped connection) the job may exist all the same. ``Tuner`` asks this before it
        tries again. Backends that cannot look a job up raise ``NotImplementedError``, and
        the Tuner then never repeats a create.
        """
        raise NotImplementedError

    @abstractmethod
    def get_tuning_job(self, name: str) -> TuningJobInfo:
        """Poll a tuning job by the name ``create_tuning_job`` returned."""

    @abstractmethod
    def cancel_tuning_job(self, name: str) -> None:
        """Ask the service to stop a running tuning job."""

    @abstractmethod
    def get_model(self, name: str) -> TunedModelInfo:
        """Describe one tuned model."""

    @abstractmethod
    def list_models(self) -> list[TunedModelInfo]:
        """List the tuned models visible to the caller."""

    @abstractmethod
    def delete_model(self, name: str) -> None:
        """Delete a tuned model."""

    @abstractmethod
    def generate(
        self, model: str, prompt: str, config: GenerationConfig | None = None
    ) -> Generation:
        """Answer one prompt with ``model``; blocked answers are returned, not raised."""

    def count_tokens(self, model: str, text: str) -> int:
        """Tokens ``text`` costs as input of ``model``. The default estimates four
        characters per token; the Google backends ask the service (``countTokens``)."""
        return (len(text) + 3) // 4

    def close(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release connections; the default has nothing to release."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self.close()
