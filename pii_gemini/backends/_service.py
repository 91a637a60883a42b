"""FakeService: an in-memory model of the Gemini API (v1beta) tuning service.

Moto-style: tuned models keyed by name, long-running operations, the states
``CREATING -> ACTIVE | FAILED`` (cancellation fails the model with code 1), validation with
the real API's error codes, and test controls for faults, blocked prompts/answers and job
failures. How jobs advance is a ``Progression``: all at once, N steps per poll, or by a
(test-controlled) clock. Each tuned model is a ``Learner`` that really learns from its
examples, so a tuned fake masks much better than an untuned base model.

The service is wire-agnostic: ``FakeBackend`` calls it in process and ``pii_gemini.testing``
serves it over HTTP, so every public method holds ``lock``.
"""

from __future__ import annotations

import collections
import copy
import datetime as _dt
import functools
import math
import random
import re
import string
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, ParamSpec, TypeVar

from ._learner import Learner, ParsedExample, approx_tokens

__all__ = [
    "DEFAULT_BASE_MODELS",
    "TUNABLE_BASE_MODELS",
    "FakeService",
    "GenerateRecord",
    "OperationRecord",
    "Progression",
    "ServiceError",
    "Snapshot",
    "TunedModelRecord",
]

DEFAULT_BASE_MODELS: tuple[str, ...] = (
    "models/gemini-1.5-flash-001-tuning",
    "models/gemini-1.0-pro-001",
    "models/gemini-1.5-flash-001",
    "models/gemini-1.5-flash-002",
    "models/gemini-1.5-pro-002",
    "models/gemini-2.0-flash-001",
)
TUNABLE_BASE_MODELS: tuple[str, ...] = (
    "models/gemini-1.5-flash-001-tuning",
    "models/gemini-1.0-pro-001",
)

# Server-side defaults and limits (proto docs of google.ai.generativelanguage.v1beta).
_DEFAULT_EPOCHS = 5
_DEFAULT_BATCH = 4
_DEFAULT_LR = 0.001
_MAX_EPOCHS = 100
_MAX_BATCH = 64
_MAX_INPUT_CHARS = 40_000
_MAX_OUTPUT_CHARS = 5_000
_MAX_PAGE_SIZE = 1000
_BASE_TEMPERATURE = 1.0  # what a tuned model inherits when none is given
_BASE_TOP_P = 0.95
_BASE_TOP_K = 64
_ID_RE = re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?")
_SUFFIX_CHARS = string.ascii_lowercase + string.digits
_RPC_CANCELLED = 1
_RPC_INTERNAL = 13

_STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_DEFAULT_FAULT_MESSAGE = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred.",
    503: "The service is currently unavailable.",
    504: "Deadline exceeded.",
}


class ServiceError(Exception):
    """An error answer of the fake service: HTTP ``code`` and Google ``status`` name."""

    def __init__(
        self, code: int, status: str, message: str, *, retry_delay: float | None = None
    ) -> None:
        super().__init__(f"{code} {status}: {message}")
        self.code = code
        self.status = status
        self.message = message
        self.retry_delay = retry_delay


def _invalid(message: str) -> ServiceError:
    return ServiceError(400, "INVALID_ARGUMENT", message)


def _precondition(message: str) -> ServiceError:
    return ServiceError(400, "FAILED_PRECONDITION", message)


def _not_found(name: str) -> ServiceError:
    return ServiceError(404, "NOT_FOUND", f"{name} is not found.")


@dataclass(frozen=True)
class Progression:
    """How tuning jobs advance (moto's ManagedState idea).

    ``immediate``: a job finishes when created. ``polls``: each poll of a job
    (``get_operation``/``get_tuned_model``) runs ``steps_per_poll`` steps. ``time``: a job
    has run ``elapsed * steps_per_second`` steps, elapsed measured with the service clock.
    """

    mode: Literal["immediate", "polls", "time"]
    steps_per_poll: int = 1
    steps_per_second: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in ("immediate", "polls", "time"):
            raise ValueError(f"unknown progression mode {self.mode!r}")
        if self.steps_per_poll < 1:
            raise ValueError(f"steps_per_poll must be >= 1, got {self.steps_per_poll}")
        if not self.steps_per_second > 0:
            raise ValueError(f"steps_per_second must be > 0, got {self.steps_per_second}")

    @classmethod
    def immediate(cls) -> Progression:
        """Jobs finish as soon as they are created."""
        return cls("immediate")

    @classmethod
    def per_poll(cls, steps: int = 1) -> Progression:
        """Each poll of a job runs ``steps`` training steps."""
        return cls("polls", steps_per_poll=steps)

    @classmethod
    def timed(cls, steps_per_second: float) -> Progression:
        """Jobs run ``steps_per_second`` steps per second of the service clock."""
        return cls("time", steps_per_second=steps_per_second)


