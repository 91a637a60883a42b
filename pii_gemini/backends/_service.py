"""FakeService: an in-memory model of the Gemini API (v1beta) tuning service.

Moto-style: tuned models keyed by name, long-running operations, the states
``CREATING -> ACTIVE | FAILED`` (cancellation fails the model with code 1), validation with
the real API's error codes, and test controls for faults, blocked prompts/answers and job
failures. How jobs advance is a ``Progression``: all at once, N steps per poll, or by a
(test-controlled) clock. Each tuned model is a ``Learner`` that really learns from its
examples, so a tuned fake masks much better than an untuned base model.

The service is wire-agnostic: ``FakeBackend`` calls it in process and ``pii_gemini.testing``
serves it over HTTP, so every public method holds ``lock``. This module is the facade; the
parts live beside it: ``_service_jobs`` (records, job state machine), ``_service_store``
(tuned models by name, ids), ``_service_checks`` (request validation), ``_service_faults``
(injected faults, blocks) and ``_service_errors`` (``ServiceError``).
"""

from __future__ import annotations

import collections
import datetime as _dt
import functools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Literal, ParamSpec, TypeVar

from ._learner import Learner
from ._service_checks import check_examples, check_sampling, hyperparameters, page_start
from ._service_errors import ServiceError, invalid, not_found, precondition
from ._service_faults import Faults
from ._service_generate import GenerateRecord, answer
from ._service_jobs import (
    RPC_CANCELLED,
    RPC_INTERNAL,
    OperationRecord,
    Progression,
    Snapshot,
    TunedModelRecord,
    _Job,
    copy_record,
    new_job,
)
from ._service_store import TunedModels

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

