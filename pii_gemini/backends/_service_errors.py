"""The fake service's error answers: ``ServiceError`` with the real API's codes and statuses.

``FakeBackend`` maps them to library exceptions and ``pii_gemini.testing`` serves them as
``{"error": {code, message, status}}`` JSON, so both wires fail the same way.
"""

from __future__ import annotations

__all__ = ["ServiceError", "fault_error", "invalid", "not_found", "precondition"]

_STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_DEFAULT_FAULT_MESSAGE = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred.",
    503: "The service is currently unavailable.",
    504: "Deadline exceeded.",
}


class ServiceError(Exception):
    """An error answer of the fake service: HTTP ``code`` and Google ``status`` name."""

    def __init__(
        self, code: int, status: str, message: str, *, retry_delay: float | None = None
    ) -> None:
        super().__init__(f"{code} {status}: {message}")
        self.code = code
        self.status = status
        self.message = message
        self.retry_delay = retry_delay


def invalid(message: str) -> ServiceError:
    """400 INVALID_ARGUMENT: the request itself is wrong."""
    return ServiceError(400, "INVALID_ARGUMENT", message)


def precondition(message: str) -> ServiceError:
    """400 FAILED_PRECONDITION: the request is fine but the resource is in the wrong state."""
    return ServiceError(400, "FAILED_PRECONDITION", message)


def not_found(name: str) -> ServiceError:
    """404 NOT_FOUND for the resource ``name``."""
    return ServiceError(404, "NOT_FOUND", f"{name} is not found.")


def fault_error(code: int, message: str | None, retry_delay: float | None) -> ServiceError:
    """The error an injected fault raises: the code's status and the API's usual message."""
    status = _STATUS_BY_CODE.get(code, "INTERNAL" if code >= 500 else "UNKNOWN")
    text = message or _DEFAULT_FAULT_MESSAGE.get(code, f"Injected error {code}.")
    return ServiceError(code, status, text, retry_delay=retry_delay)