@dataclass
class Snapshot:
    """Training loss after one step."""

    step: int
    epoch: int
    mean_loss: float
    compute_time: _dt.datetime


@dataclass
class TunedModelRecord:
    """The TunedModel resource."""

    name: str
    base_model: str
    source_tuned_model: str | None
    display_name: str
    description: str
    temperature: float | None
    top_p: float | None
    top_k: int | None
    state: str
    create_time: _dt.datetime
    update_time: _dt.datetime
    start_time: _dt.datetime | None
    complete_time: _dt.datetime | None
    epoch_count: int
    batch_size: int
    learning_rate: float
    total_steps: int
    completed_steps: int
    snapshots: list[Snapshot]
    operation: str
    error: tuple[int, str] | None


@dataclass
class OperationRecord:
    """The long-running operation of a tuning job (CreateTunedModelMetadata + status)."""

    name: str
    tuned_model: str
    done: bool
    error: tuple[int, str] | None
    total_steps: int
    completed_steps: int
    completed_percent: float
    snapshots: list[Snapshot]


@dataclass
class GenerateRecord:
    """One generateContent answer."""

    text: str | None
    finish_reason: str | None
    block_reason: str | None
    prompt_tokens: int
    output_tokens: int


@dataclass
class _Job:
    record: TunedModelRecord
    learner: Learner
    examples: list[ParsedExample]
    rng: random.Random
    started_at: float  # service clock when the job started
    fail_at: int | None = None  # step at which an injected failure strikes
    fail_message: str = ""
    order: list[int] = field(default_factory=list)  # example order of the current epoch


@dataclass
class _Fault:
    code: int
    times: int
    retry_delay: float | None
    message: str | None


P = ParamSpec("P")
R = TypeVar("R")


