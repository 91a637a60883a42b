"""FakeBackend: the Backend interface over an in-process FakeService.

No network, no SDK, deterministic; its tuned models really learn (see ``_learner``), so a
whole tune -> mask -> evaluate run works offline. Service errors become the library's
exceptions exactly as the real backends' errors do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar

from .._contract import contract_from_description, spec_description, spec_model_id
from .._exceptions import ConfigError, error_for_code
from .._types import (
    Generation,
    GenerationConfig,
    Hyperparameters,
    JobState,
    LossSnapshot,
    TunedModelInfo,
    TuningJobInfo,
    TuningSpec,
)
from ._service import (
    FakeService,
    OperationRecord,
    ServiceError,
    Snapshot,
    TunedModelRecord,
)
from .base import Backend

__all__ = ["FakeBackend"]

T = TypeVar("T")

_RPC_CANCELLED = 1  # google.rpc.Code.CANCELLED
_LIST_PAGE_SIZE = 100


@contextmanager
def _translated() -> Iterator[None]:
    """Turn a ServiceError into the matching library exception."""
    try:
        yield
    except ServiceError as exc:
        raise error_for_code(
            exc.code, exc.message, status=exc.status, retry_after=exc.retry_delay
        ) from exc


def _snapshots(snapshots: list[Snapshot]) -> tuple[LossSnapshot, ...]:
    return tuple(LossSnapshot(s.step, s.epoch, s.mean_loss, s.compute_time) for s in snapshots)


def _model_state(state: str, error: tuple[int, str] | None) -> JobState:
    if state == "ACTIVE":
        return JobState.SUCCEEDED
    if state == "FAILED":
        cancelled = error is not None and error[0] == _RPC_CANCELLED
        return JobState.CANCELLED if cancelled else JobState.FAILED
    return JobState.RUNNING


def _model_name(source: str) -> str:
    """Bare names get the ``models/`` prefix, as the SDK does."""
    return source if "/" in source else f"models/{source}"


class FakeBackend(Backend):
    """Backend over an in-memory ``FakeService``.

    Example::

        backend = FakeBackend(progression=Progression.immediate())
        job = Tuner(backend).tune(examples)
    """

    name: ClassVar[str] = "fake"
    default_source_model: ClassVar[str | None] = "models/gemini-1.5-flash-001-tuning"

    def __init__(self, service: FakeService | None = None, **service_kwargs: Any) -> None:
        if service is not None and service_kwargs:
            raise TypeError("pass either a FakeService or FakeService arguments, not both")
        self.service = service if service is not None else FakeService(**service_kwargs)

    def _call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        with _translated():
            return fn(*args, **kwargs)

    def tunable_models(self) -> tuple[str, ...]:
        """The base models the fake service tunes (tuned models of it can be tuned too)."""
        return tuple(self.service.tunable_models)

    def create_tuning_job(self, spec: TuningSpec) -> TuningJobInfo:
        """Start tuning; the job name is the operation name."""
        if spec.validation:
            raise ConfigError(
                "the fake backend models the Gemini API, which takes no validation dataset: "
                "drop validation= (Vertex AI takes one)"
            )
        source = _model_name(spec.source_model)
        tuned = source.startswith("tunedModels/")
        hp = spec.hyperparameters
        operation = self._call(
            self.service.create_tuned_model,
            examples=[(ex.text_input, ex.output) for ex in spec.examples],
            base_model=None if tuned else source,
            tuned_model_source=source if tuned else None,
            tuned_model_id=spec_model_id(spec),
            display_name=spec.display_name or "",
            description=spec_description(spec),
            epoch_count=hp.epoch_count,
            batch_size=hp.batch_size,
            learning_rate=hp.learning_rate,
        )
        return self._job_info(operation)

    def find_tuning_job(self, spec: TuningSpec) -> TuningJobInfo | None:
        """The job created for ``spec`` (its model id carries the client token), or None."""
        model_id = spec_model_id(spec)
        if model_id is None:
            return None
        try:
            record = self.service.peek_tuned_model(f"tunedModels/{model_id}")
        except ServiceError:
            return None
        contract = contract_from_description(record.description)
        if contract is None or contract.token != spec.client_token:
            return None  # a model of that id exists, but another request made it
        return self._job_info(self._call(self.service.list_operations, record.name)[0])

    def get_tuning_job(self, name: str) -> TuningJobInfo:
        """Poll the job's operation (advances it under a per-poll progression): an operation
        name, or a tuned model name (``tunedModels/...``, as GeminiBackend takes), which is
        its creating operation."""
        if "/operations/" not in name:
            name = self._call(self.service.list_operations, name)[0].name
        return self._job_info(self._call(self.service.get_operation, name))

    def cancel_tuning_job(self, name: str) -> None:
        """Cancel the job's operation."""
        self._call(self.service.cancel_operation, name)

    def get_model(self, name: str) -> TunedModelInfo:
        """Describe one tuned model."""
        return _model_info(self._call(self.service.get_tuned_model, name))

    def list_models(self) -> list[TunedModelInfo]:
        """Every tuned model, following page tokens."""
        models: list[TunedModelInfo] = []
        token: str | None = None
        while True:
            page, token = self._call(
                self.service.list_tuned_models, page_size=_LIST_PAGE_SIZE, page_token=token
            )
            models.extend(_model_info(record) for record in page)
            if token is None:
                return models

    def delete_model(self, name: str) -> None:
        """Delete a tuned model."""
        self._call(self.service.delete_tuned_model, name)

    def generate(
        self, model: str, prompt: str, config: GenerationConfig | None = None
    ) -> Generation:
        """Answer one prompt; blocked answers come back as a Generation, not an error."""
        config = config or GenerationConfig()
        record = self._call(
            self.service.generate_content,
            _model_name(model),
            prompt,
            temperature=config.temperature,
            top_p=config.top_p,
            top_k=config.top_k,
            max_output_tokens=config.max_output_tokens,
        )
        return Generation(
            text=record.text,
            finish_reason=record.finish_reason,
            block_reason=record.block_reason,
            prompt_tokens=record.prompt_tokens,
            output_tokens=record.output_tokens,
        )

    def _job_info(self, operation: OperationRecord) -> TuningJobInfo:
        if not operation.done:
            state = JobState.RUNNING
        elif operation.error is None:
            state = JobState.SUCCEEDED
        else:
            state = _model_state("FAILED", operation.error)
        try:
            base_model = self.service.peek_tuned_model(operation.tuned_model).base_model
        except ServiceError:  # deleted meanwhile
            base_model = ""
        return TuningJobInfo(
            name=operation.name,
            model=operation.tuned_model,
            state=state,
            base_model=base_model,
            total_steps=operation.total_steps,
            completed_steps=operation.completed_steps,
            snapshots=_snapshots(operation.snapshots),
            error=operation.error[1] if operation.error else None,
        )


def _model_info(record: TunedModelRecord) -> TunedModelInfo:
    return TunedModelInfo(
        name=record.name,
        state=_model_state(record.state, record.error),
        base_model=record.base_model,
        display_name=record.display_name,
        description=record.description,
        hyperparameters=Hyperparameters(
            epoch_count=record.epoch_count,
            batch_size=record.batch_size,
            learning_rate=record.learning_rate,
        ),
        snapshots=_snapshots(record.snapshots),
        create_time=record.create_time,
        update_time=record.update_time,
        contract=contract_from_description(record.description),
    )
