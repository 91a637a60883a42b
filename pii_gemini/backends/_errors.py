"""Error translation both SDK backends share: API errors, transport, malformed answers, auth.

An API error becomes a library error from its HTTP code, Google status, ``ErrorInfo``
reason, ``QuotaFailure`` quota id and retry delay (``RetryInfo``, else HTTP
``Retry-After``) only: **never the server's message**, which can echo the request (and
so the text being masked). A 429 whose quota is per day is a ``QuotaExhaustedError``
(never retried); other 429s back off. A key Google rejects (400 with reason
``API_KEY_INVALID``) is a ``PermissionDeniedError``: no request can pass with it, so a run
stops at once. A 200 whose body cannot be parsed (truncated,
unexpected shape) is transient for that call: retried, then the row fails. The SDK
exception is not chained (its text holds the server's message, the URL, maybe the key).
"""

from __future__ import annotations

import concurrent.futures
import email.utils
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from .._exceptions import (
    STATUS_FOR_HTTP,
    BackendError,
    ConfigError,
    PermissionDeniedError,
    PiiGeminiError,
    QuotaExhaustedError,
    TransientBackendError,
    error_for_code,
)
from .._redact import redact

__all__ = [
    "KEY_VARIABLES",
    "SdkErrorSummary",
    "api_error",
    "map_errors",
    "quota_id",
    "retry_after_header",
    "retry_delay",
    "translate_common_error",
]

#: Quota ids that do not refill within a run (quota-429: "...PerDay...").
_PER_DAY = ("perday", "per_day")

#: ErrorInfo reasons that condemn the credential itself, whatever the HTTP code. Google
#: answers a wrong, deleted or expired API key with 400 INVALID_ARGUMENT and an ErrorInfo
#: ``{"reason": "API_KEY_INVALID", "domain": "googleapis.com"}`` in ``error.details``:
#: google.api.ErrorReason, https://cloud.google.com/dotnet/docs/reference/
#: Google.Api.CommonProtos/2.10.0/Google.Api.ErrorReason, and the Gemini API's
#: troubleshooting guide, https://ai.google.dev/gemini-api/docs/troubleshooting (both read
#: 2026-12-04). As a 400 it would fail each row as a bad request; no row can pass with it.
_CREDENTIAL_REASONS = frozenset({"API_KEY_INVALID"})
#: Where the key comes from (``_credentials``: GEMINI_API_KEY first, as google-generativeai).
KEY_VARIABLES = "GEMINI_API_KEY or GOOGLE_API_KEY (GEMINI_API_KEY is read first)"

logger = logging.getLogger(__name__)

Translator = Callable[[BaseException, str], PiiGeminiError | None]


def map_errors(translate: Translator, action: str) -> AbstractContextManager[None]:
    """Re-raise what ``translate`` maps as a pii_gemini exception (``from`` the original).

    Library exceptions pass through; anything the translator does not know is re-raised
    untouched.
    """
    return _mapped(translate, action)


@contextmanager
def _mapped(translate: Translator, action: str) -> Iterator[None]:
    try:
        yield
    except PiiGeminiError:
        raise
    except Exception as exc:
        mapped = translate(exc, action)
        if mapped is None:
            raise
        logger.debug("%s", mapped)
        # The SDK's text may hold echoed input, URLs and keys: chain only its type.
        raise mapped from SdkErrorSummary(exc)


class SdkErrorSummary(Exception):
    """Stands in for an SDK exception in a chain: its type, none of its text.

    ``sdk_type`` is the SDK's exception class (``google.api_core.exceptions.NotFound``,
    ``google.genai.errors.ClientError``, ...), ``code`` its HTTP code when it has one.
    """

    def __init__(self, exc: BaseException) -> None:
        self.sdk_type: type[BaseException] = type(exc)
        code = getattr(exc, "code", None)
        self.code: int | None = code if isinstance(code, int) else None
        name = f"{self.sdk_type.__module__}.{self.sdk_type.__qualname__}"
        super().__init__(f"{name} (its message is withheld: it may echo the request)")


def _detail_items(details: Any) -> list[Any]:
    """The ``details`` list of an error, from a list, an ``{"error": {...}}`` body or None."""
    if isinstance(details, Mapping):
        error = details.get("error")
        details = error.get("details") if isinstance(error, Mapping) else None
    if isinstance(details, (list, tuple)):
        return list(details)
    return []


def _typed(item: Any, name: str) -> bool:
    if isinstance(item, Mapping):
        return str(item.get("@type", "")).endswith(f"google.rpc.{name}")
    return type(item).__name__ == name


def retry_delay(details: Any) -> float | None:
    """Seconds from a google.rpc.RetryInfo in error ``details`` (JSON dicts or protos)."""
    for item in _detail_items(details):
        if not _typed(item, "RetryInfo"):
            continue
        if isinstance(item, Mapping):
            raw = item.get("retryDelay")
            if isinstance(raw, str) and raw.endswith("s"):
                try:
                    return max(0.0, float(raw[:-1]))
                except ValueError:
                    return None
            if isinstance(raw, Mapping):  # {"seconds": .., "nanos": ..}
                return float(raw.get("seconds", 0)) + float(raw.get("nanos", 0)) / 1e9
        else:
            delay = getattr(item, "retry_delay", None)
            if delay is not None:
                return float(delay.seconds) + float(delay.nanos) / 1e9
    return None