def _api(method: Callable[P, R]) -> Callable[P, R]:
    """Make a public method thread-safe, counted and subject to injected faults."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        self = args[0]
        assert isinstance(self, FakeService)
        with self.lock:
            self.calls[method.__name__] += 1
            self._maybe_fault(method.__name__)
            return method(*args, **kwargs)

    return wrapper


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class FakeService:
    """In-memory Gemini API tuning service with learning models and test controls."""

    def __init__(
        self,
        *,
        base_models: Sequence[str] = DEFAULT_BASE_MODELS,
        tunable_models: Sequence[str] = TUNABLE_BASE_MODELS,
        progression: Progression | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], _dt.datetime] = _utcnow,
        seed: int = 0,
    ) -> None:
        self.base_models = tuple(base_models)
        self.tunable_models = tuple(tunable_models)
        self.progression = progression or Progression.per_poll(steps=5)
        self.clock = clock
        self.now = now
        self.seed = seed
        self.lock = threading.RLock()
        self.calls: collections.Counter[str] = collections.Counter()
        self.reset()

    # -- test controls ----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every model, operation, fault, block and call count."""
        with self.lock:
            self._jobs: dict[str, _Job] = {}
            self._operations: dict[str, str] = {}  # operation name -> tuned model name
            self._faults: dict[str, list[_Fault]] = {}
            self._fault_rate: tuple[float, tuple[int, ...], frozenset[str], random.Random] | None
            self._fault_rate = None
            self._blocks: list[tuple[Callable[[str], bool], str, str]] = []
            self._fail_next: str | None = None
            self._rng = random.Random(self.seed)
            self._untuned = Learner(tuned=False)
            self.calls.clear()

    def export_state(self) -> dict[str, object]:
        """The tuned models, operations and id RNG, picklable (for saving between runs).

        Faults, blocks and call counts are test controls and are not included.
        """
        with self.lock:
            return copy.deepcopy(
                {"jobs": self._jobs, "operations": self._operations, "rng": self._rng}
            )

    def import_state(self, state: dict[str, object]) -> None:
        """Replace the tuned models with those of ``export_state()``."""
        jobs, operations, rng = state["jobs"], state["operations"], state["rng"]
        if not (
            isinstance(jobs, dict)
            and isinstance(operations, dict)
            and isinstance(rng, random.Random)
            and all(isinstance(job, _Job) for job in jobs.values())
        ):
            raise ValueError("not a FakeService state")
        with self.lock:
            self._jobs = copy.deepcopy(jobs)
            self._operations = dict(operations)
            self._rng = copy.deepcopy(rng)

    def inject_fault(
        self,
        method: str,
        code: int,
        *,
        times: int = 1,
        retry_delay: float | None = None,
        message: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (or ``"*"``: any) fail with ``code``."""
        with self.lock:
            if method != "*" and not callable(getattr(self, method, None)):
                raise ValueError(f"unknown service method {method!r}")
            self._faults.setdefault(method, []).append(_Fault(code, times, retry_delay, message))

    def set_fault_rate(
        self,
        rate: float,
        *,
        codes: Sequence[int] = (429, 503),
        methods: Sequence[str] = ("generate_content",),
        seed: int = 0,
    ) -> None:
        """Fail a seeded-random share ``rate`` of calls to ``methods`` (0 switches it off)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1], got {rate}")
        if not codes:
            raise ValueError("codes must not be empty")
        with self.lock:
            self._fault_rate = (
                (rate, tuple(codes), frozenset(methods), random.Random(seed)) if rate else None
            )

    def block(
        self,
        predicate: Callable[[str], bool],
        *,
        where: Literal["prompt", "candidate"] = "prompt",
        reason: str = "SAFETY",
    ) -> None:
        """Block prompts (or answers) for which ``predicate(text)`` is true."""
        if where not in ("prompt", "candidate"):
            raise ValueError(f"where must be 'prompt' or 'candidate', got {where!r}")
        with self.lock:
            self._blocks.append((predicate, where, reason))

    def fail_job(self, name_or_next: str | None = None, message: str = "Tuning failed.") -> None:
        """Fail a running job now (by model or operation name), or the next one mid-way."""
        with self.lock:
            if name_or_next is None:
                self._fail_next = message
                return
            job = self._job_for(name_or_next)
            if job.record.state != "CREATING":
                raise ValueError(f"{job.record.name} is not running")
            self._finish(job, error=(_RPC_INTERNAL, message))

    def _maybe_fault(self, method: str) -> None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
                raise self._fault_error(fault.code, fault.message, fault.retry_delay)
        if self._fault_rate is not None:
            rate, codes, methods, rng = self._fault_rate
            if method in methods and rng.random() < rate:
                raise self._fault_error(rng.choice(codes), None, None)

    @staticmethod
    def _fault_error(code: int, message: str | None, retry_delay: float | None) -> ServiceError:
        status = _STATUS_BY_CODE.get(code, "INTERNAL" if code >= 500 else "UNKNOWN")
        text = message or _DEFAULT_FAULT_MESSAGE.get(code, f"Injected error {code}.")
        return ServiceError(code, status, text, retry_delay=retry_delay)

    # -- tuning -----------------------------------------------------------------------------

    @_api
    def create_tuned_model(
        self,
        *,
        examples: Sequence[tuple[str, str]],
        base_model: str | None = None,
        tuned_model_source: str | None = None,
        tuned_model_id: str | None = None,
        display_name: str = "",
        description: str = "",
        epoch_count: int | None = None,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
    ) -> OperationRecord:
        """Start a tuning job; returns its operation (like ``POST /v1beta/tunedModels``)."""
        learner, base, source = self._source(base_model, tuned_model_source)
        epochs = _DEFAULT_EPOCHS if epoch_count is None else epoch_count
        batch = _DEFAULT_BATCH if batch_size is None else batch_size
        rate = _DEFAULT_LR if learning_rate is None else learning_rate
        _check_hyperparameters(epochs, batch, rate)
        _check_sampling(temperature, top_p, top_k)
        pairs = _check_examples(examples)
        if tuned_model_id is not None:
            if not isinstance(tuned_model_id, str) or not _ID_RE.fullmatch(tuned_model_id):
                raise _invalid(
                    "tuned_model_id must match [a-z]([a-z0-9-]{0,38}[a-z0-9])? "
                    "(lowercase letters, digits and dashes, at most 40 characters)."
                )
            model_id = tuned_model_id
        else:
            model_id = self._derive_id(display_name)
        name = f"tunedModels/{model_id}"
        if name in self._jobs:
            raise ServiceError(409, "ALREADY_EXISTS", f"Tuned model {name} already exists.")

        parsed = learner.begin(pairs)
        operation = f"{name}/operations/{self._random_suffix(12)}"
        stamp = self.now()
        steps = math.ceil(len(pairs) / batch) * epochs
        record = TunedModelRecord(
            name=name,
            base_model=base,
            source_tuned_model=source,
            display_name=display_name or "",
            description=description or "",
            temperature=_BASE_TEMPERATURE if temperature is None else temperature,
            top_p=_BASE_TOP_P if top_p is None else top_p,
            top_k=_BASE_TOP_K if top_k is None else top_k,
            state="CREATING",
            create_time=stamp,
            update_time=stamp,
            start_time=stamp,
            complete_time=None,
            epoch_count=epochs,
            batch_size=batch,
            learning_rate=rate,
            total_steps=steps,
            completed_steps=0,
            snapshots=[],
            operation=operation,
            error=None,
        )
        job = _Job(
            record=record,
            learner=learner,
            examples=parsed,
            rng=random.Random(zlib.crc32(f"{self.seed}:{name}".encode())),
            started_at=self.clock(),
        )
        if self._fail_next is not None:
            job.fail_at = max(1, steps // 2)
            job.fail_message, self._fail_next = self._fail_next, None
        self._jobs[name] = job
        self._operations[operation] = name
        if self.progression.mode == "immediate":
            self._run_steps(job, steps)
        return self._operation_record(job)

    def _source(
        self, base_model: str | None, tuned_model_source: str | None
    ) -> tuple[Learner, str, str | None]:
        if (base_model is None) == (tuned_model_source is None):
            raise _invalid("Exactly one of base_model and tuned_model_source must be set.")
        if tuned_model_source is not None:
            job = self._jobs.get(tuned_model_source)
            if job is None:
                raise _not_found(tuned_model_source)
            if job.record.state != "ACTIVE":
                raise _precondition(f"{tuned_model_source} is not ACTIVE; it cannot be tuned.")
            return job.learner.clone(), job.record.base_model, tuned_model_source
        assert base_model is not None
        if base_model not in self.base_models:
            raise _not_found(base_model)
        if base_model not in self.tunable_models:
            raise _invalid(f"Base model {base_model} does not support tuning.")
        return Learner(), base_model, None

    def _derive_id(self, display_name: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", (display_name or "").lower()).strip("-")
        slug = slug.lstrip("0123456789-") or "tuned-model"
        slug = slug[:34].rstrip("-")
        for _ in range(100):
            candidate = f"{slug}-{self._random_suffix(5)}"
            if f"tunedModels/{candidate}" not in self._jobs:
                return candidate
        raise ServiceError(500, "INTERNAL", "Could not allocate a tuned model id.")

    def _random_suffix(self, length: int) -> str:
        return "".join(self._rng.choice(_SUFFIX_CHARS) for _ in range(length))

    @_api
    def get_operation(self, name: str) -> OperationRecord:
        """Poll an operation: advances its job per the progression."""
        model = self._operations.get(name)
        if model is None or model not in self._jobs:
            raise _not_found(name)
        job = self._jobs[model]
        self._advance(job, poll=True)
        return self._operation_record(job)

    @_api
    def list_operations(self, tuned_model: str) -> list[OperationRecord]:
        """The operations of one tuned model (one: its creation)."""
        job = self._jobs.get(tuned_model)
        if job is None:
            raise _not_found(tuned_model)
        self._advance(job, poll=False)
        return [self._operation_record(job)]

    @_api
    def cancel_operation(self, name: str) -> None:
        """Cancel a running job: the operation ends with CANCELLED, the model FAILED."""
        model = self._operations.get(name)
        if model is None or model not in self._jobs:
            raise _not_found(name)
        job = self._jobs[model]
        self._advance(job, poll=False)
        if job.record.state == "CREATING":
            self._finish(job, error=(_RPC_CANCELLED, "Operation cancelled"))
        # Cancelling a finished operation is a no-op, as in google.longrunning.

    @_api
    def get_tuned_model(self, name: str) -> TunedModelRecord:
        """Describe a tuned model; a poll of its job."""
        job = self._job(name)
        self._advance(job, poll=True)
        return _copy_record(job.record)

    def peek_tuned_model(self, name: str) -> TunedModelRecord:
        """Read a tuned model without counting as a poll (for in-process callers)."""
        with self.lock:
            return _copy_record(self._job(name).record)

    @_api
    def list_tuned_models(
        self, *, page_size: int = 50, page_token: str | None = None
    ) -> tuple[list[TunedModelRecord], str | None]:
        """One page of tuned models in creation order, and the next page token."""
        if not 1 <= page_size <= _MAX_PAGE_SIZE:
            raise _invalid(f"page_size must be in [1, {_MAX_PAGE_SIZE}].")
        start = 0
        if page_token:
            if not page_token.isdigit():
                raise _invalid("Invalid page token.")
            start = int(page_token)
        jobs = list(self._jobs.values())
        for job in jobs:
            self._advance(job, poll=False)
        page = [_copy_record(job.record) for job in jobs[start : start + page_size]]
        following = start + page_size
        return page, (str(following) if following < len(jobs) else None)

    @_api
    def update_tuned_model(
        self,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
    ) -> TunedModelRecord:
        """Change the mutable fields of a tuned model (those not ``None``)."""
        job = self._job(name)
        _check_sampling(temperature, top_p, top_k)
        changes: dict[str, object] = {
            key: value
            for key, value in (
                ("display_name", display_name),
                ("description", description),
                ("temperature", temperature),
                ("top_p", top_p),
                ("top_k", top_k),
            )
            if value is not None
        }
        for key, value in changes.items():
            setattr(job.record, key, value)
        job.record.update_time = self.now()
        return _copy_record(job.record)

    @_api
    def delete_tuned_model(self, name: str) -> None:
        """Delete a tuned model and its operation.

        A model still CREATING cannot be deleted (400 FAILED_PRECONDITION): cancel first.
        The real API's behaviour here is undocumented; refusing is the safe choice.
        """
        job = self._job(name)
        self._advance(job, poll=False)
        if job.record.state == "CREATING":
            raise _precondition(f"{name} is still being tuned; cancel its operation first.")
        del self._jobs[name]
        self._operations.pop(job.record.operation, None)

    # -- generation ----------------------------------------------------------------------------

    @_api
    def generate_content(
        self,
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        max_output_tokens: int | None = None,
    ) -> GenerateRecord:
        """Answer one prompt with a base model (untuned) or an ACTIVE tuned model."""
        _check_sampling(temperature, top_p, top_k)
        if max_output_tokens is not None and max_output_tokens < 1:
            raise _invalid("max_output_tokens must be >= 1.")
        if model.startswith("tunedModels/"):
            job = self._job(model)
            self._advance(job, poll=False)
            if job.record.state != "ACTIVE":
                raise _precondition(
                    f"{model} is {job.record.state}; only ACTIVE models can generate."
                )
            learner = job.learner
        else:
            if model not in self.base_models:
                raise _not_found(model)
            learner = self._untuned
        prompt_tokens = approx_tokens(prompt)
        for predicate, where, reason in self._blocks:
            if where == "prompt" and predicate(prompt):
                return GenerateRecord(None, None, reason, prompt_tokens, 0)
        text = learner.generate(prompt)
        for predicate, where, reason in self._blocks:
            if where == "candidate" and predicate(text):
                return GenerateRecord(None, reason, None, prompt_tokens, 0)
        finish = "STOP"
        if max_output_tokens is not None and approx_tokens(text) > max_output_tokens:
            text = text[: max_output_tokens * 4]
            finish = "MAX_TOKENS"
        return GenerateRecord(text, finish, None, prompt_tokens, approx_tokens(text))

    # -- internals ------------------------------------------------------------------------------

    def _job(self, name: str) -> _Job:
        job = self._jobs.get(name)
        if job is None:
            raise _not_found(name)
        return job

    def _job_for(self, name: str) -> _Job:
        model = self._operations.get(name, name)
        job = self._jobs.get(model)
        if job is None:
            raise ValueError(f"no tuned model or operation named {name!r}")
        return job

    def _advance(self, job: _Job, *, poll: bool) -> None:
        if job.record.state != "CREATING":
            return
        mode = self.progression.mode
        if mode == "polls" and poll:
            self._run_steps(job, self.progression.steps_per_poll)
        elif mode == "time":
            elapsed = max(0.0, self.clock() - job.started_at)
            target = min(job.record.total_steps, int(elapsed * self.progression.steps_per_second))
            self._run_steps(job, target - job.record.completed_steps)
        elif mode == "immediate":
            self._run_steps(job, job.record.total_steps)

    def _run_steps(self, job: _Job, count: int) -> None:
        record = job.record
        per_epoch = math.ceil(len(job.examples) / record.batch_size)
        for _ in range(max(0, count)):
            if record.state != "CREATING":
                return
            step = record.completed_steps  # 0-based index of the step to run
            if job.fail_at is not None and step + 1 >= job.fail_at:
                self._finish(job, error=(_RPC_INTERNAL, job.fail_message))
                return
            epoch, batch_index = divmod(step, per_epoch)
            if batch_index == 0:
                job.order = list(range(len(job.examples)))
                job.rng.shuffle(job.order)
            lo = batch_index * record.batch_size
            batch = [job.examples[i] for i in job.order[lo : lo + record.batch_size]]
            loss = job.learner.train_step(batch, record.learning_rate, job.rng)
            record.completed_steps = step + 1
            record.snapshots.append(Snapshot(step + 1, epoch + 1, round(loss, 6), self.now()))
            if record.completed_steps >= record.total_steps:
                self._finish(job, error=None)

    def _finish(self, job: _Job, *, error: tuple[int, str] | None) -> None:
        stamp = self.now()
        job.record.state = "FAILED" if error else "ACTIVE"
        job.record.error = error
        job.record.complete_time = stamp
        job.record.update_time = stamp

    def _operation_record(self, job: _Job) -> OperationRecord:
        record = job.record
        total = record.total_steps
        return OperationRecord(
            name=record.operation,
            tuned_model=record.name,
            done=record.state != "CREATING",
            error=record.error,
            total_steps=total,
            completed_steps=record.completed_steps,
            completed_percent=100.0 * record.completed_steps / total if total else 0.0,
            snapshots=[replace(s) for s in record.snapshots],
        )


def _copy_record(record: TunedModelRecord) -> TunedModelRecord:
    return replace(record, snapshots=[replace(s) for s in record.snapshots])


def _check_hyperparameters(epochs: object, batch: object, rate: object) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= _MAX_EPOCHS:
        raise _invalid(f"epoch_count must be an integer in [1, {_MAX_EPOCHS}].")
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= _MAX_BATCH:
        raise _invalid(f"batch_size must be an integer in [1, {_MAX_BATCH}].")
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float))
        or not math.isfinite(rate)
        or not 0 < rate <= 1
    ):
        raise _invalid("learning_rate must be in (0, 1].")


