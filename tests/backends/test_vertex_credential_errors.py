"""A Vertex AI 401 names where the backend's credentials come from, as a Gemini API key error
names the key's variables (docs/cli.md). It said only "401 UNAUTHENTICATED". Failed before."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.auth import exceptions as auth_exc

from pii_gemini._exceptions import PermissionDeniedError
from pii_gemini.backends._vertex_errors import map_vertex_exceptions
from pii_gemini.backends.vertex import static_token_credentials
from pii_gemini.testing import Emulator

_SOURCES = ("PII_GEMINI_ACCESS_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "gcloud auth")


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(era="2024", bearer_token="vertex-token") as emulator:
        yield emulator


def test_a_rejected_token_names_the_credential_sources(emu: Emulator) -> None:
    wrong = static_token_credentials("wrong")
    with (
        emu.vertex_backend(credentials=wrong) as backend,
        pytest.raises(PermissionDeniedError) as caught,
    ):
        backend.list_models()
    message = str(caught.value)
    assert caught.value.code == 401 and "UNAUTHENTICATED" in message
    assert all(source in message for source in _SOURCES), message
    assert "wrong" not in message.replace("wrong or expired", "")


def test_expired_default_credentials_name_the_sources_too() -> None:
    with pytest.raises(PermissionDeniedError) as caught, map_vertex_exceptions("list models"):
        raise auth_exc.RefreshError("expired")
    assert caught.value.code == 401
    assert all(source in str(caught.value) for source in _SOURCES)


def test_a_missing_permission_is_not_blamed_on_the_credentials() -> None:
    from google.genai import errors as genai_errors

    denied = genai_errors.ClientError(403, {"error": {"code": 403, "status": "PERMISSION_DENIED"}})
    with pytest.raises(PermissionDeniedError) as caught, map_vertex_exceptions("list models"):
        raise denied
    assert caught.value.code == 403 and "PII_GEMINI_ACCESS_TOKEN" not in str(caught.value)