def quota_id(details: Any) -> str | None:
    """The first violated quota's id (or metric) of a google.rpc.QuotaFailure, or None."""
    for item in _detail_items(details):
        if not _typed(item, "QuotaFailure"):
            continue
        violations = (
            item.get("violations")
            if isinstance(item, Mapping)
            else getattr(item, "violations", None)
        )
        for violation in violations or ():
            get = (
                violation.get
                if isinstance(violation, Mapping)
                else (lambda key, v=violation: getattr(v, key, None))
            )
            for key in ("quotaId", "quota_id", "quotaMetric", "quota_metric", "subject"):
                value = get(key)
                if isinstance(value, str) and value:
                    return value
    return None


def _reason(details: Any) -> str | None:
    for item in _detail_items(details):
        if _typed(item, "ErrorInfo"):
            reason = (
                item.get("reason") if isinstance(item, Mapping) else getattr(item, "reason", None)
            )
            if isinstance(reason, str) and reason.isupper():
                return reason
    return None


def retry_after_header(headers: Any) -> float | None:
    """Seconds from an HTTP ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if headers is None:
        return None
    try:
        raw = headers.get("retry-after") or headers.get("Retry-After")
    except Exception:  # not a mapping
        return None
    if not raw:
        return None
    raw = str(raw).strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def api_error(
    where: str, code: int, status: str | None, details: Any, headers: Any = None
) -> BackendError:
    """The library error for an API error answer, from its code and structured details.

    The message names the action, code, status, reason and quota: never the server's text.
    """
    status = status or STATUS_FOR_HTTP.get(code)
    quota = quota_id(details)
    reason = _reason(details)
    delay = retry_delay(details)
    if delay is None:
        delay = retry_after_header(headers)
    message = f"{where} failed: {code} {status}"
    if reason:
        message += f" ({reason})"
    if quota:
        message += f", quota {quota}"
    if reason in _CREDENTIAL_REASONS:
        return PermissionDeniedError(
            f"{message}: the API key was rejected (wrong, deleted or expired); check "
            f"{KEY_VARIABLES}, or the api_key= given to the backend",
            code=code,
            status=status,
        )
    if code == 429 and quota and any(mark in quota.lower() for mark in _PER_DAY):
        return QuotaExhaustedError(
            f"{message}: a per-day quota, it will not refill within this run; resume once "
            "it resets (midnight Pacific time for the Gemini API) or raise the quota",
            code=code,
            status=status,
            retry_after=delay,
            quota=quota,
        )
    return error_for_code(code, message, status=status, retry_after=delay)


def _malformed(exc: BaseException) -> bool:
    """True for an answer that could not be parsed: bad JSON, or JSON of another shape."""
    if isinstance(exc, json.JSONDecodeError):
        return True
    kind = type(exc)
    names = {f"{c.__module__}.{c.__name__}" for c in kind.__mro__}
    return bool(
        names
        & {
            "google.protobuf.json_format.ParseError",
            "pydantic_core._pydantic_core.ValidationError",
            "requests.exceptions.JSONDecodeError",
            "requests.exceptions.ChunkedEncodingError",
            "requests.exceptions.ContentDecodingError",
        }
    )


def translate_common_error(
    exc: BaseException,
    where: str,
    *,
    no_credentials: str,
    timeouts: tuple[type[BaseException], ...] = (),
    transports: tuple[type[BaseException], ...] = (),
) -> PiiGeminiError | None:
    """The library exception for a non-API failure, or None when ``exc`` is not one.

    ``timeouts``/``transports`` add the HTTP client's own classes (httpx for google-genai)
    to requests' ones; ``no_credentials`` is the one-line hint for missing credentials.
    """
    import requests
    from google.auth import exceptions as auth_exc

    if _malformed(exc):
        return TransientBackendError(
            f"{where}: the answer could not be read ({type(exc).__name__}: a truncated or "
            "malformed response); worth retrying",
            code=502,
            status="UNAVAILABLE",
        )
    if isinstance(exc, (*timeouts, requests.exceptions.Timeout, concurrent.futures.TimeoutError)):
        return TransientBackendError(
            f"{where} timed out: {redact(exc)}", code=504, status="DEADLINE_EXCEEDED"
        )
    if isinstance(exc, (*transports, requests.exceptions.ConnectionError)):
        return TransientBackendError(
            f"{where} could not connect: {redact(exc)}", code=503, status="UNAVAILABLE"
        )
    if isinstance(exc, ValueError) and not isinstance(exc, auth_exc.GoogleAuthError):
        # Both SDKs validate names and options client-side with ValueError.
        detail = " ".join(redact(exc).split())
        return ConfigError(f"{where} rejected the request: {detail}")
    if isinstance(exc, auth_exc.DefaultCredentialsError):
        return ConfigError(no_credentials)
    if isinstance(exc, auth_exc.RefreshError):
        return PermissionDeniedError(
            f"{where}: could not refresh credentials: {redact(exc)}",
            code=401,
            status="UNAUTHENTICATED",
        )
    return None
