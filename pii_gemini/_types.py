"""Frozen value objects shared by every module: spans, results, tuning jobs.

They are the library's own types: backends translate SDK objects into these, so the rest
of the code never sees ``google.*`` classes. Fields that may hold raw PII are kept out of
``repr()`` so that logging a result never leaks the text.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from enum import Enum

from ._exceptions import ConfigError

__all__ = [
    "Generation",
    "GenerationConfig",
    "Hyperparameters",
    "JobState",
    "LossSnapshot",
    "MaskResult",
    "MaskStatus",
    "Span",
    "TrainingContract",
    "TunedModelInfo",
    "TuningExample",
    "TuningJobInfo",
    "TuningSpec",
]


class JobState(str, Enum):
    """Lifecycle of a tuning job, common to every backend.

    Gemini API ``CREATING``/``ACTIVE``/``FAILED`` and Vertex ``JOB_STATE_*`` map onto it.
    """

    PENDING = "PENDING"  # accepted, not started (Vertex QUEUED/PENDING)
    RUNNING = "RUNNING"  # training (Gemini API CREATING)
    SUCCEEDED = "SUCCEEDED"  # tuned model usable (Gemini API ACTIVE)
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        """True once the job will not change state again."""
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class Span:
    """A character span ``text[start:end]`` holding PII of type ``label``."""

    start: int
    end: int
    label: str
    value: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"invalid span offsets start={self.start} end={self.end}")
        if not self.label:
            raise ValueError("span label must not be empty")
        if self.value and len(self.value) != self.end - self.start:
            raise ValueError(
                f"span value has {len(self.value)} characters but offsets cover "
                f"{self.end - self.start}"
            )

    def to_dict(self) -> dict[str, object]:
        """The ai4privacy ``privacy_mask`` entry shape: value, start, end, label."""
        return {"value": self.value, "start": self.start, "end": self.end, "label": self.label}


class MaskStatus(str, Enum):
    """Outcome of masking one text; every row gets one, none is dropped."""

    OK = "ok"
    BLOCKED = "blocked"  # the prompt or answer was blocked by a safety filter
    EMPTY = "empty"  # the model answered with no text
    TRUNCATED = "truncated"  # the answer hit the output-token limit
    FAILED = "failed"  # an error remained after retries; ``error`` says which


@dataclass(frozen=True)
class MaskResult:
    """The masked form of one input text, with how it was obtained."""

    text: str = field(repr=False)
    masked_text: str | None = field(repr=False)
    status: MaskStatus
    spans: tuple[Span, ...] = ()  # the model's spans, offsets into ``text``
    finish_reason: str | None = None
    error: str | None = None
    raw_output: str | None = field(default=None, repr=False)
    # what the model missed (in whole or in part) and the safety net caught. A model span the
    # net widened is reported here once, as the union masked_text shows, with its label:
    # spans and safety_net_spans never overlap and together say what masked_text masks.
    safety_net_spans: tuple[Span, ...] = ()
    faithful: bool = True  # the model kept every non-PII character of ``text``
    chatter: bool = False  # the model wrapped its answer in chatter (stripped)
    tokens: tuple[str, ...] = ()  # vault tokens issued for this text (unmask fills only these)

    @property
    def ok(self) -> bool:
        """True when the model produced a usable masked text."""
        return self.status is MaskStatus.OK


@dataclass(frozen=True)
class TuningExample:
    """One supervised example: the prompt and the answer the model should learn."""

    text_input: str = field(repr=False)
    output: str = field(repr=False)


#: LoRA adapter sizes Vertex AI accepts (``ADAPTER_SIZE_ONE`` .. ``ADAPTER_SIZE_THIRTY_TWO``).
ADAPTER_SIZES: tuple[int, ...] = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class Hyperparameters:
    """Tuning hyperparameters, validated like the real service does.

    ``epoch_count``, ``batch_size`` and ``learning_rate`` are the Gemini API's (the seed
    notebook's). Vertex AI tunes Gemini with ``epoch_count``, ``learning_rate_multiplier``
    (a factor on Vertex's own default rate) and ``adapter_size`` (the LoRA rank: 1, 2, 4, 8,
    16 or 32); it takes no batch size or absolute learning rate for Gemini. ``None`` leaves
    a Vertex setting to the service.
    """

    epoch_count: int = 5
    batch_size: int = 4
    learning_rate: float = 0.001
    learning_rate_multiplier: float | None = None
    adapter_size: int | None = None

    def __post_init__(self) -> None:
        self._check_vertex()
        if isinstance(self.epoch_count, bool) or not isinstance(self.epoch_count, int):
            raise ConfigError(f"epoch_count must be an int, got {self.epoch_count!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int):
            raise ConfigError(f"batch_size must be an int, got {self.batch_size!r}")
        if self.epoch_count < 1:
            raise ConfigError(f"epoch_count must be >= 1, got {self.epoch_count}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if not math.isfinite(float(self.learning_rate)):
            raise ConfigError("learning_rate must be finite")

    def _check_vertex(self) -> None:
        multiplier = self.learning_rate_multiplier
        if multiplier is not None and not (
            isinstance(multiplier, (int, float))
            and not isinstance(multiplier, bool)
            and math.isfinite(multiplier)
            and multiplier > 0
        ):
            raise ConfigError(f"learning_rate_multiplier must be > 0, got {multiplier!r}")
        if self.adapter_size is not None and self.adapter_size not in ADAPTER_SIZES:
            raise ConfigError(
                f"adapter_size must be one of {', '.join(map(str, ADAPTER_SIZES))}, "
                f"got {self.adapter_size!r}"
            )

    def total_steps(self, n_examples: int) -> int:
        """Steps the service will run: ceil(n_examples / batch_size) * epoch_count."""
        return math.ceil(n_examples / self.batch_size) * self.epoch_count


@dataclass(frozen=True)
class TrainingContract:
    """How a tuned model was taught: the prompt it expects and the answer it gives.

    Stored with the model (its description) and in a local model card, so that masking
    with it builds the same prompt and reads the same kind of answer. ``template`` and
    ``instruction`` are the ``PromptBuilder``'s; ``target`` is ``masked_text``,
    ``entities`` or ``entity_lines``. ``token`` is the client token of the tuning request
    (how a create whose answer was lost is found again).
    """

    target: str = "masked_text"
    template: str = ""
    instruction: str = ""
    token: str = ""


@dataclass(frozen=True)
class TuningSpec:
    """Everything needed to start a tuning job, independent of the backend.

    ``client_token`` identifies this request: backends record it with the job (Gemini API:
    the tuned model id; Vertex: a label and the staged file name) so that a create whose
    answer was lost can be found instead of repeated. ``validation`` rows are sent as
    Vertex's validation dataset; the local backend measures its validation loss on them.
    """

    source_model: str
    examples: tuple[TuningExample, ...] = field(repr=False)
    hyperparameters: Hyperparameters = Hyperparameters()
    model_id: str | None = None
    display_name: str | None = None
    description: str | None = None
    validation: tuple[TuningExample, ...] = field(default=(), repr=False)
    client_token: str | None = None
    contract: TrainingContract | None = None

    @property
    def total_steps(self) -> int:
        """Steps the job will run for these examples and hyperparameters."""
        return self.hyperparameters.total_steps(len(self.examples))


@dataclass(frozen=True)
class LossSnapshot:
    """Mean training loss after one step, as the service reports it.

    ``validation_loss`` is the mean loss on the validation examples, for the steps where a
    backend measured it (the local backend, when a validation split is given); else None.
    """

    step: int
    epoch: int
    mean_loss: float
    compute_time: _dt.datetime | None = None
    validation_loss: float | None = None


@dataclass(frozen=True)
class TuningJobInfo:
    """A point-in-time view of a tuning job."""

    name: str  # the job (Gemini API: operation) name used to poll
    model: str  # the tuned model it produces, e.g. "tunedModels/my-model"
    state: JobState
    base_model: str = ""
    total_steps: int = 0
    completed_steps: int = 0
    snapshots: tuple[LossSnapshot, ...] = ()
    error: str | None = None
    endpoint: str | None = None  # Vertex: the endpoint to generate from

    @property
    def completed_percent(self) -> float:
        """Progress in percent, 0..100."""
        if self.total_steps <= 0:
            return 100.0 if self.state is JobState.SUCCEEDED else 0.0
        return 100.0 * self.completed_steps / self.total_steps


@dataclass(frozen=True)
class TunedModelInfo:
    """A tuned model as listed by the service."""

    name: str
    state: JobState
    base_model: str = ""
    display_name: str = ""
    description: str = ""
    hyperparameters: Hyperparameters | None = None
    snapshots: tuple[LossSnapshot, ...] = ()
    create_time: _dt.datetime | None = None
    update_time: _dt.datetime | None = None
    endpoint: str | None = None
    contract: TrainingContract | None = None  # read from the model's description


@dataclass(frozen=True)
class GenerationConfig:
    """Sampling settings for one generate call; ``None`` means the model's default.

    ``thinking_budget`` caps the thought tokens of a thinking model (Gemini 2.5 and newer,
    which think by default and bill thoughts as output). The default ``0`` asks for
    thinking off, or the least the model allows (2.5 Pro: 128 tokens; Gemini 3: the
    lowest ``thinking_level``), as Google advises for tuned models; ``-1`` lets the model
    decide; ``None`` sends nothing. Models that do not think ignore it.
    """

    temperature: float | None = 0.0
    top_p: float | None = None
    top_k: int | None = None
    max_output_tokens: int | None = None
    thinking_budget: int | None = 0

    def __post_init__(self) -> None:
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise ConfigError(f"temperature must be in [0, 2], got {self.temperature}")
        if self.top_p is not None and not 0.0 <= self.top_p <= 1.0:
            raise ConfigError(f"top_p must be in [0, 1], got {self.top_p}")
        if self.top_k is not None and self.top_k < 1:
            raise ConfigError(f"top_k must be >= 1, got {self.top_k}")
        if self.max_output_tokens is not None and self.max_output_tokens < 1:
            raise ConfigError(f"max_output_tokens must be >= 1, got {self.max_output_tokens}")
        if self.thinking_budget is not None and self.thinking_budget < -1:
            raise ConfigError(f"thinking_budget must be >= -1, got {self.thinking_budget}")

    def sampling(self) -> dict[str, float | int]:
        """The sampling settings that are set, by their snake_case API names."""
        fields = (
            ("temperature", self.temperature),
            ("top_p", self.top_p),
            ("top_k", self.top_k),
            ("max_output_tokens", self.max_output_tokens),
        )
        return {key: value for key, value in fields if value is not None}


@dataclass(frozen=True)
class Generation:
    """What a model answered to one prompt.

    ``text`` is ``None`` when nothing usable came back; ``block_reason`` is set when the
    prompt itself was blocked, ``finish_reason`` says why the answer stopped
    (``"STOP"``, ``"MAX_TOKENS"``, ``"SAFETY"``, ...).
    """

    text: str | None = field(repr=False)
    finish_reason: str | None = "STOP"
    block_reason: str | None = None
    prompt_tokens: int = 0
    output_tokens: int = 0
    thought_tokens: int = 0  # billed as output, not part of ``text``

    @property
    def blocked(self) -> bool:
        """True when a safety filter stopped the prompt or the answer."""
        return self.block_reason is not None or self.finish_reason in _BLOCKING_FINISH

    def to_status(self) -> MaskStatus:
        """The masking status this answer leads to."""
        if self.blocked:
            return MaskStatus.BLOCKED
        if self.finish_reason == "MAX_TOKENS":
            return MaskStatus.TRUNCATED
        if not self.text or not self.text.strip():
            return MaskStatus.EMPTY
        return MaskStatus.OK


_BLOCKING_FINISH = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)
