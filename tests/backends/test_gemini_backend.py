"""GeminiBackend: the unmodified google-generativeai SDK driven against the local emulator."""

from __future__ import annotations

import concurrent.futures
import logging
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from faker import Faker
from google.auth import exceptions as auth_exc

from pii_gemini._exceptions import (
    AlreadyExistsError,
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
from pii_gemini.backends.gemini import (
    GEMINI_TUNING_WITHDRAWN,
    GeminiBackend,
    map_gemini_exceptions,
    parse_retry_delay,
    translate_gemini_exception,
)
from pii_gemini.testing import Emulator, Progression

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # api_core's Python end-of-life notice
    from google.api_core import exceptions as gexc

BASE = "models/gemini-1.5-flash-001-tuning"
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
    with Emulator(era="2024", progression=Progression.per_poll(2)) as emulator:
        yield emulator


@pytest.fixture()
def backend(emu: Emulator) -> Iterator[GeminiBackend]:
    with emu.gemini_backend(timeout=10) as b:
        assert isinstance(b, GeminiBackend)
        yield b


def tuned(backend: GeminiBackend, model_id: str = "tuned-one") -> str:
    info = backend.create_tuning_job(
        make_spec(8, model_id=model_id, hyperparameters=Hyperparameters(1, 4))
    )
    while not info.state.is_terminal:
        info = backend.get_tuning_job(info.name)
    assert info.state is JobState.SUCCEEDED
    return info.model


# -- tuning ----------------------------------------------------------------------------------


def test_tuning_lifecycle_reports_progress_and_snapshots(
    emu: Emulator, backend: GeminiBackend
) -> None:
    spec = make_spec(10, model_id="pii-model", hyperparameters=Hyperparameters(2, 4, 0.002))
    info = backend.create_tuning_job(spec)
    assert info.name.startswith("tunedModels/pii-model/operations/")
    assert info.model == "tunedModels/pii-model"
    assert info.state is JobState.RUNNING
    assert info.total_steps == spec.total_steps == 6
    assert info.base_model == BASE
    seen = []
    while not info.state.is_terminal:
        info = backend.get_tuning_job(info.name)
        seen.append(info.completed_steps)
    assert seen == [2, 4, 6]
    assert info.state is JobState.SUCCEEDED and info.completed_percent == 100.0
    assert [s.step for s in info.snapshots] == [1, 2, 3, 4, 5, 6]
    assert {s.epoch for s in info.snapshots} == {1, 2}
    assert all(s.compute_time is not None and s.compute_time.tzinfo for s in info.snapshots)
    # What went over the wire: the SDK's create body with our hyperparameters and data.
    create = emu.requests_to("tunedModels", "POST")[0]
    assert create.query["tunedModelId"] == ["pii-model"]
    task = create.body["tuningTask"]
    assert task["hyperparameters"] == {"epochCount": 2, "batchSize": 4, "learningRate": 0.002}
    assert len(task["trainingData"]["examples"]["examples"]) == 10


def test_poll_by_tuned_model_name(backend: GeminiBackend) -> None:
    model = tuned(backend)
    info = backend.get_tuning_job(model)
    assert info.state is JobState.SUCCEEDED and info.model == model
    assert info.base_model == BASE and len(info.snapshots) == 2


# A tuned model name is resolved to its job, as the fake and local backends do (it answered
# 0/0 steps, so `pii-gemini status tunedModels/x` printed "0/0 steps (100%)").


def _by_name_spec() -> TuningSpec:
    examples = tuple(TuningExample(f"Input: call Ann {i}", "call [NAME]") for i in range(12))
    settings = Hyperparameters(epoch_count=1, batch_size=4, learning_rate=0.001)
    return TuningSpec(BASE, examples, hyperparameters=settings, model_id="by-name")


def test_a_model_name_gives_its_jobs_steps(backend: GeminiBackend) -> None:
    job = backend.create_tuning_job(_by_name_spec())  # 3 steps, 2 a poll
    running = backend.get_tuning_job("tunedModels/by-name")
    assert running.name == job.name  # resolved to the job
    assert running.model == "tunedModels/by-name"
    assert running.total_steps == 3 and running.state is JobState.RUNNING
    assert running.completed_steps == len(running.snapshots) == 2
    done = backend.get_tuning_job("tunedModels/by-name")
    assert done.state is JobState.SUCCEEDED
    assert (done.completed_steps, done.total_steps) == (3, 3)
    assert done.base_model == BASE


def test_a_model_whose_operation_is_gone_tells_its_steps_once_succeeded(
    backend: GeminiBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend.create_tuning_job(_by_name_spec())
    real = backend._client

    def without_operations(kind: str) -> Any:
        client = real(kind)
        if kind == "operations":
            monkeypatch.setattr(client, "list_operations", lambda **_: [])
        return client

    monkeypatch.setattr(backend, "_client", without_operations)
    running = backend.get_tuning_job("tunedModels/by-name")  # polls the model: 2 steps
    assert running.name == "tunedModels/by-name" and running.state is JobState.RUNNING
    assert (running.completed_steps, running.total_steps) == (0, 0)  # not told: not guessed
    done = backend.get_tuning_job("tunedModels/by-name")
    assert done.state is JobState.SUCCEEDED
    assert (done.completed_steps, done.total_steps) == (3, 3)  # from its last snapshot


def test_tune_from_a_tuned_model(backend: GeminiBackend, emu: Emulator) -> None:
    parent = tuned(backend, "parent-model")
    info = backend.create_tuning_job(make_spec(4, source=parent, model_id="child-model"))
    assert info.base_model == BASE
    body = emu.requests_to("tunedModels", "POST")[-1].body
    assert body["tunedModelSource"] == {"tunedModel": parent, "baseModel": BASE}


def test_failed_and_cancelled_jobs(emu: Emulator, backend: GeminiBackend) -> None:
    emu.service.fail_job(message="Training diverged.")
    info = backend.create_tuning_job(make_spec(40, model_id="fails"))
    while not info.state.is_terminal:
        info = backend.get_tuning_job(info.name)
    assert info.state is JobState.FAILED and info.error == "Training diverged."

    job = backend.create_tuning_job(make_spec(40, model_id="cancel-by-op"))
    backend.cancel_tuning_job(job.name)
    after = backend.get_tuning_job(job.name)
    assert after.state is JobState.CANCELLED and after.error
    assert emu.requests_to(":cancel", "POST")

    other = backend.create_tuning_job(make_spec(40, model_id="cancel-by-model"))
    backend.cancel_tuning_job(other.model)
    assert backend.get_tuning_job(other.name).state is JobState.CANCELLED
    backend.cancel_tuning_job(other.model)  # nothing running: a no-op


def test_duplicate_id_is_already_exists(backend: GeminiBackend) -> None:
    tuned(backend, "taken")
    with pytest.raises(AlreadyExistsError) as info:
        backend.create_tuning_job(make_spec(4, model_id="taken"))
    assert info.value.code == 409
    assert issubclass(info.value.__cause__.sdk_type, gexc.Conflict)


def test_untunable_base_model_says_gemini_tuning_was_withdrawn() -> None:
    # Like Google today: base models exist but none can be tuned.
    with Emulator(era="2024", tunable_models=()) as emu, emu.gemini_backend() as backend:
        with pytest.raises(InvalidRequestError) as bad:
            backend.create_tuning_job(make_spec(4))
        assert GEMINI_TUNING_WITHDRAWN in str(bad.value)
        assert "vertex" in str(bad.value)
        with pytest.raises(NotFoundError) as missing:
            backend.create_tuning_job(make_spec(4, source="models/no-such-model"))
        assert GEMINI_TUNING_WITHDRAWN in str(missing.value)
        assert issubclass(missing.value.__cause__.sdk_type, gexc.NotFound)


# -- models ----------------------------------------------------------------------------------


def test_get_list_update_delete(emu: Emulator) -> None:
    with emu.gemini_backend(page_size=1) as backend:
        names = [tuned(backend, f"model-{i}") for i in range(3)]
        info = backend.get_model(names[0])
        assert info.state is JobState.SUCCEEDED and info.base_model == BASE
        assert info.hyperparameters == Hyperparameters(1, 4, 0.001)
        assert len(info.snapshots) == 2 and info.create_time is not None
        listed = backend.list_models()
        assert [m.name for m in listed] == names
        assert len(emu.requests_to("tunedModels", "GET")) >= 3  # pageSize=1 paginates
        lists = [r for r in emu.requests if r.method == "GET" and r.path.endswith("/tunedModels")]
        assert len(lists) == 3 and all(r.query["pageSize"] == ["1"] for r in lists)
        updated = backend.update_model(names[0], description="masks PII", temperature=0.2)
        assert updated.description == "masks PII"
        patch = emu.requests_to(names[0], "PATCH")[0]
        assert set(patch.query["updateMask"][0].split(",")) == {"description", "temperature"}
        backend.delete_model(names[0])
        assert [m.name for m in backend.list_models()] == names[1:]
        # Like Google, a missing tuned model is a 403, and the message says what it means.
        with pytest.raises(PermissionDeniedError, match="does not exist or belongs to another"):
            backend.get_model(names[0])


def test_bad_names_and_arguments(backend: GeminiBackend) -> None:
    with pytest.raises(ConfigError):
        backend.get_model("models/gemini-1.5-flash-001")
    with pytest.raises(ConfigError):
        backend.delete_model("models/gemini-1.5-flash-001")
    with pytest.raises(ConfigError):
        backend.update_model("tunedModels/x")
    with pytest.raises(ConfigError):
        backend.update_model("models/x", description="d")
    with pytest.raises(ConfigError):
        GeminiBackend(api_key="k", credentials=object())
    with pytest.raises(ConfigError):
        GeminiBackend(api_key="k", timeout=0)
    with pytest.raises(ConfigError):
        GeminiBackend(api_key="k", page_size=0)


def test_sdk_side_validation_is_a_config_error(backend: GeminiBackend) -> None:
    with pytest.raises(ConfigError, match="tunedModels/") as info:
        backend.generate("foo/bar", "hello")
    assert "\n" not in str(info.value) and issubclass(info.value.__cause__.sdk_type, ValueError)
    with pytest.raises(ConfigError, match="Invalid model name"):
        backend.create_tuning_job(make_spec(2, source="foo/bar"))


def test_missing_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="GOOGLE_API_KEY"):
        GeminiBackend()


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", emu.api_key or "")
    with GeminiBackend(endpoint=emu.url) as backend:
        assert backend.list_models() == []


def test_oauth_credentials_send_a_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.oauth2.credentials import Credentials

    # A key in the environment must not clash with explicit credentials.
    monkeypatch.setenv("GOOGLE_API_KEY", "some-other-environment-key")
    with Emulator(era="2024", bearer_token="oauth-token") as emu:
        with GeminiBackend(credentials=Credentials(token="oauth-token"), endpoint=emu.url) as b:
            assert b.list_models() == []
        assert emu.requests[-1].headers["authorization"] == "[REDACTED]"
        with GeminiBackend(credentials=Credentials(token="wrong"), endpoint=emu.url) as b:
            with pytest.raises(PermissionDeniedError) as info:
                b.list_models()
            assert info.value.code == 401 and info.value.status == "UNAUTHENTICATED"


def test_wrong_key_is_rejected_like_google(emu: Emulator) -> None:
    with (
        emu.gemini_backend(api_key="not-the-right-key") as backend,
        pytest.raises(PermissionDeniedError, match=r"API_KEY_INVALID.*GEMINI_API_KEY"),
    ):
        backend.list_models()


# -- generation ------------------------------------------------------------------------------


def test_generate_sends_the_config_and_reads_the_answer(
    emu: Emulator, backend: GeminiBackend
) -> None:
    model = tuned(backend)
    config = GenerationConfig(temperature=0.0, top_p=0.5, top_k=3, max_output_tokens=200)
    answer = backend.generate(model, PROMPT.format("Dear Alice, see you."), config)
    assert answer.text and answer.finish_reason == "STOP" and answer.block_reason is None
    assert answer.prompt_tokens > 0 and answer.output_tokens > 0
    assert answer.to_status() is MaskStatus.OK
    body = emu.requests_to(":generateContent")[-1].body
    assert body["generationConfig"] == {
        "temperature": 0.0,
        "topP": 0.5,
        "topK": 3,
        "maxOutputTokens": 200,
    }
    assert body["contents"][0]["parts"][0]["text"].startswith("Input:")
    # A bare base-model name gets the models/ prefix, like the SDK.
    assert backend.generate("gemini-1.5-flash-001", "hello").text is not None


def test_blocked_prompt_and_safety_stop_are_statuses(emu: Emulator, backend: GeminiBackend) -> None:
    model = tuned(backend)
    emu.service.block(lambda text: "forbidden" in text)
    blocked = backend.generate(model, "a forbidden prompt")
    assert blocked.text is None and blocked.block_reason == "SAFETY"
    assert blocked.to_status() is MaskStatus.BLOCKED
    emu.service.block(lambda text: "[NAME]" in text, where="candidate", reason="SAFETY")
    stopped = backend.generate(model, PROMPT.format("Dear Zed, see you."))
    assert stopped.text is None and stopped.finish_reason == "SAFETY"
    assert stopped.to_status() is MaskStatus.BLOCKED


def test_max_tokens_is_truncated(backend: GeminiBackend) -> None:
    model = tuned(backend)
    long_text = PROMPT.format(" ".join(["Dear Alice, see you."] * 30))
    answer = backend.generate(model, long_text, GenerationConfig(max_output_tokens=2))
    assert answer.finish_reason == "MAX_TOKENS"
    assert answer.to_status() is MaskStatus.TRUNCATED


# -- faults, retries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "delay", "expected"),
    [
        (429, 2.5, RateLimitError),
        (429, None, RateLimitError),
        (503, 7.0, TransientBackendError),
        (503, None, TransientBackendError),
        (500, None, TransientBackendError),
        (504, None, TransientBackendError),
        (400, None, InvalidRequestError),
        (403, None, PermissionDeniedError),
        (404, None, NotFoundError),
    ],
)
def test_injected_faults_map_once_without_sdk_retries(
    emu: Emulator,
    backend: GeminiBackend,
    code: int,
    delay: float | None,
    expected: type[BackendError],
) -> None:
    emu.service.inject_fault("generate_content", code, retry_delay=delay)
    emu.clear_requests()
    with pytest.raises(expected) as info:
        backend.generate("models/gemini-1.5-flash-001", "hello")
    assert type(info.value) is expected
    assert info.value.code == code and info.value.retry_after == delay
    assert issubclass(info.value.__cause__.sdk_type, gexc.GoogleAPICallError)
    assert len(emu.requests) == 1  # the SDK did not retry (not even 503)
    assert backend.generate("models/gemini-1.5-flash-001", "hello").text is not None


