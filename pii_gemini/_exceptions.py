"""The one exception tree of pii_gemini.

Every error the library raises on purpose derives from ``PiiGeminiError``:

* PiiGeminiError
  x ConfigError                 - a bad argument or a missing credential/setting
  x DatasetError                - input data that is missing, malformed or of an unknown schema
    - VaultMismatchError        - a vault that is not the one a masked file was masked with
  x StorageError                - a file could not be read or written (a full disk, no
                                  permission, not a folder); also an OSError. What is written
                                  is kept: fix it and run again to resume
  x TuningError                 - a tuning job that failed, was cancelled or did not finish in time
    - TuningJobFailed
    - TuningJobCancelled
    - TuningTimeout
  x BackendError                - the service (real or fake) answered with an error
    - BackendUnavailableError   - the SDK for a backend is not installed
    - InvalidRequestError       - 400: the request itself is wrong; never retried
    - PermissionDeniedError     - 401/403: credentials or access; never retried
    - NotFoundError             - 404: unknown model, job or operation; never retried
    - AlreadyExistsError        - 409: e.g. a duplicate tuned-model id; never retried
    - QuotaExhaustedError       - 429 for a quota that will not refill within the run
                                  (e.g. requests per day); never retried: stop and resume later
    - CircuitOpenError          - a run stopped by its circuit breaker after sustained
                                  failures (an outage): what is done is kept; resume later
    - TransientBackendError     - 408/429/5xx: worth retrying
      · RateLimitError          - 429: quota exhausted, may carry ``retry_after``

Messages never contain raw PII or API keys: backends build them from status codes and
server messages, and the key is scrubbed (see ``pii_gemini._redact``).
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "BackendError",
    "BackendUnavailableError",
    "CircuitOpenError",
    "ConfigError",
    "DatasetError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "PiiGeminiError",
    "QuotaExhaustedError",
    "RateLimitError",
    "StorageError",
    "TransientBackendError",
    "TuningError",
    "TuningJobCancelled",
    "TuningJobFailed",
    "TuningTimeout",
    "VaultMismatchError",
]


class PiiGeminiError(Exception):
    """Root of every error raised by pii_gemini."""


class ConfigError(PiiGeminiError):
    """A bad argument, option or missing credential."""


class DatasetError(PiiGeminiError):
    """Input data is missing, malformed or of an unknown schema.

    ``column`` and ``row`` name the offending place when known.
    """

    def __init__(self, message: str, *, column: str | None = None, row: int | None = None) -> None:
        super().__init__(message)
        self.column = column
        self.row = row


class VaultMismatchError(DatasetError):
    """A vault other than the one a masked file (or text) was masked with.

    Tokens are numbered per vault, so another vault would fill them with other people's
    values: ``unmask`` (and resuming a masking run) refuses it. The message names the files
    and the vault ids, never a value.
    """


class StorageError(PiiGeminiError, OSError):
    """A file could not be read or written; ``filename`` and ``errno`` say which and why.

    Also an ``OSError``, so code that caught the OS error before still catches it. The
    message names the path and the OS's reason, never the data being written.
    """

    def __init__(self, message: str, *, path: str, error: OSError) -> None:
        super().__init__(message)
        self.filename = path
        self.errno = error.errno
        self.strerror = error.strerror

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[object, ...]:
        error = OSError(self.errno, self.strerror)
        return _storage_error, (str(self), self.filename, error)


def _storage_error(message: str, path: str, error: OSError) -> StorageError:
    return StorageError(message, path=path, error=error)


class TuningError(PiiGeminiError):
    """A tuning job did not produce a usable model."""

    def __init__(self, message: str, *, job_name: str | None = None) -> None:
        super().__init__(message)
        self.job_name = job_name


class TuningJobFailed(TuningError):
    """The service reported the tuning job as failed."""


class TuningJobCancelled(TuningError):
    """The tuning job was cancelled before it finished."""


class TuningTimeout(TuningError):
    """The tuning job did not finish within the caller's timeout."""


class BackendError(PiiGeminiError):
    """The service answered with an error.

    ``code`` is the HTTP status (or the closest equivalent), ``status`` the canonical
    Google status name such as ``"RESOURCE_EXHAUSTED"``.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.retry_after = retry_after


class BackendUnavailableError(BackendError):
    """The optional SDK a backend needs is not installed."""


class InvalidRequestError(BackendError):
    """The request was rejected as invalid (HTTP 400)."""


class PermissionDeniedError(BackendError):
    """Authentication or authorisation failed (HTTP 401/403)."""


class NotFoundError(BackendError):
    """The model, job or operation does not exist (HTTP 404)."""


class AlreadyExistsError(BackendError):
    """The resource already exists, e.g. a tuned-model id in use (HTTP 409)."""


class QuotaExhaustedError(BackendError):
    """A quota that will not refill within the run, such as requests per day (HTTP 429).

    Never retried: a run that meets it stops at once, keeps what is done and can be resumed
    once the quota resets. ``quota`` names the quota as the service does (its id or metric,
    e.g. ``"GenerateRequestsPerDayPerProjectPerModel"``) when known; it never holds input.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = 429,
        status: str | None = "RESOURCE_EXHAUSTED",
        retry_after: float | None = None,
        quota: str | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status, retry_after=retry_after)
        self.quota = quota


class CircuitOpenError(BackendError):
    """A masking run stopped itself after sustained backend failures (circuit breaker).

    Raised instead of sending every remaining row into an outage: the rows done are kept
    and a resumed run retries the failed ones. ``code`` is the last error's HTTP status.
    """


class TransientBackendError(BackendError):
    """A temporary failure (HTTP 408, 429, 500, 502, 503, 504) that is worth retrying."""

    retryable = True


class RateLimitError(TransientBackendError):
    """Quota or rate limit exhausted (HTTP 429)."""


#: HTTP status -> canonical Google status name, for errors that only carry a code.
STATUS_FOR_HTTP: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_BY_CODE: dict[int, type[BackendError]] = {
    400: InvalidRequestError,
    401: PermissionDeniedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: AlreadyExistsError,
    408: TransientBackendError,
    429: RateLimitError,
    500: TransientBackendError,
    502: TransientBackendError,
    503: TransientBackendError,
    504: TransientBackendError,
}


def error_for_code(
    code: int,
    message: str,
    *,
    status: str | None = None,
    retry_after: float | None = None,
) -> BackendError:
    """Build the library exception that matches an HTTP status code.

    Unknown 5xx codes are transient; other unknown codes are plain ``BackendError``.
    """
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = TransientBackendError if code >= 500 else BackendError
    return cls(message, code=code, status=status, retry_after=retry_after)
