"""VertexBackend: the unmodified google-genai client (vertexai=True) against the emulator."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest
import requests
from faker import Faker
from google.auth import exceptions as auth_exc
from google.genai import errors as genai_errors

from pii_gemini._exceptions import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PiiGeminiError,
    RateLimitError,
    TransientBackendError,
)
from pii_gemini._retry import Retrier, RetryPolicy
from pii_gemini._types import (
    GenerationConfig,
    Hyperparameters,
    JobState,
    MaskStatus,
    TuningExample,
    TuningSpec,
)
from pii_gemini.backends.vertex import (
    GcsUploader,
    VertexBackend,
    map_vertex_exceptions,
    static_token_credentials,
    training_jsonl,
    translate_vertex_exception,
)
from pii_gemini.testing import Emulator, Progression

BASE = "gemini-2.5-flash"
PROMPT = "Input:\n{}\n\nOutput:\n"


def make_spec(n: int = 10, *, source: str = BASE, seed: int = 0, **kwargs: object) -> TuningSpec:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    examples = tuple(
        TuningExample(PROMPT.format(f"Dear {fake.first_name()}, see you."), "Dear [NAME], see you.")
        for _ in range(n)
    )
    return TuningSpec(source_model=source, examples=examples, **kwargs)  # type: ignore[arg-type]


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(
        era="2024", progression=Progression.per_poll(2), bearer_token="vertex-token"
    ) as emulator:
        yield emulator


@pytest.fixture()
def backend(emu: Emulator) -> Iterator[VertexBackend]:
    with emu.vertex_backend(timeout=10) as b:
        assert isinstance(b, VertexBackend)
        yield b


def finished(backend: VertexBackend, spec: TuningSpec | None = None) -> str:
    info = backend.create_tuning_job(spec or make_spec(8, hyperparameters=Hyperparameters(1, 4)))
    while not info.state.is_terminal:
        info = backend.get_tuning_job(info.name)
    assert info.state is JobState.SUCCEEDED and info.endpoint
    return info.name


def test_tuning_lifecycle(emu: Emulator, backend: VertexBackend) -> None:
    spec = make_spec(
        10,
        model_id="pii",
        display_name="PII masker",
        description="d",
        hyperparameters=Hyperparameters(2, 4, 0.002, learning_rate_multiplier=2.0, adapter_size=4),
    )
    info = backend.create_tuning_job(spec)
    assert info.name.startswith("projects/emulator-project/locations/us-central1/tuningJobs/")
    assert info.state is JobState.PENDING and info.model == info.name and info.endpoint is None
    assert info.total_steps == spec.total_steps == 6 and info.base_model == BASE
    states = []
    while not info.state.is_terminal:
        info = backend.get_tuning_job(info.name)
        states.append(info.state)
    assert states == [JobState.RUNNING, JobState.RUNNING, JobState.SUCCEEDED]
    assert info.completed_steps == info.total_steps == 6
    assert info.model.endswith("/models/" + info.name.rsplit("/", 1)[1] + "@1")
    assert info.endpoint and "/endpoints/" in info.endpoint
    # The request google-genai sent, and the JSONL it pointed at.
    body = emu.requests_to("/tuningJobs", "POST")[0].body
    assert body["baseModel"] == BASE and body["tunedModelDisplayName"] == "PII masker"
    hyper = body["supervisedTuningSpec"]["hyperParameters"]
    # Vertex's own hyperparameters; the Gemini API's batch size and learning rate are not sent.
    assert hyper == {
        "epochCount": 2,
        "learningRateMultiplier": 2.0,
        "adapterSize": "ADAPTER_SIZE_FOUR",
    }
    uri = body["supervisedTuningSpec"]["trainingDatasetUri"]
    assert uri.startswith("gs://emulator-bucket/pii-gemini/pii-") and uri.endswith(".jsonl")
    lines = emu.get_object(uri).decode().splitlines()
    assert len(lines) == 10
    first = json.loads(lines[0])
    assert [c["role"] for c in first["contents"]] == ["user", "model"]
    assert first["contents"][1]["parts"][0]["text"] == "Dear [NAME], see you."
    assert emu.requests[0].path == "/upload/storage/v1/b/emulator-bucket/o"


def test_training_jsonl_round_trips_unicode() -> None:
    spec = TuningSpec(BASE, (TuningExample("Grüße, José", "Grüße, [NAME]"),))
    record = json.loads(training_jsonl(spec.examples).decode())
    assert record["contents"][0]["parts"][0]["text"] == "Grüße, José"


def test_models_and_generation_by_any_name(emu: Emulator, backend: VertexBackend) -> None:
    job_name = finished(backend)
    info = backend.get_tuning_job(job_name)
    for name in (job_name, info.model, info.endpoint or ""):
        model = backend.get_model(name)
        assert model.name == info.model and model.endpoint == info.endpoint
        assert model.state is JobState.SUCCEEDED and model.base_model == BASE
    listed = backend.list_models()
    assert [m.name for m in listed] == [info.model]
    config = GenerationConfig(temperature=0.0, top_p=0.5, top_k=3, max_output_tokens=100)
    for name in (job_name, info.model, info.endpoint or ""):
        answer = backend.generate(name, PROMPT.format("Dear Alice, see you."), config)
        assert answer.text and answer.finish_reason == "STOP"
    calls = emu.requests_to(":generateContent")
    assert {c.path.split("/")[-1] for c in calls} == {
        info.endpoint.rsplit("/", 1)[1] + ":generateContent"
    }  # type: ignore[union-attr]
    assert calls[-1].body["generationConfig"] == {
        "temperature": 0.0,
        "topP": 0.5,
        "topK": 3,
        "maxOutputTokens": 100,
        # the tuned model's base (2.5 Flash) thinks: masking asks for no thinking
        "thinkingConfig": {"thinking_budget": 0},  # as google-genai 3.6.1 sends it
    }
    base = backend.generate("models/" + BASE, "hello")
    assert base.text and emu.requests[-1].path.endswith(
        f"/publishers/google/models/{BASE}:generateContent"
    )
    with pytest.raises(NotFoundError):
        backend.get_model("projects/emulator-project/locations/us-central1/models/999@1")


def test_generate_before_the_job_ends_is_a_clear_error(backend: VertexBackend) -> None:
    info = backend.create_tuning_job(make_spec(40))
    with pytest.raises(InvalidRequestError, match="no endpoint yet"):
        backend.generate(info.name, "hello")


def test_blocked_and_safety(emu: Emulator, backend: VertexBackend) -> None:
    endpoint = backend.get_tuning_job(finished(backend)).endpoint or ""
    emu.service.block(lambda text: "forbidden" in text)
    blocked = backend.generate(endpoint, "a forbidden prompt")
    assert blocked.text is None and blocked.block_reason == "SAFETY"
    assert blocked.to_status() is MaskStatus.BLOCKED
    emu.service.block(lambda text: "[NAME]" in text, where="candidate")
    stopped = backend.generate(endpoint, PROMPT.format("Dear Zed, see you."))
    assert stopped.text is None and stopped.finish_reason == "SAFETY"


def test_cancel_and_failure(emu: Emulator, backend: VertexBackend) -> None:
    job = backend.create_tuning_job(make_spec(40))
    backend.cancel_tuning_job(job.name)
    after = backend.get_tuning_job(job.name)
    assert after.state is JobState.CANCELLED and after.error
    with pytest.raises(InvalidRequestError):  # cannot cancel twice
        backend.cancel_tuning_job(job.name)
    emu.service.fail_job(message="Quota for tuning exceeded.")
    failing = backend.create_tuning_job(make_spec(40))
    while not failing.state.is_terminal:
        failing = backend.get_tuning_job(failing.name)
    assert failing.state is JobState.FAILED and failing.error == "Quota for tuning exceeded."


@pytest.mark.parametrize(
    ("code", "delay", "expected"),
    [
        (429, 2.0, RateLimitError),
        (429, None, RateLimitError),
        (503, 5.0, TransientBackendError),
        (503, None, TransientBackendError),
        (500, None, TransientBackendError),
        (400, None, InvalidRequestError),
        (403, None, PermissionDeniedError),
        (404, None, NotFoundError),
    ],
)
def test_injected_faults(
    emu: Emulator,
    backend: VertexBackend,
    code: int,
    delay: float | None,
    expected: type[BackendError],
) -> None:
    emu.service.inject_fault("generate_content", code, retry_delay=delay)
    emu.clear_requests()
    with pytest.raises(expected) as info:
        backend.generate(BASE, "hello")
    assert type(info.value) is expected
    assert info.value.code == code and info.value.retry_after == delay
    assert issubclass(info.value.__cause__.sdk_type, genai_errors.APIError)
    assert len(emu.requests) == 1  # google-genai did not retry
    assert backend.generate(BASE, "hello").text


def test_faults_during_tuning_and_retrier(emu: Emulator, backend: VertexBackend) -> None:
    emu.service.inject_fault("create_tuned_model", 503)
    with pytest.raises(TransientBackendError):
        backend.create_tuning_job(make_spec(4))
    info = backend.create_tuning_job(make_spec(4))
    emu.service.inject_fault("get_tuned_model", 429, retry_delay=2.0)
    sleeps: list[float] = []
    retrier = Retrier(RetryPolicy(attempts=3, jitter=0.0), sleep=sleeps.append)
    polled = retrier.call(backend.get_tuning_job, info.name)
    assert polled.name == info.name and sleeps == [2.0]
    with pytest.raises(NotFoundError):
        backend.get_tuning_job(info.name.rsplit("/", 1)[0] + "/42")


def test_tuner_runs_against_the_emulator(backend: VertexBackend) -> None:
    from pii_gemini.tuning import Tuner

    tuner = Tuner(backend, sleep=lambda s: None, poll_interval=0.0)
    job = tuner.tune(
        [(ex.text_input, ex.output) for ex in make_spec(8).examples],
        source_model=BASE,
        epoch_count=2,
    )
    model = job.wait(progress=False)
    assert model.state is JobState.SUCCEEDED and model.endpoint
    assert backend.generate(model.name, PROMPT.format("Dear Bo, see you.")).text


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("PII_GEMINI_GCS_URI", raising=False)
    with pytest.raises(ConfigError, match="GOOGLE_CLOUD_PROJECT"):
        VertexBackend()
    with pytest.raises(ConfigError, match="gs://"):
        VertexBackend(project="p", staging_uri="s3://bucket/x")
    with pytest.raises(ConfigError, match="timeout"):
        VertexBackend(project="p", timeout=0)
    with emu.vertex_backend(staging_uri=None) as backend:
        with pytest.raises(ConfigError, match="PII_GEMINI_GCS_URI"):
            backend.create_tuning_job(make_spec(2))
        with pytest.raises(ConfigError, match="Gemini API tuned model"):
            emu.vertex_backend().create_tuning_job(make_spec(2, source="tunedModels/x"))
        with pytest.raises(ConfigError, match="tuningJobs"):
            backend.get_tuning_job("tunedModels/x")
        with pytest.raises(ConfigError, match="tuningJobs"):
            backend.cancel_tuning_job("tunedModels/x")
        with pytest.raises(BackendError, match="gcloud ai models delete"):
            backend.delete_model("projects/p/locations/l/models/1@1")


def test_bad_token_fails_upload_and_api(emu: Emulator) -> None:
    with emu.vertex_backend(credentials=static_token_credentials("wrong")) as backend:
        # google-auth answers the 401 by trying to refresh the token, which cannot work.
        with pytest.raises(PermissionDeniedError, match="Cloud Storage"):
            backend.create_tuning_job(make_spec(2))
        with pytest.raises(PermissionDeniedError) as info:
            backend.generate(BASE, "hello")
        assert info.value.code == 401


def test_custom_uploader_is_used(emu: Emulator) -> None:
    stored: dict[str, bytes] = {}

    def uploader(uri: str, data: bytes) -> None:
        stored[uri] = data
        emu.put_object(uri, data)

    with emu.vertex_backend(uploader=uploader, staging_uri="gs://mine/run/") as backend:
        info = backend.create_tuning_job(make_spec(3))
    (uri,) = stored
    assert uri.startswith("gs://mine/run/tuning-") and stored[uri].count(b"\n") == 3
    assert info.state is JobState.PENDING
    assert not emu.requests_to("/upload/")


def test_gcs_uploader_against_the_emulator(emu: Emulator) -> None:
    uploader = GcsUploader(static_token_credentials("vertex-token"), base_url=emu.url)
    uploader("gs://bucket/dir/file name.jsonl", b"{}\n")
    assert emu.get_object("gs://bucket/dir/file name.jsonl") == b"{}\n"
    assert "GcsUploader" in repr(uploader)
    with pytest.raises(ConfigError):
        uploader("gs://bucket-only", b"")
    uploader.close()


def test_missing_jsonl_and_bad_jsonl(emu: Emulator, backend: VertexBackend) -> None:
    emu.put_object("gs://emulator-bucket/bad.jsonl", b'{"contents": 3}\n')
    client = backend._client
    from google.genai import types

    with pytest.raises(genai_errors.ClientError) as bad:
        client.tunings.tune(
            base_model=BASE,
            training_dataset=types.TuningDataset(gcs_uri="gs://emulator-bucket/bad.jsonl"),
        )
    assert bad.value.code == 400 and "line 1" in (bad.value.message or "")
    with pytest.raises(genai_errors.ClientError) as missing:
        client.tunings.tune(
            base_model=BASE,
            training_dataset=types.TuningDataset(gcs_uri="gs://emulator-bucket/none.jsonl"),
        )
    assert missing.value.code == 400


# -- exception mapping -----------------------------------------------------------------------


def _api_error(
    cls: type[genai_errors.APIError], code: int, **extra: object
) -> genai_errors.APIError:
    error = {"code": code, "message": "m", "status": "S", **extra}
    return cls(code, {"error": error}, None)


def _httpx_errors() -> list[BaseException]:
    import importlib

    errors: list[BaseException] = []
    for name in ("httpx", "httpx2"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        errors += [module.ConnectError("refused"), module.ReadTimeout("slow")]
    return errors


MAPPING: list[tuple[BaseException, type[PiiGeminiError], int | None]] = [
    (_api_error(genai_errors.ClientError, 400), InvalidRequestError, 400),
    (_api_error(genai_errors.ClientError, 401), PermissionDeniedError, 401),
    (_api_error(genai_errors.ClientError, 403), PermissionDeniedError, 403),
    (_api_error(genai_errors.ClientError, 404), NotFoundError, 404),
    (_api_error(genai_errors.ClientError, 429), RateLimitError, 429),
    (_api_error(genai_errors.ServerError, 500), TransientBackendError, 500),
    (_api_error(genai_errors.ServerError, 503), TransientBackendError, 503),
    (_api_error(genai_errors.ServerError, 504), TransientBackendError, 504),
    (requests.exceptions.ConnectionError("refused"), TransientBackendError, 503),
    (requests.exceptions.ReadTimeout("slow"), TransientBackendError, 504),
    (auth_exc.DefaultCredentialsError("no adc"), ConfigError, None),
    (auth_exc.RefreshError("expired"), PermissionDeniedError, 401),
]


@pytest.mark.parametrize(("exc", "expected", "code"), MAPPING, ids=lambda v: type(v).__name__)
def test_every_exception_is_mapped(
    exc: BaseException, expected: type[PiiGeminiError], code: int | None
) -> None:
    with pytest.raises(PiiGeminiError) as info, map_vertex_exceptions("test"):
        raise exc
    assert type(info.value) is expected and info.value.__cause__.sdk_type is type(exc)
    assert getattr(info.value, "code", None) == code


@pytest.mark.parametrize("exc", _httpx_errors(), ids=lambda v: type(v).__name__)
def test_httpx_transport_errors_are_transient(exc: BaseException) -> None:
    mapped = translate_vertex_exception(exc, "x")
    assert isinstance(mapped, TransientBackendError)
    assert mapped.code == (504 if "Timeout" in type(exc).__name__ else 503)


def test_retry_delay_is_read_from_details() -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}]
    mapped = translate_vertex_exception(
        _api_error(genai_errors.ClientError, 429, details=details), "x"
    )
    assert isinstance(mapped, RateLimitError) and mapped.retry_after == 12.0
    assert translate_vertex_exception(KeyError("x"), "x") is None
    assert isinstance(translate_vertex_exception(ValueError("bad option"), "x"), ConfigError)


def test_sdk_missing_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.genai", None)
    with pytest.raises(BackendUnavailableError, match=r"pii-gemini\[vertex\]"):
        VertexBackend(project="p")


def test_token_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    secret = "ya29.a0VERYSECRETtokenVALUE0123456789"
    caplog.set_level(logging.DEBUG)
    with Emulator(bearer_token=secret) as emu:
        with emu.vertex_backend(credentials=static_token_credentials(secret)) as backend:
            assert secret not in repr(backend)
            emu.service.inject_fault("generate_content", 429, retry_delay=1.0)
            with pytest.raises(RateLimitError) as info:
                backend.generate(BASE, "hello")
        assert secret not in repr(emu.requests)
    chain: BaseException | None = info.value
    while chain is not None:
        assert secret not in str(chain)
        chain = chain.__cause__
    assert secret not in caplog.text