def _check_sampling(temperature: float | None, top_p: float | None, top_k: int | None) -> None:
    if temperature is not None and not 0.0 <= temperature <= 2.0:
        raise _invalid("temperature must be in [0, 2].")
    if top_p is not None and not 0.0 <= top_p <= 1.0:
        raise _invalid("top_p must be in [0, 1].")
    if top_k is not None and top_k < 1:
        raise _invalid("top_k must be >= 1.")


def _check_examples(examples: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    pairs = list(examples)
    if not pairs:
        raise _invalid("The training dataset must contain at least one example.")
    for index, pair in enumerate(pairs):
        if len(pair) != 2 or not all(isinstance(part, str) for part in pair):
            raise _invalid(f"Example {index} must be a (text_input, output) pair of strings.")
        text_input, output = pair
        if not text_input:
            raise _invalid(f"Example {index} has an empty text_input.")
        if not output:
            raise _invalid(f"Example {index} has an empty output.")
        if len(text_input) > _MAX_INPUT_CHARS:
            raise _invalid(
                f"Example {index}: text_input is longer than {_MAX_INPUT_CHARS} characters."
            )
        if len(output) > _MAX_OUTPUT_CHARS:
            raise _invalid(
                f"Example {index}: output is longer than {_MAX_OUTPUT_CHARS} characters."
            )
    return [(a, b) for a, b in pairs]