def test_faults_on_tuning_calls(emu: Emulator, backend: GeminiBackend) -> None:
    info = backend.create_tuning_job(make_spec(20, model_id="flaky"))
    emu.service.inject_fault("get_operation", 503)
    with pytest.raises(TransientBackendError):
        backend.get_tuning_job(info.name)
    emu.service.inject_fault("create_tuned_model", 429, retry_delay=1.0)
    with pytest.raises(RateLimitError) as rate:
        backend.create_tuning_job(make_spec(4, model_id="later"))
    assert GEMINI_TUNING_WITHDRAWN not in str(rate.value)
    emu.service.inject_fault("list_tuned_models", 500)
    with pytest.raises(TransientBackendError):
        backend.list_models()


def test_retrier_is_the_one_retry_layer(emu: Emulator, backend: GeminiBackend) -> None:
    emu.service.inject_fault("generate_content", 429, retry_delay=3.0)
    emu.service.inject_fault("generate_content", 503, times=1)
    sleeps: list[float] = []
    retrier = Retrier(RetryPolicy(attempts=3, jitter=0.0), sleep=sleeps.append)
    emu.clear_requests()
    answer = retrier.call(backend.generate, "models/gemini-1.5-flash-001", "hello")
    assert answer.text is not None
    assert len(emu.requests) == 3 and retrier.retries == 2
    assert sleeps[0] == 3.0  # the server's retryDelay was honoured


