"""Error mapping of the Gemini API backend: google-api-core/requests/auth -> library errors.

REST answers raise google-api-core's HTTP-named classes, gRPC its subclasses; both map to
the library's exceptions with the HTTP code, Google status and server retry delay, most
specific first. Messages are redacted (no keys or tokens).
"""

from __future__ import annotations

import warnings
from contextlib import AbstractContextManager
from typing import Any

from .._exceptions import (
    STATUS_FOR_HTTP,
    AlreadyExistsError,
    BackendError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PiiGeminiError,
    QuotaExhaustedError,
    RateLimitError,
    TransientBackendError,
)
from ._errors import api_error, map_errors, retry_delay, translate_common_error

__all__ = ["map_gemini_exceptions", "parse_retry_delay", "translate_gemini_exception"]


def parse_retry_delay(details: Any) -> float | None:
    """Seconds from a google.rpc.RetryInfo in error ``details`` (REST dicts or protos)."""
    return retry_delay(details)


def _status_of(exc: Any, code: int | None) -> str | None:
    grpc_code = getattr(exc, "grpc_status_code", None)
    name = getattr(grpc_code, "name", None)
    if isinstance(name, str):
        return name
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            status = response.json().get("error", {}).get("status")
        except Exception:  # not JSON, or not a requests.Response
            status = None
        if isinstance(status, str) and status:
            return status
    return STATUS_FOR_HTTP.get(code) if code is not None else None


def translate_gemini_exception(exc: BaseException, action: str) -> PiiGeminiError | None:
    """The library exception for an SDK/transport exception, or None if it is not one.

    Most specific classes first: REST answers raise the HTTP-named base classes
    (``Forbidden``, ``TooManyRequests``), gRPC the subclasses (``PermissionDenied``,
    ``ResourceExhausted``); catching the base classes covers both.
    """

    with warnings.catch_warnings():
        # google.api_core warns on import about the Python version's end of life.
        warnings.simplefilter("ignore", FutureWarning)
        from google.api_core import exceptions as gexc

    where = f"Gemini API {action}"
    if isinstance(exc, gexc.RetryError):
        cause = exc.cause
        inner = getattr(cause, "code", None)
        code = inner if isinstance(inner, int) and inner >= 500 else 504
        return TransientBackendError(
            f"{where} gave up after SDK retries ({type(cause).__name__}, {code})",
            code=code,
            status=STATUS_FOR_HTTP.get(code),
        )
    if isinstance(exc, gexc.GoogleAPICallError):
        http_code: int = exc.code if isinstance(exc.code, int) else 500
        status = _status_of(exc, http_code)
        headers = getattr(getattr(exc, "response", None), "headers", None)
        error = api_error(where, http_code, status, getattr(exc, "details", None), headers)
        if isinstance(error, (QuotaExhaustedError, PermissionDeniedError)):
            return error  # decided by the details (a daily quota, a rejected key), not the class
        table: tuple[tuple[type[BaseException], type[BackendError]], ...] = (
            (gexc.Unauthorized, PermissionDeniedError),
            (gexc.Forbidden, PermissionDeniedError),
            (gexc.NotFound, NotFoundError),
            (gexc.Aborted, BackendError),
            (gexc.Conflict, AlreadyExistsError),
            (gexc.TooManyRequests, RateLimitError),
            (gexc.BadRequest, InvalidRequestError),
            (gexc.InternalServerError, TransientBackendError),
            (gexc.BadGateway, TransientBackendError),
            (gexc.ServiceUnavailable, TransientBackendError),
            (gexc.GatewayTimeout, TransientBackendError),
        )
        for sdk_cls, lib_cls in table:
            if isinstance(exc, sdk_cls):
                return lib_cls(
                    str(error), code=http_code, status=status, retry_after=error.retry_after
                )
        return error
    return translate_common_error(
        exc,
        where,
        no_credentials=(
            "no Gemini API credentials: set GOOGLE_API_KEY (or GEMINI_API_KEY), or pass "
            "credentials= (OAuth/ADC, see docs/backends.md)"
        ),
    )


def map_gemini_exceptions(action: str = "call") -> AbstractContextManager[None]:
    """Re-raise google-api-core/requests/auth errors as pii_gemini exceptions (``from``)."""
    return map_errors(translate_gemini_exception, action)
