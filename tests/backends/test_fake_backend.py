"""FakeBackend: Backend verbs over FakeService, record translation and error mapping."""

from __future__ import annotations

import pytest
from faker import Faker

from pii_gemini._exceptions import (
    AlreadyExistsError,
    BackendError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TransientBackendError,
)
from pii_gemini._types import (
    GenerationConfig,
    Hyperparameters,
    JobState,
    MaskStatus,
    TuningExample,
    TuningSpec,
)
from pii_gemini.backends._service import FakeService, Progression, ServiceError
from pii_gemini.backends.base import Backend
from pii_gemini.backends.fake import FakeBackend

BASE = "models/gemini-1.5-flash-001-tuning"
PROMPT = "Input:\n{}\n\nOutput:\n"


def spec(n: int = 10, *, source: str = BASE, **kwargs: object) -> TuningSpec:
    fake = Faker("en_US")
    fake.seed_instance(n)
    examples = tuple(
        TuningExample(PROMPT.format(f"Dear {name}, see you."), "Dear [GIVENNAME], see you.")
        for name in (fake.first_name() for _ in range(n))
    )
    return TuningSpec(source_model=source, examples=examples, **kwargs)  # type: ignore[arg-type]


@pytest.fixture()
def backend() -> FakeBackend:
    return FakeBackend(progression=Progression.per_poll(steps=2))


def test_is_a_backend_named_fake() -> None:
    backend = FakeBackend()
    assert isinstance(backend, Backend) and backend.name == "fake"
    assert isinstance(backend.service, FakeService)
    service = FakeService()
    assert FakeBackend(service).service is service
    with pytest.raises(TypeError):
        FakeBackend(service, seed=1)


def test_job_lifecycle(backend: FakeBackend) -> None:
    job = backend.create_tuning_job(
        spec(
            10,
            hyperparameters=Hyperparameters(epoch_count=2, batch_size=5),
            model_id="dear-model",
            display_name="Dear",
        )
    )
    assert job.name.startswith("tunedModels/dear-model/operations/")
    assert job.model == "tunedModels/dear-model"
    assert (job.state, job.total_steps, job.completed_steps) == (JobState.RUNNING, 4, 0)
    assert job.base_model == BASE
    job = backend.get_tuning_job(job.name)
    assert (job.state, job.completed_steps, len(job.snapshots)) == (JobState.RUNNING, 2, 2)
    assert job.snapshots[0].step == 1 and job.snapshots[0].compute_time is not None
    job = backend.get_tuning_job(job.name)
    assert job.state is JobState.SUCCEEDED and job.completed_percent == 100.0
    model = backend.get_model(job.model)
    assert model.state is JobState.SUCCEEDED and model.display_name == "Dear"
    assert model.hyperparameters == Hyperparameters(epoch_count=2, batch_size=5)
    assert len(model.snapshots) == 4 and model.create_time is not None
    assert [m.name for m in backend.list_models()] == [job.model]
    answer = backend.generate(job.model, PROMPT.format("Dear Quentin, see you."))
    assert answer.text == "Dear [GIVENNAME], see you." and answer.to_status() is MaskStatus.OK
    backend.delete_model(job.model)
    assert backend.list_models() == []


def test_cancel_and_failure_states(backend: FakeBackend) -> None:
    job = backend.create_tuning_job(spec())
    backend.cancel_tuning_job(job.name)
    cancelled = backend.get_tuning_job(job.name)
    assert cancelled.state is JobState.CANCELLED and cancelled.error == "Operation cancelled"
    assert backend.get_model(job.model).state is JobState.CANCELLED
    backend.service.fail_job(None, message="tuning backend exploded")
    failing = backend.create_tuning_job(spec())
    for _ in range(5):
        failing = backend.get_tuning_job(failing.name)
    assert failing.state is JobState.FAILED and failing.error == "tuning backend exploded"
    assert backend.get_model(failing.model).state is JobState.FAILED


def test_tuning_from_a_tuned_model() -> None:
    backend = FakeBackend(progression=Progression.immediate())
    parent = backend.create_tuning_job(spec())
    child = backend.create_tuning_job(spec(2, source=parent.model))
    assert child.state is JobState.SUCCEEDED and child.base_model == BASE


@pytest.mark.parametrize(
    ("code", "exc_type"),
    [
        (400, InvalidRequestError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, AlreadyExistsError),
        (429, RateLimitError),
        (500, TransientBackendError),
        (503, TransientBackendError),
        (504, TransientBackendError),
    ],
)
def test_service_errors_map_to_library_errors(code: int, exc_type: type[BackendError]) -> None:
    backend = FakeBackend()
    backend.service.inject_fault("*", code, retry_delay=3.0)
    with pytest.raises(exc_type) as info:
        backend.list_models()
    assert info.value.code == code and info.value.status
    assert info.value.retry_after == 3.0
    assert isinstance(info.value.__cause__, ServiceError)


def test_validation_errors_come_through(backend: FakeBackend) -> None:
    with pytest.raises(NotFoundError, match="models/nope is not found"):
        backend.create_tuning_job(spec(source="models/nope"))
    with pytest.raises(InvalidRequestError) as info:
        backend.create_tuning_job(spec(hyperparameters=Hyperparameters(batch_size=65)))
    assert info.value.status == "INVALID_ARGUMENT"
    backend.create_tuning_job(spec(model_id="twice"))
    with pytest.raises(AlreadyExistsError):
        backend.create_tuning_job(spec(model_id="twice"))
    with pytest.raises(NotFoundError):
        backend.get_tuning_job("tunedModels/x/operations/y")
    with pytest.raises(InvalidRequestError) as info:
        backend.generate("tunedModels/twice", "hi")  # still training
    assert info.value.status == "FAILED_PRECONDITION"


def test_generate_translation() -> None:
    backend = FakeBackend()
    untuned = backend.generate("gemini-1.5-flash-001", PROMPT.format("mail a@b.org"))
    assert untuned.text is not None and "[EMAIL]" in untuned.text
    short = backend.generate(
        "models/gemini-1.5-flash-001",
        PROMPT.format("word " * 50),
        GenerationConfig(max_output_tokens=3),
    )
    assert short.finish_reason == "MAX_TOKENS" and short.to_status() is MaskStatus.TRUNCATED
    backend.service.block(lambda p: "forbidden" in p)
    blocked = backend.generate("models/gemini-1.5-flash-001", "forbidden words")
    assert blocked.block_reason == "SAFETY" and blocked.to_status() is MaskStatus.BLOCKED
    assert blocked.text is None and blocked.prompt_tokens > 0


def test_list_models_follows_pages() -> None:
    backend = FakeBackend(progression=Progression.immediate())
    one = TuningSpec(
        source_model=BASE,
        examples=(TuningExample("a b", "a [X]"),),
        hyperparameters=Hyperparameters(epoch_count=1),
    )
    for _ in range(105):
        backend.create_tuning_job(one)
    assert len({m.name for m in backend.list_models()}) == 105
    assert backend.service.calls["list_tuned_models"] == 2