def test_tuner_runs_against_the_emulator(emu: Emulator, backend: GeminiBackend) -> None:
    from pii_gemini.tuning import Tuner

    tuner = Tuner(backend, sleep=lambda s: None, poll_interval=0.0)
    emu.service.inject_fault("get_operation", 503)  # retried by the Tuner's Retrier
    job = tuner.tune(
        [(ex.text_input, ex.output) for ex in make_spec(8).examples],
        source_model=BASE,
        model_id="via-tuner",
        epoch_count=2,
    )
    model = job.wait(progress=False)
    assert model.name == "tunedModels/via-tuner" and model.state is JobState.SUCCEEDED
    assert len(job.snapshots()) == job.total_steps == 4
    assert [m.name for m in tuner.list_models()] == ["tunedModels/via-tuner"]


def test_masker_runs_against_the_emulator(emu: Emulator, backend: GeminiBackend) -> None:
    from pii_gemini.masking import Masker

    model = tuned(backend)
    emu.service.inject_fault("generate_content", 429, retry_delay=0.5)
    emu.service.block(lambda text: "Blocked" in text)
    masker = Masker(backend, model, sleep=lambda s: None, concurrency=2)
    results = masker.mask_many(["Dear Alice, see you.", "Dear Blocked, see you.", "Hi."])
    assert [r.status for r in results] == [MaskStatus.OK, MaskStatus.BLOCKED, MaskStatus.OK]


