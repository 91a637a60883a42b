"""Error mapping of the Vertex AI backend: google-genai/httpx/auth -> library errors.

google-genai raises ``APIError`` with the HTTP code and Google status; transport timeouts
and failures come from httpx (or httpx2). Each maps to the library's exceptions, with the
server's retry delay when it sends one. Messages are redacted (no keys or tokens).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from .._exceptions import PiiGeminiError, error_for_code
from .._redact import redact
from ._errors import map_errors, translate_common_error

__all__ = ["map_vertex_exceptions", "translate_vertex_exception"]


def _retry_delay(details: Any) -> float | None:
    error = details.get("error") if isinstance(details, dict) else None
    items = error.get("details") if isinstance(error, dict) else None
    for item in items or ():
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            raw = item.get("retryDelay")
            if isinstance(raw, str) and raw.endswith("s"):
                try:
                    return max(0.0, float(raw[:-1]))
                except ValueError:
                    return None
    return None


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
    """The library exception for a google-genai/httpx/auth exception, or None."""
    from google.genai import errors as genai_errors

    timeouts, transports = _http_error_types()
    where = f"Vertex AI {action}"
    if isinstance(exc, genai_errors.APIError):
        code = int(exc.code) if exc.code else 500
        status = exc.status or None
        message = f"{where} failed: {code} {status}: {redact(exc.message)}"
        return error_for_code(code, message, status=status, retry_after=_retry_delay(exc.details))
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
