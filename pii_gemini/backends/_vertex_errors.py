"""Error mapping of the Vertex AI backend: google-genai/httpx/auth -> library errors.

google-genai raises ``APIError`` with the HTTP code and Google status; transport timeouts
and failures come from httpx (or httpx2). Each maps to the library's exceptions, with the
server's retry delay when it sends one. Messages never carry the server's text.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from .._exceptions import PermissionDeniedError, PiiGeminiError
from ._errors import api_error, map_errors, translate_common_error

__all__ = ["CREDENTIAL_SOURCES", "map_vertex_exceptions", "translate_vertex_exception"]

#: Where the Vertex backend's credentials come from (``_credentials._vertex``), in the order
#: they are tried: a 401 names them, as a rejected Gemini API key names its variables.
CREDENTIAL_SOURCES = (
    "PII_GEMINI_ACCESS_TOKEN (a fixed access token, used first when set), else Application "
    "Default Credentials ('gcloud auth application-default login' or "
    "GOOGLE_APPLICATION_CREDENTIALS), or the credentials= given to the backend"
)


def _http_error_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """Timeout and transport error classes of httpx and/or httpx2 (google-genai uses either)."""
    import importlib

    timeouts: list[type[BaseException]] = []
    transports: list[type[BaseException]] = []
    for module_name in ("httpx", "httpx2"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        transports.append(module.TransportError)
    return tuple(timeouts), tuple(transports)


def translate_vertex_exception(exc: BaseException, action: str) -> PiiGeminiError | None:
    """The library exception for a google-genai/httpx/auth exception, or None; a 401 (a
    rejected or expired token) names where the credentials come from."""
    mapped = _translate(exc, action)
    if isinstance(mapped, PermissionDeniedError) and mapped.code == 401:
        return PermissionDeniedError(
            f"{mapped}: the credentials were rejected (wrong or expired); check "
            f"{CREDENTIAL_SOURCES}",
            code=mapped.code,
            status=mapped.status,
        )
    return mapped


def _translate(exc: BaseException, action: str) -> PiiGeminiError | None:
    """``translate_vertex_exception`` before the credential advice."""
    from google.genai import errors as genai_errors

    timeouts, transports = _http_error_types()
    where = f"Vertex AI {action}"
    if isinstance(exc, genai_errors.APIError):
        code = int(exc.code) if exc.code else 500
        headers = getattr(getattr(exc, "response", None), "headers", None)
        return api_error(where, code, exc.status or None, exc.details, headers)
    return translate_common_error(
        exc,
        where,
        timeouts=timeouts,
        transports=transports,
        no_credentials=(
            "no Google Cloud credentials: run 'gcloud auth application-default login' or set "
            "GOOGLE_APPLICATION_CREDENTIALS, or pass credentials="
        ),
    )


def map_vertex_exceptions(action: str = "call") -> AbstractContextManager[None]:
    """Re-raise google-genai/httpx/auth errors as pii_gemini exceptions (``from``)."""
    return map_errors(translate_vertex_exception, action)