def test_two_backends_do_not_share_sdk_state() -> None:
    with (
        Emulator(era="2024", api_key="key-one") as one,
        Emulator(era="2024", api_key="key-two") as two,
    ):
        b1, b2 = one.gemini_backend(), two.gemini_backend()

        def work(b: GeminiBackend) -> int:
            return sum(
                b.generate("models/gemini-1.5-flash-001", f"x{i}").output_tokens for i in range(5)
            )

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(work, [b1, b2, b1, b2]))
        assert len(one.requests) == len(two.requests) == 10
        assert all(r.status == 200 for r in one.requests + two.requests)


# -- exception mapping -----------------------------------------------------------------------

_RETRY_INFO = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "4s"}]

MAPPING: list[tuple[BaseException, type[PiiGeminiError], int | None]] = [
    (gexc.BadRequest("m"), InvalidRequestError, 400),
    (gexc.InvalidArgument("m"), InvalidRequestError, 400),
    (gexc.FailedPrecondition("m"), InvalidRequestError, 400),
    (gexc.OutOfRange("m"), InvalidRequestError, 400),
    (gexc.Unauthorized("m"), PermissionDeniedError, 401),
    (gexc.Unauthenticated("m"), PermissionDeniedError, 401),
    (gexc.Forbidden("m"), PermissionDeniedError, 403),
    (gexc.PermissionDenied("m"), PermissionDeniedError, 403),
    (gexc.NotFound("m"), NotFoundError, 404),
    (gexc.Conflict("m"), AlreadyExistsError, 409),
    (gexc.AlreadyExists("m"), AlreadyExistsError, 409),
    (gexc.Aborted("m"), BackendError, 409),
    (gexc.TooManyRequests("m", details=_RETRY_INFO), RateLimitError, 429),
    (gexc.ResourceExhausted("m"), RateLimitError, 429),
    (gexc.InternalServerError("m"), TransientBackendError, 500),
    (gexc.Unknown("m"), TransientBackendError, 500),
    (gexc.MethodNotImplemented("m"), TransientBackendError, 501),
    (gexc.BadGateway("m"), TransientBackendError, 502),
    (gexc.ServiceUnavailable("m"), TransientBackendError, 503),
    (gexc.GatewayTimeout("m"), TransientBackendError, 504),
    (gexc.DeadlineExceeded("m"), TransientBackendError, 504),
    (gexc.Cancelled("m"), BackendError, 499),
    (gexc.RetryError("gave up", cause=gexc.ServiceUnavailable("m")), TransientBackendError, 503),
    (gexc.RetryError("gave up", cause=ValueError("x")), TransientBackendError, 504),
    (requests.exceptions.ConnectionError("refused"), TransientBackendError, 503),
    (requests.exceptions.ReadTimeout("slow"), TransientBackendError, 504),
    (requests.exceptions.ConnectTimeout("slow"), TransientBackendError, 504),
    (concurrent.futures.TimeoutError(), TransientBackendError, 504),
    (auth_exc.DefaultCredentialsError("no adc"), ConfigError, None),
    (ValueError("Invalid model name"), ConfigError, None),
    (auth_exc.RefreshError("expired"), PermissionDeniedError, 401),
]