# export_state() pickles these (the CLI saves fake models between runs): they keep the
# module path that saved states name.
for _cls in (_Job, TunedModelRecord, Snapshot):
    _cls.__module__ = __name__

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
            self._faults.check(method.__name__)
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
            self._models = TunedModels(self.seed)
            self._faults = Faults()
            self._fail_next: str | None = None
            self._untuned = Learner(tuned=False)
            self.calls.clear()

    def export_state(self) -> dict[str, object]:
        """The tuned models, operations and id RNG, picklable (for saving between runs).

        Faults, blocks and call counts are test controls and are not included.
        """
        with self.lock:
            return self._models.export()

    def import_state(self, state: dict[str, object]) -> None:
        """Replace the tuned models with those of ``export_state()``."""
        with self.lock:
            self._models.load(state)

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
            self._faults.inject(method, code, times=times, retry_delay=retry_delay, message=message)

    def set_fault_rate(
        self,
        rate: float,
        *,
        codes: Sequence[int] = (429, 503),
        methods: Sequence[str] = ("generate_content",),
        seed: int = 0,
    ) -> None:
        """Fail a seeded-random share ``rate`` of calls to ``methods`` (0 switches it off)."""
        with self.lock:
            self._faults.set_rate(rate, codes=codes, methods=methods, seed=seed)

    def block(
        self,
        predicate: Callable[[str], bool],
        *,
        where: Literal["prompt", "candidate"] = "prompt",
        reason: str = "SAFETY",
    ) -> None:
        """Block prompts (or answers) for which ``predicate(text)`` is true."""
        with self.lock:
            self._faults.block(predicate, where=where, reason=reason)

    def fail_job(self, name_or_next: str | None = None, message: str = "Tuning failed.") -> None:
        """Fail a running job now (by model or operation name), or the next one mid-way."""
        with self.lock:
            if name_or_next is None:
                self._fail_next = message
                return
            job = self._models.find(name_or_next)
            if job.record.state != "CREATING":
                raise ValueError(f"{job.record.name} is not running")
            job.finish(self.now, error=(RPC_INTERNAL, message))

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
        learner, base, source = self._models.tuning_source(
            base_model,
            tuned_model_source,
            base_models=self.base_models,
            tunable_models=self.tunable_models,
        )
        epochs, batch, rate = hyperparameters(epoch_count, batch_size, learning_rate)
        check_sampling(temperature, top_p, top_k)
        pairs = check_examples(examples)
        name = self._models.new_name(tuned_model_id, display_name)

        parsed = learner.begin(pairs)
        job = new_job(
            name=name,
            operation=f"{name}/operations/{self._models.random_suffix(12)}",
            base_model=base,
            source=source,
            display_name=display_name,
            description=description,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            epochs=epochs,
            batch=batch,
            rate=rate,
            learner=learner,
            examples=parsed,
            seed=self.seed,
            clock=self.clock,
            now=self.now,
        )
        steps = job.record.total_steps
        if self._fail_next is not None:
            job.fail_at = max(1, steps // 2)
            job.fail_message, self._fail_next = self._fail_next, None
        self._models.add(job)
        if self.progression.mode == "immediate":
            job.run_steps(steps, self.now)
        return job.operation_record()

    @_api
    def get_operation(self, name: str) -> OperationRecord:
        """Poll an operation: advances its job per the progression."""
        job = self._models.job_of_operation(name)
        self._advance(job, poll=True)
        return job.operation_record()

    @_api
    def list_operations(self, tuned_model: str) -> list[OperationRecord]:
        """The operations of one tuned model (one: its creation)."""
        job = self._models.job(tuned_model)
        self._advance(job, poll=False)
        return [job.operation_record()]

    @_api
    def cancel_operation(self, name: str) -> None:
        """Cancel a running job: the operation ends with CANCELLED, the model FAILED."""
        job = self._models.job_of_operation(name)
        self._advance(job, poll=False)
        if job.record.state == "CREATING":
            job.finish(self.now, error=(RPC_CANCELLED, "Operation cancelled"))
        # Cancelling a finished operation is a no-op, as in google.longrunning.

    @_api
    def get_tuned_model(self, name: str) -> TunedModelRecord:
        """Describe a tuned model; a poll of its job."""
        job = self._models.job(name)
        self._advance(job, poll=True)
        return copy_record(job.record)

    def has_tuned_model(self, name: str) -> bool:
        """True when a tuned model ``name`` exists (no poll, no fault, not counted)."""
        with self.lock:
            return name in self._models.jobs

    def peek_tuned_model(self, name: str) -> TunedModelRecord:
        """Read a tuned model without counting as a poll (for in-process callers)."""
        with self.lock:
            return copy_record(self._models.job(name).record)

    @_api
    def list_tuned_models(
        self, *, page_size: int = 50, page_token: str | None = None, hidden: str | None = None
    ) -> tuple[list[TunedModelRecord], str | None]:
        """One page of tuned models in creation order, and the next page token.

        Models whose name starts with ``hidden`` are left out (the emulator keeps its
        Vertex jobs' models out of the Gemini API's list).
        """
        start = page_start(page_size, page_token)
        jobs = [
            job
            for name, job in self._models.jobs.items()
            if hidden is None or not name.startswith(hidden)
        ]
        for job in jobs:
            self._advance(job, poll=False)
        page = [copy_record(job.record) for job in jobs[start : start + page_size]]
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
        job = self._models.job(name)
        check_sampling(temperature, top_p, top_k)
        job.update(
            self.now,
            display_name=display_name,
            description=description,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
        )
        return copy_record(job.record)

    @_api
    def delete_tuned_model(self, name: str) -> None:
        """Delete a tuned model and its operation.

        A model still CREATING cannot be deleted (400 FAILED_PRECONDITION): cancel first.
        The real API's behaviour here is undocumented; refusing is the safe choice.
        """
        job = self._models.job(name)
        self._advance(job, poll=False)
        if job.record.state == "CREATING":
            raise precondition(f"{name} is still being tuned; cancel its operation first.")
        self._models.remove(job)

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
        check_sampling(temperature, top_p, top_k)
        if max_output_tokens is not None and max_output_tokens < 1:
            raise invalid("max_output_tokens must be >= 1.")
        if model.startswith("tunedModels/"):
            job = self._models.job(model)
            self._advance(job, poll=False)
            if job.record.state != "ACTIVE":
                raise precondition(
                    f"{model} is {job.record.state}; only ACTIVE models can generate."
                )
            learner = job.learner
        else:
            if model not in self.base_models:
                raise not_found(model)
            learner = self._untuned
        return answer(learner, prompt, self._faults, max_output_tokens)

    def _advance(self, job: _Job, *, poll: bool) -> None:
        job.advance(self.progression, self.clock, self.now, poll=poll)
