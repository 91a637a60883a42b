"""Issue 14.2, 14.3 and 14.6: current base models per backend, Vertex's own hyperparameters,
and API keys read from the environment the way each SDK reads them."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from pii_gemini import Tuner
from pii_gemini._exceptions import ConfigError, InvalidRequestError
from pii_gemini._types import TuningExample
from pii_gemini.backends._catalogue import VERTEX_DEFAULT_SOURCE_MODEL, era_catalogue
from pii_gemini.testing import Emulator, Progression

TRAIN = [(f"Mask: I am Bob {i}.", "I am [NAME].") for i in range(20)]


def tuner(backend: object) -> Tuner:
    return Tuner(backend, sleep=lambda s: None, poll_interval=0)  # type: ignore[arg-type]


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(progression=Progression.per_poll(10)) as emulator:
        yield emulator


# -- 14.2: defaults ---------------------------------------------------------------------------


def test_vertex_default_base_model_is_current_and_tunable(emu: Emulator) -> None:
    assert VERTEX_DEFAULT_SOURCE_MODEL in era_catalogue("2026").vertex_tunes
    with emu.vertex_backend() as backend:
        job = tuner(backend).tune(TRAIN)
        body = emu.requests_to("/tuningJobs", "POST")[0].body
        assert body["baseModel"] == VERTEX_DEFAULT_SOURCE_MODEL
        assert job.wait(progress=False).endpoint


def test_the_seed_default_is_refused_by_todays_vertex(emu: Emulator) -> None:
    # What the library sent before the fix: the Gemini API's 2024 tuning model. The dated
    # catalogue refuses it before any upload; sent all the same, the service refuses it.
    seed = "models/gemini-1.5-flash-001-tuning"
    with emu.vertex_backend() as backend:
        with pytest.raises(ConfigError, match=r"gemini-1\.5-flash-001-tuning"):
            tuner(backend).tune(TRAIN, source_model=seed)
        assert emu.requests == []
        with pytest.raises(InvalidRequestError, match=r"gemini-1\.5-flash-001-tuning"):
            tuner(backend).tune(TRAIN, source_model=seed, allow_unlisted_model=True)


def test_gemini_api_backend_refuses_before_any_upload(emu: Emulator) -> None:
    with emu.gemini_backend() as backend, pytest.raises(ConfigError, match=r"withdrawn.*Vertex"):
        tuner(backend).tune(TRAIN)
    assert emu.requests == []


def test_todays_gemini_api_refuses_tuning_and_retired_models() -> None:
    with Emulator() as emu, emu.gemini_backend() as backend:
        with pytest.raises(ConfigError, match="withdrawn"):
            tuner(backend).tune(TRAIN, source_model="models/gemini-3.5-flash")
        with pytest.raises(InvalidRequestError, match="withdrawn"):
            tuner(backend).tune(
                TRAIN, source_model="models/gemini-3.5-flash", allow_unlisted_model=True
            )
        from pii_gemini._exceptions import NotFoundError

        with pytest.raises(NotFoundError):
            backend.generate("models/gemini-1.5-flash-001", "hello")
        assert backend.generate("models/gemini-2.5-flash-lite", "hello").text


# -- 14.3: Vertex hyperparameters -------------------------------------------------------------


def test_vertex_gets_its_own_hyperparameters_and_a_validation_set(emu: Emulator) -> None:
    validation = [TuningExample(f"Mask: I am Ann {i}.", "I am [NAME].") for i in range(5)]
    with emu.vertex_backend() as backend, pytest.warns(UserWarning, match="learning_rate"):
        tuner(backend).tune(
            TRAIN,
            validation=validation,
            learning_rate_multiplier=0.5,
            adapter_size=8,
            learning_rate=0.01,  # the seed's absolute rate: not converted, not sent
        )
    body = emu.requests_to("/tuningJobs", "POST")[0].body
    spec = body["supervisedTuningSpec"]
    assert spec["hyperParameters"] == {
        "epochCount": 2,
        "learningRateMultiplier": 0.5,
        "adapterSize": "ADAPTER_SIZE_EIGHT",
    }
    assert len(emu.get_object(spec["validationDatasetUri"]).splitlines()) == 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"validation": [("a", "b")] * 7}, "validation set has 7 rows"),  # > 30% of 20
        ({"adapter_size": 32, "source_model": "gemini-2.5-pro"}, "adapter_size"),
        ({"source_model": "gemini-3.5-flash"}, "only in us-central1, europe-west4"),
    ],
)
def test_vertex_limits_fail_before_any_upload(
    emu: Emulator, kwargs: dict[str, object], match: str
) -> None:
    location = "asia-northeast1" if kwargs.get("source_model") == "gemini-3.5-flash" else None
    extra = {"location": location} if location else {}
    with emu.vertex_backend(**extra) as backend, pytest.raises(ConfigError, match=match):
        tuner(backend).tune(TRAIN, **kwargs)  # type: ignore[arg-type]
    assert emu.requests == []


def test_todays_vertex_rejects_open_model_hyperparameters(emu: Emulator) -> None:
    import requests

    from pii_gemini.testing import DEFAULT_BEARER_TOKEN

    emu.put_object("gs://b/t.jsonl", b'{"contents":[{"role":"user","parts":[{"text":"a"}]},'
                   b'{"role":"model","parts":[{"text":"b"}]}]}\n')  # fmt: skip
    url = f"{emu.url}/v1beta1/projects/p/locations/us-central1/tuningJobs"
    headers = {"Authorization": f"Bearer {DEFAULT_BEARER_TOKEN}"}
    body = {
        "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": {
            "trainingDatasetUri": "gs://b/t.jsonl",
            "hyperParameters": {"learningRate": 0.001},
        },
    }
    bad = requests.post(url, json=body, headers=headers, timeout=5)
    assert bad.status_code == 400 and "open models" in bad.json()["error"]["message"]
    body["surprise"] = 1
    unknown = requests.post(url, json=body, headers=headers, timeout=5)
    assert unknown.status_code == 400
    assert 'Unknown name "surprise"' in unknown.json()["error"]["message"]


# -- 14.6: which key the SDKs read ------------------------------------------------------------


def test_each_sdk_reads_the_key_it_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """google-generativeai prefers GEMINI_API_KEY, google-genai GOOGLE_API_KEY; the gemini
    backend (google-generativeai) and make_backend follow their SDK."""
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-env-key")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-env-key")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import google.generativeai as legacy
        from google import genai
        from google.genai import types

    with Emulator(era="2024", api_key="gemini-env-key") as emu:
        legacy.configure(transport="rest", client_options={"api_endpoint": emu.url})
        try:
            assert list(legacy.list_tuned_models()) == []  # sent GEMINI_API_KEY
        finally:
            legacy.configure(api_key="reset", transport="rest")
        from pii_gemini import make_backend

        monkeypatch.setenv("PII_GEMINI_ENDPOINT", emu.url)
        with make_backend("gemini") as backend:
            assert backend.list_models() == []
    with Emulator(api_key="google-env-key") as emu:
        client = genai.Client(http_options=types.HttpOptions(base_url=emu.url))
        answer = client.models.generate_content(model="gemini-2.5-flash-lite", contents="hi")
        assert answer.text  # sent GOOGLE_API_KEY


def test_the_gemini_api_and_the_fake_take_no_validation_set() -> None:
    from pii_gemini.backends import FakeBackend

    with pytest.raises(ConfigError, match="validation"):
        tuner(FakeBackend()).tune(TRAIN, validation=TRAIN[:2])
    with Emulator(era="2024") as emu, emu.gemini_backend() as backend:
        with pytest.raises(ConfigError, match="validation"):
            tuner(backend).tune(
                TRAIN, validation=TRAIN[:2], source_model="models/gemini-1.5-flash-001-tuning"
            )
        assert emu.requests == []