@pytest.mark.parametrize(("exc", "expected", "code"), MAPPING, ids=lambda v: type(v).__name__)
def test_every_sdk_exception_is_mapped(
    exc: BaseException, expected: type[PiiGeminiError], code: int | None
) -> None:
    with pytest.raises(PiiGeminiError) as info, map_gemini_exceptions("test call"):
        raise exc
    assert type(info.value) is expected
    assert info.value.__cause__.sdk_type is type(exc)
    assert getattr(info.value, "code", None) == code
    if isinstance(exc, gexc.TooManyRequests) and exc.details:
        assert getattr(info.value, "retry_after", None) == 4.0


def test_all_api_core_call_errors_are_covered() -> None:
    """Every GoogleAPICallError subclass maps to a library error with its HTTP code."""
    classes = [
        cls
        for cls in vars(gexc).values()
        if isinstance(cls, type) and issubclass(cls, gexc.GoogleAPICallError)
    ]
    assert len(classes) > 25
    for cls in classes:
        mapped = translate_gemini_exception(cls("m"), "x")
        assert isinstance(mapped, BackendError), cls
        if isinstance(cls.code, int):
            assert mapped.code == cls.code, cls
        if mapped.code is not None and mapped.code >= 500:
            assert mapped.retryable, cls
        if mapped.code in (400, 401, 403, 404):
            assert not mapped.retryable, cls


