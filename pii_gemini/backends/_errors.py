"""Error translation both SDK backends share: transport, client-side and google-auth errors.

Each backend first maps its SDK's API errors (by HTTP code); what is left - timeouts,
connection failures, client-side ``ValueError`` validation and credential problems - looks
the same for google-generativeai and google-genai and is mapped here. Messages pass through
``redact`` so no key or token can leak.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from .._exceptions import (
    ConfigError,
    PermissionDeniedError,
    PiiGeminiError,
    TransientBackendError,
)
from .._redact import redact

__all__ = ["map_errors", "translate_common_error"]

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
        raise mapped from exc


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
