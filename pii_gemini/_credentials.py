"""Pick and build a backend from an option or the environment, with one-line errors.

``make_backend()`` is what the quickstart and the CLI call: ``name`` (or
``PII_GEMINI_BACKEND``, default ``"fake"``) chooses the backend, and credentials come from
keyword arguments or the usual environment variables. A missing credential raises
``ConfigError`` whose message says exactly what to set.

This is the backend factory: it imports the backends (the SDK ones lazily) and no backend
imports it, so the arrows point one way; what the backends share lives in ``backends/``.

Environment variables read:

=========================  =============================================================
``PII_GEMINI_BACKEND``     ``fake`` (default), ``gemini``, ``vertex`` or ``local``
``GOOGLE_API_KEY``         Gemini API key (``GEMINI_API_KEY`` is read first, as google-
                           generativeai does; google-genai prefers ``GOOGLE_API_KEY``)
``PII_GEMINI_AUTH``        ``adc``: use Application Default Credentials for ``gemini``
``GOOGLE_CLOUD_PROJECT``   Vertex AI project (required for ``vertex``)
``GOOGLE_CLOUD_LOCATION``  Vertex AI region (default ``us-central1``)
``PII_GEMINI_GCS_URI``     ``gs://bucket/prefix`` for Vertex training data
``PII_GEMINI_ENDPOINT``    another server for either backend (the local emulator)
``PII_GEMINI_ACCESS_TOKEN`` a fixed OAuth access token for ``vertex`` (tests, emulator)
``PII_GEMINI_LOCAL_DIR``   where ``local`` keeps tuned models (~/.local/share/pii-gemini/models)
``PII_GEMINI_LOCAL_BASE_MODEL`` the Gemma checkpoint ``local`` tunes (a folder or a HF id)
=========================  =============================================================
"""

from __future__ import annotations

import os
from typing import Any

from ._exceptions import ConfigError
from .backends.base import Backend

__all__ = ["BACKEND_NAMES", "adc_credentials", "backend_name", "make_backend"]

BACKEND_NAMES: tuple[str, ...] = ("fake", "gemini", "vertex", "local")


def backend_name(name: str | None = None) -> str:
    """The backend to use: ``name``, else ``PII_GEMINI_BACKEND``, else ``"fake"``."""
    chosen = (name or os.environ.get("PII_GEMINI_BACKEND") or "fake").strip().lower()
    if chosen not in BACKEND_NAMES:
        raise ConfigError(
            f"unknown backend {chosen!r}: choose one of {', '.join(BACKEND_NAMES)} "
            "(argument or PII_GEMINI_BACKEND)"
        )
    return chosen


def adc_credentials(scopes: tuple[str, ...] | list[str]) -> Any:
    """Application Default Credentials with ``scopes``, or a ConfigError saying how to log in."""
    try:
        import google.auth
        from google.auth import exceptions as auth_exc
    except ImportError as exc:  # google-auth comes with both SDKs
        raise ConfigError("Application Default Credentials need google-auth installed") from exc
    try:
        credentials, _ = google.auth.default(scopes=list(scopes))
    except auth_exc.DefaultCredentialsError as exc:
        raise ConfigError(
            "no Application Default Credentials: run 'gcloud auth application-default login "
            f"--scopes={','.join(scopes)}' or set GOOGLE_APPLICATION_CREDENTIALS"
        ) from exc
    return credentials


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def _gemini(kwargs: dict[str, Any]) -> Backend:
    from .backends.gemini import TUNING_SCOPES, GeminiBackend

    kwargs.setdefault("endpoint", _env("PII_GEMINI_ENDPOINT"))
    if not kwargs.get("api_key") and kwargs.get("credentials") is None:
        key = _env("GEMINI_API_KEY") or _env("GOOGLE_API_KEY")
        if key:
            kwargs["api_key"] = key
        elif (_env("PII_GEMINI_AUTH") or "").lower() == "adc":
            kwargs["credentials"] = adc_credentials(TUNING_SCOPES)
        else:
            raise ConfigError(
                "the gemini backend needs an API key: set GOOGLE_API_KEY (or GEMINI_API_KEY), "
                "or PII_GEMINI_AUTH=adc for gcloud application-default credentials"
            )
    return GeminiBackend(**kwargs)


def _vertex(kwargs: dict[str, Any]) -> Backend:
    if not kwargs.get("project") and not _env("GOOGLE_CLOUD_PROJECT"):
        raise ConfigError(
            "the vertex backend needs a Google Cloud project: set GOOGLE_CLOUD_PROJECT "
            "(and GOOGLE_CLOUD_LOCATION, PII_GEMINI_GCS_URI)"
        )
    from .backends.vertex import VertexBackend, static_token_credentials

    kwargs.setdefault("endpoint", _env("PII_GEMINI_ENDPOINT"))
    if kwargs.get("credentials") is None:
        token = _env("PII_GEMINI_ACCESS_TOKEN")
        if token:
            kwargs["credentials"] = static_token_credentials(token)
    return VertexBackend(**kwargs)


def make_backend(name: str | None = None, **kwargs: Any) -> Backend:
    """Build the backend called ``name`` (default: ``PII_GEMINI_BACKEND`` or ``"fake"``).

    Keyword arguments go to the backend's constructor (``api_key=``, ``project=``,
    ``progression=`` for the fake, ...); anything not given is read from the environment.

    Example::

        backend = make_backend()                 # fake, offline
        backend = make_backend("vertex", project="my-project", staging_uri="gs://b/p")
    """
    chosen = backend_name(name)
    if chosen == "fake":
        from .backends.fake import FakeBackend

        return FakeBackend(**kwargs)
    if chosen == "gemini":
        return _gemini(dict(kwargs))
    if chosen == "local":  # torch & co. are imported only when it tunes or generates
        from .backends.local import LocalBackend

        return LocalBackend(**kwargs)
    return _vertex(dict(kwargs))