def test_unrelated_exceptions_pass_through() -> None:
    assert translate_gemini_exception(KeyError("x"), "x") is None
    with pytest.raises(KeyError), map_gemini_exceptions("x"):
        raise KeyError("x")
    original = NotFoundError("already ours")
    with pytest.raises(NotFoundError) as info, map_gemini_exceptions("x"):
        raise original
    assert info.value is original


def test_parse_retry_delay_forms() -> None:
    from google.protobuf import duration_pb2
    from google.rpc import error_details_pb2

    kind = "type.googleapis.com/google.rpc.RetryInfo"
    duration = duration_pb2.Duration(seconds=2, nanos=500_000_000)
    assert parse_retry_delay([error_details_pb2.RetryInfo(retry_delay=duration)]) == 2.5
    assert parse_retry_delay([{"@type": kind, "retryDelay": "31s"}]) == 31.0
    assert parse_retry_delay([{"@type": kind, "retryDelay": "soon"}]) is None
    assert parse_retry_delay([{"@type": kind, "retryDelay": {"seconds": 1, "nanos": 0}}]) == 1.0
    assert parse_retry_delay([{"@type": kind}]) is None
    assert parse_retry_delay([{"@type": "type.googleapis.com/google.rpc.ErrorInfo"}]) is None
    assert parse_retry_delay(None) is None


def test_sdk_missing_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.generativeai", None)
    with pytest.raises(BackendUnavailableError, match="pip install"):
        GeminiBackend(api_key="k")


# -- key safety ------------------------------------------------------------------------------

SECRET = "AIzaSyPIIgeminiTESTkey0123456789abcdefgh"


def test_api_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[BaseException] = []
    with Emulator(era="2024", api_key=SECRET) as emu, emu.gemini_backend() as backend:
        assert SECRET not in repr(backend) and SECRET not in str(backend)
        emu.service.inject_fault("generate_content", 429, retry_delay=1.0)
        emu.service.inject_fault("generate_content", 503)
        for _ in range(2):
            with pytest.raises(TransientBackendError) as info:
                backend.generate("models/gemini-1.5-flash-001", "hello")
            seen.append(info.value)
        with pytest.raises(PermissionDeniedError) as missing:
            backend.get_model("tunedModels/none")
        seen.append(missing.value)
        with pytest.raises(NotFoundError) as withdrawn:
            backend.create_tuning_job(make_spec(2, source="models/not-there"))
        seen.append(withdrawn.value)
        with emu.gemini_backend(api_key=SECRET + "x") as wrong:
            with pytest.raises(PermissionDeniedError) as bad:
                wrong.list_models()
            seen.append(bad.value)
        assert all(
            "x-goog-api-key" not in r.headers or r.headers["x-goog-api-key"] == "[REDACTED]"
            for r in emu.requests
        )
        assert SECRET not in repr(emu.requests)
    for exc in seen:
        chain: BaseException | None = exc
        while chain is not None:
            assert SECRET not in str(chain) and SECRET not in repr(chain.args)
            chain = chain.__cause__ or chain.__context__
    assert SECRET not in caplog.text
    assert threading.active_count() < 50
