"""make_backend(): backend choice from option/env, one-line credential errors; key redaction."""

from __future__ import annotations

import pytest

from pii_gemini._credentials import BACKEND_NAMES, adc_credentials, backend_name, make_backend
from pii_gemini._exceptions import ConfigError
from pii_gemini._redact import (
    REDACTED,
    mask_secret,
    redact,
    register_secret,
    registered_secret_count,
)
from pii_gemini.backends.fake import FakeBackend
from pii_gemini.testing import DEFAULT_API_KEY, Emulator

_ENV = (
    "PII_GEMINI_BACKEND",
    "PII_GEMINI_ENDPOINT",
    "PII_GEMINI_AUTH",
    "PII_GEMINI_ACCESS_TOKEN",
    "PII_GEMINI_GCS_URI",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


def test_default_is_fake_and_env_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    assert backend_name() == "fake"
    assert isinstance(make_backend(), FakeBackend)
    monkeypatch.setenv("PII_GEMINI_BACKEND", " Gemini ")
    assert backend_name() == "gemini"
    assert backend_name("vertex") == "vertex"  # the argument wins
    assert BACKEND_NAMES == ("fake", "gemini", "vertex", "local")


def test_fake_takes_keyword_arguments() -> None:
    from pii_gemini.backends._service import Progression

    backend = make_backend("fake", progression=Progression.immediate())
    assert isinstance(backend, FakeBackend)
    assert backend.service.progression == Progression.immediate()


def test_unknown_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="choose one of fake, gemini, vertex"):
        make_backend("openai")
    monkeypatch.setenv("PII_GEMINI_BACKEND", "nope")
    with pytest.raises(ConfigError, match="PII_GEMINI_BACKEND"):
        make_backend()


@pytest.mark.parametrize(
    ("name", "needle"),
    [("gemini", "set GOOGLE_API_KEY"), ("vertex", "set GOOGLE_CLOUD_PROJECT")],
)
def test_missing_credentials_say_what_to_set(name: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_backend(name)
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_gemini_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator() as emu:
        monkeypatch.setenv("GOOGLE_API_KEY", DEFAULT_API_KEY)
        monkeypatch.setenv("PII_GEMINI_ENDPOINT", emu.url)
        with make_backend("gemini") as backend:
            assert backend.name == "gemini" and backend.list_models() == []
        monkeypatch.setenv("GEMINI_API_KEY", "wins-over-google-api-key")
        with make_backend("gemini") as backend:
            assert "24 chars" in repr(backend)
        with make_backend("gemini", api_key=DEFAULT_API_KEY, endpoint=emu.url) as backend:
            assert backend.list_models() == []


def test_gemini_with_adc(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    from google.auth import exceptions as auth_exc
    from google.oauth2.credentials import Credentials

    monkeypatch.setenv("PII_GEMINI_AUTH", "adc")
    scopes_seen: list[list[str]] = []

    def no_adc(scopes: list[str]) -> object:
        raise auth_exc.DefaultCredentialsError("none")

    monkeypatch.setattr(google.auth, "default", no_adc)
    with pytest.raises(ConfigError, match="gcloud auth application-default login"):
        make_backend("gemini")

    def fake_adc(scopes: list[str]) -> tuple[object, str]:
        scopes_seen.append(scopes)
        return Credentials(token="adc-token"), "project"

    monkeypatch.setattr(google.auth, "default", fake_adc)
    with Emulator() as emu:
        monkeypatch.setenv("PII_GEMINI_ENDPOINT", emu.url)
        with make_backend("gemini") as backend:
            assert backend.list_models() == []
        assert emu.requests[-1].headers["authorization"] == REDACTED
    assert "https://www.googleapis.com/auth/generative-language.tuning" in scopes_seen[0]
    assert adc_credentials(("scope-a",)).token == "adc-token"
    assert scopes_seen[-1] == ["scope-a"]


def test_vertex_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(bearer_token="env-token") as emu:
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj")
        monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
        monkeypatch.setenv("PII_GEMINI_ENDPOINT", emu.url)
        monkeypatch.setenv("PII_GEMINI_ACCESS_TOKEN", "env-token")
        monkeypatch.setenv("PII_GEMINI_GCS_URI", "gs://bucket/prefix")
        with make_backend("vertex") as backend:
            assert "proj" in repr(backend) and "europe-west4" in repr(backend)
            assert backend.generate("gemini-2.5-flash", "hello").text
        assert emu.requests[-1].path.startswith("/v1beta1/projects/proj/locations/europe-west4/")


# -- redaction -------------------------------------------------------------------------------


def test_redact_registered_and_shaped_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    register_secret("short")  # too short to be masked safely: ignored
    before = registered_secret_count()
    register_secret("my-registered-secret")
    register_secret(None)
    assert registered_secret_count() == before + 1
    assert redact("x my-registered-secret y") == f"x {REDACTED} y"
    google_key = "AIza" + "B" * 35
    assert google_key not in redact(f"key {google_key}")
    assert (
        redact("GET /v1beta/x?alt=json&key=abcdef123&b=1")
        == f"GET /v1beta/x?alt=json&key={REDACTED}&b=1"
    )
    assert redact("{'x-goog-api-key': 'abc123'}") == f"{{'x-goog-api-key': '{REDACTED}'}}"
    assert redact("Authorization: Bearer tok.en-123") == f"Authorization: Bearer {REDACTED}"
    assert "ya29" not in redact("token ya29.a0AfH6SMB")
    monkeypatch.setenv("GOOGLE_API_KEY", "environment-key-value")
    assert redact("oops environment-key-value") == f"oops {REDACTED}"
    assert redact(ValueError("no secrets here")) == "no secrets here"


def test_mask_secret() -> None:
    assert mask_secret(None) == "None" and mask_secret("") == "None"
    assert mask_secret("abcdef") == "'***' (6 chars)"
