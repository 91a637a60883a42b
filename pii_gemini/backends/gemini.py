"""GeminiBackend: the Gemini API through google-generativeai (REST transport).

The SDK is imported when a backend is built, never at package import. Each backend keeps
its own SDK client set (a private ``_ClientManager``) instead of the global
``genai.configure`` state, so several backends with different keys or endpoints can run
side by side in threads. Every call passes ``request_options={"retry": None, "timeout": t}``
so the SDK never retries (its default retries 503 for up to 600 s): the single retry layer
is ``pii_gemini._retry``, used by Tuner and Masker.

Tuning through the Gemini API was withdrawn by Google: since the deprecation of Gemini 1.5
Flash-001 in May 2025 no base model can be tuned there, and google-generativeai reached end
of support on 2025-11-30. This backend still speaks the full tuning API (it is what the
seed project used, and it is what the local emulator serves), but real tuning goes through
``VertexBackend``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
import warnings
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from .._exceptions import (
    STATUS_FOR_HTTP,
    AlreadyExistsError,
    BackendError,
    BackendUnavailableError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PiiGeminiError,
    RateLimitError,
    TransientBackendError,
    error_for_code,
)
from .._redact import mask_secret, redact, register_secret
from .._types import (
    Generation,
    GenerationConfig,
    Hyperparameters,
    JobState,
    LossSnapshot,
    TunedModelInfo,
    TuningJobInfo,
    TuningSpec,
)
from ._endpoint import check_endpoint
from ._errors import map_errors, translate_common_error
from ._response import generation_from_response
from .base import Backend

__all__ = [
    "GEMINI_TUNING_WITHDRAWN",
    "TUNING_SCOPES",
    "GeminiBackend",
    "map_gemini_exceptions",
    "parse_retry_delay",
    "translate_gemini_exception",
]

logger = logging.getLogger(__name__)

#: OAuth scopes for Gemini API tuning with user or service-account credentials.
TUNING_SCOPES: tuple[str, ...] = (
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/generative-language.tuning",
)

GEMINI_TUNING_WITHDRAWN = (
    "Gemini API tuning was withdrawn by Google: since May 2025 no base model can be tuned "
    "through the Gemini API (AI Studio). Tune on Vertex AI instead: backend 'vertex' "
    "(pip install 'pii-gemini[vertex]'), see docs/backends.md."
)

_INSTALL_HINT = "pip install 'google-generativeai>=0.8.3'"
_RPC_CANCELLED = 1
_STATE_NAMES = {0: "STATE_UNSPECIFIED", 1: "CREATING", 2: "ACTIVE", 3: "FAILED"}


def _import_genai() -> Any:
    """Import google.generativeai, or explain how to install it."""
    try:
        with warnings.catch_warnings():
            # The package warns on import that its support has ended (docs/backends.md
            # says so), and google.api_core about the Python version's end of life.
            warnings.simplefilter("ignore", FutureWarning)
            import google.generativeai as genai
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the 'gemini' backend needs google-generativeai: {_INSTALL_HINT}"
        ) from exc
    return genai


# -- error mapping ---------------------------------------------------------------------------


def parse_retry_delay(details: Any) -> float | None:
    """Seconds from a google.rpc.RetryInfo in error ``details`` (REST dicts or protos)."""
    for detail in details or ():
        if isinstance(detail, dict):
            if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
                raw = detail.get("retryDelay")
                if isinstance(raw, str) and raw.endswith("s"):
                    try:
                        return max(0.0, float(raw[:-1]))
                    except ValueError:
                        return None
                if isinstance(raw, dict):  # {"seconds": .., "nanos": ..}
                    return float(raw.get("seconds", 0)) + float(raw.get("nanos", 0)) / 1e9
        elif type(detail).__name__ == "RetryInfo":
            delay = getattr(detail, "retry_delay", None)
            if delay is not None:
                return float(delay.seconds) + float(delay.nanos) / 1e9
    return None


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
            f"{where} gave up after SDK retries: {redact(exc.message)}",
            code=code,
            status=STATUS_FOR_HTTP.get(code),
        )
    if isinstance(exc, gexc.GoogleAPICallError):
        http_code: int | None = exc.code if isinstance(exc.code, int) else None
        status = _status_of(exc, http_code)
        message = f"{where} failed: {http_code} {status}: {redact(exc.message)}"
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
        retry_after = parse_retry_delay(getattr(exc, "details", None))
        for sdk_cls, lib_cls in table:
            if isinstance(exc, sdk_cls):
                return lib_cls(message, code=http_code, status=status, retry_after=retry_after)
        return error_for_code(http_code or 500, message, status=status, retry_after=retry_after)
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


# -- conversions -----------------------------------------------------------------------------


def _enum_name(value: Any) -> str | None:
    """Name of a proto-plus enum value, None for 0/unspecified."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return str(value) or None
    if number == 0:
        return None
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else str(number)


def _as_datetime(value: Any) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    return None


def _snapshot_from_proto(snap: Any) -> LossSnapshot:
    return LossSnapshot(
        step=int(snap.step),
        epoch=int(snap.epoch),
        mean_loss=float(snap.mean_loss),
        compute_time=_as_datetime(getattr(snap, "compute_time", None)),
    )


def _snapshot_from_dict(snap: dict[str, Any]) -> LossSnapshot:
    # google-generativeai decodes tuning_task.snapshots into plain dicts, dropping zeros.
    return LossSnapshot(
        step=int(snap.get("step", 0)),
        epoch=int(snap.get("epoch", 0)),
        mean_loss=float(snap.get("mean_loss", 0.0)),
        compute_time=_as_datetime(snap.get("compute_time")),
    )


def _model_state(model: Any) -> JobState:
    raw = getattr(model, "state", 0)
    name = getattr(raw, "name", None) or _STATE_NAMES.get(int(raw), "STATE_UNSPECIFIED")
    if name == "ACTIVE":
        return JobState.SUCCEEDED
    if name == "FAILED":
        return JobState.FAILED
    return JobState.RUNNING


def _model_info(model: Any) -> TunedModelInfo:
    """google.generativeai TunedModel dataclass -> TunedModelInfo."""
    task = getattr(model, "tuning_task", None)
    hyper = None
    snapshots: tuple[LossSnapshot, ...] = ()
    if task is not None:
        hp = getattr(task, "hyperparameters", None)
        if hp is not None and hp.epoch_count and hp.batch_size and hp.learning_rate:
            try:
                hyper = Hyperparameters(
                    epoch_count=int(hp.epoch_count),
                    batch_size=int(hp.batch_size),
                    learning_rate=float(hp.learning_rate),
                )
            except ConfigError:
                hyper = None
        snapshots = tuple(
            _snapshot_from_dict(s) if isinstance(s, dict) else _snapshot_from_proto(s)
            for s in (task.snapshots or ())
        )
    return TunedModelInfo(
        name=model.name or "",
        state=_model_state(model),
        base_model=model.base_model or "",
        display_name=model.display_name or "",
        description=model.description or "",
        hyperparameters=hyper,
        snapshots=snapshots,
        create_time=_as_datetime(model.create_time),
        update_time=_as_datetime(model.update_time),
    )


def _model_name(name: str) -> str:
    return name if "/" in name else f"models/{name}"


# -- the backend -----------------------------------------------------------------------------


class GeminiBackend(Backend):
    """Backend over the Gemini API with google-generativeai (REST).

    Credentials: ``api_key`` (else ``GEMINI_API_KEY``/``GOOGLE_API_KEY``), or OAuth/ADC
    ``credentials`` with the tuning scope (``TUNING_SCOPES``). ``endpoint`` points at another
    server, e.g. the local emulator (``http://127.0.0.1:PORT``; include the scheme).
    ``timeout`` bounds every HTTP call in seconds.

    Example::

        backend = GeminiBackend(api_key=os.environ["GOOGLE_API_KEY"])
        answer = backend.generate("tunedModels/my-model", "Mask: ...")
    """

    name: ClassVar[str] = "gemini"

    def __init__(
        self,
        api_key: str | None = None,
        *,
        credentials: Any = None,
        endpoint: str | None = None,
        timeout: float = 60.0,
        safety_settings: Any = None,
        page_size: int = 50,
    ) -> None:
        if api_key is not None and credentials is not None:
            raise ConfigError("pass either api_key or credentials, not both")
        if not timeout or timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, got {timeout!r}")
        if not 1 <= page_size <= 1000:
            raise ConfigError(f"page_size must be in [1, 1000], got {page_size}")
        self._genai = _import_genai()
        if credentials is None and not api_key:
            import os

            api_key = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
            if not api_key:
                raise ConfigError(
                    "no Gemini API key: set GOOGLE_API_KEY (or GEMINI_API_KEY), or pass "
                    "api_key= or credentials="
                )
        register_secret(api_key)
        self._api_key = api_key
        check_endpoint(endpoint)
        self._credentials = credentials
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self.safety_settings = safety_settings
        self.page_size = page_size
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._base_models: dict[str, str] = {}  # operation name -> base model
        with map_gemini_exceptions("configuration"):
            self._manager = self._make_manager()

    def __repr__(self) -> str:
        where = self.endpoint or "generativelanguage.googleapis.com"
        auth = "credentials" if self._credentials is not None else "api_key"
        secret = mask_secret(self._api_key) if self._api_key else "<oauth>"
        return f"GeminiBackend(endpoint={where!r}, auth={auth}, key={secret})"

    # -- SDK plumbing -------------------------------------------------------------------
    def _make_manager(self) -> Any:
        """A private SDK client manager: no global ``genai.configure`` state is touched."""
        from google.generativeai import client as client_lib

        options: dict[str, Any] = {}
        if self.endpoint:
            options["api_endpoint"] = self.endpoint
        manager = client_lib._ClientManager()
        if self._credentials is not None:
            options["api_key"] = None
            manager.configure(
                credentials=self._credentials, transport="rest", client_options=options
            )
            # configure() reads GOOGLE_API_KEY from the environment even with credentials;
            # the two are mutually exclusive, so drop the key.
            manager.client_config["client_options"].api_key = None
        else:
            manager.configure(api_key=self._api_key, transport="rest", client_options=options)
        return manager

    def _client(self, kind: str) -> Any:
        with self._lock:
            client = self._clients.get(kind)
            if client is None:
                client = self._manager.get_default_client(kind)
                self._clients[kind] = client
            return client

    def _options(self) -> dict[str, Any]:
        return {"retry": None, "timeout": self.timeout}

    # -- tuning ---------------------------------------------------------------------------
    def create_tuning_job(self, spec: TuningSpec) -> TuningJobInfo:
        """Start tuning with ``genai.create_tuned_model``; the job name is the operation."""
        genai = self._genai
        source: Any = _model_name(spec.source_model)
        hp = spec.hyperparameters
        data = [{"text_input": ex.text_input, "output": ex.output} for ex in spec.examples]
        model_client = self._client("model")
        try:
            with map_gemini_exceptions("create_tuned_model"):
                if str(source).startswith("tunedModels/"):
                    # The SDK would look the source up with the global client; do it here.
                    source = genai.get_tuned_model(
                        source, client=model_client, request_options=self._options()
                    )
                operation = genai.create_tuned_model(
                    source,
                    data,
                    id=spec.model_id,
                    display_name=spec.display_name,
                    description=spec.description,
                    epoch_count=hp.epoch_count,
                    batch_size=hp.batch_size,
                    learning_rate=hp.learning_rate,
                    client=model_client,
                    request_options=self._options(),
                )
        except (NotFoundError, InvalidRequestError, PermissionDeniedError) as exc:
            if str(_model_name(spec.source_model)).startswith("models/"):
                raise type(exc)(
                    f"{exc} -- {GEMINI_TUNING_WITHDRAWN}",
                    code=exc.code,
                    status=exc.status,
                    retry_after=exc.retry_after,
                ) from exc.__cause__
            raise
        base = getattr(source, "base_model", None) or str(source)
        with self._lock:
            self._base_models[operation.name] = base
        return self._job_info(operation)

    def get_tuning_job(self, name: str) -> TuningJobInfo:
        """Poll a job: an operation name, or a tuned model name (``tunedModels/...``)."""
        if "/operations/" not in name:
            model = self._get_tuned_model(name)
            info = _model_info(model)
            return TuningJobInfo(
                name=name,
                model=info.name,
                state=info.state,
                base_model=info.base_model,
                total_steps=0,
                completed_steps=0,
                snapshots=info.snapshots,
            )
        from google.generativeai import operations as ops_lib

        ops = self._client("operations")
        with map_gemini_exceptions("get_operation"):
            proto = ops.get_operation(name=name, retry=None, timeout=self.timeout)
            operation = ops_lib.CreateTunedModelOperation.from_proto(proto, ops)  # type: ignore[no-untyped-call]
        return self._job_info(operation)

    def cancel_tuning_job(self, name: str) -> None:
        """Cancel a running job (operation name, or the tuned model it creates)."""
        ops = self._client("operations")
        with map_gemini_exceptions("cancel_operation"):
            if "/operations/" not in name:
                listed = ops.list_operations(
                    name=_model_name(name), filter_="", retry=None, timeout=self.timeout
                )
                running = [op.name for op in listed if not op.done]
                if not running:
                    return
                name = running[0]
            ops.cancel_operation(name=name, retry=None, timeout=self.timeout)

    def _job_info(self, operation: Any) -> TuningJobInfo:
        """TuningJobInfo from a CreateTunedModelOperation (cached state, no network)."""
        meta = operation.metadata
        proto = operation.operation
        total = int(meta.total_steps) if meta is not None else 0
        completed = int(meta.completed_steps) if meta is not None else 0
        snapshots = tuple(_snapshot_from_proto(s) for s in meta.snapshots) if meta else ()
        model = meta.tuned_model if meta is not None else operation.name.split("/operations/")[0]
        error: str | None = None
        if not proto.done:
            state = JobState.RUNNING
        elif proto.HasField("error"):
            error = redact(proto.error.message) or f"rpc code {proto.error.code}"
            state = JobState.CANCELLED if proto.error.code == _RPC_CANCELLED else JobState.FAILED
        else:
            state = JobState.SUCCEEDED
            completed = max(completed, total)
        with self._lock:
            base = self._base_models.get(operation.name, "")
        if not base and proto.done and not proto.HasField("error"):
            try:
                base = operation.result(timeout=0).base_model or ""
            except Exception:  # the response may be missing or undecodable
                base = ""
        return TuningJobInfo(
            name=operation.name,
            model=model,
            state=state,
            base_model=base,
            total_steps=total,
            completed_steps=completed,
            snapshots=snapshots,
            error=error,
        )

    # -- models ---------------------------------------------------------------------------
    def _get_tuned_model(self, name: str) -> Any:
        name = _model_name(name)
        if not name.startswith("tunedModels/"):
            raise ConfigError(f"expected a tuned model name 'tunedModels/...', got {name!r}")
        with map_gemini_exceptions("get_tuned_model"):
            return self._genai.get_tuned_model(
                name, client=self._client("model"), request_options=self._options()
            )

    def get_model(self, name: str) -> TunedModelInfo:
        """Describe one tuned model."""
        return _model_info(self._get_tuned_model(name))

    def list_models(self) -> list[TunedModelInfo]:
        """Every tuned model visible to the caller (follows page tokens)."""
        with map_gemini_exceptions("list_tuned_models"):
            models = self._genai.list_tuned_models(
                page_size=self.page_size,
                client=self._client("model"),
                request_options=self._options(),
            )
            return [_model_info(m) for m in models]

    def update_model(
        self,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
    ) -> TunedModelInfo:
        """Change a tuned model's description, display name or default sampling."""
        updates = {
            key: value
            for key, value in (
                ("display_name", display_name),
                ("description", description),
                ("temperature", temperature),
                ("top_p", top_p),
                ("top_k", top_k),
            )
            if value is not None
        }
        if not updates:
            raise ConfigError("update_model needs at least one field to change")
        name = _model_name(name)
        if not name.startswith("tunedModels/"):
            raise ConfigError(f"expected a tuned model name 'tunedModels/...', got {name!r}")
        with map_gemini_exceptions("update_tuned_model"):
            model = self._genai.update_tuned_model(
                name, updates, client=self._client("model"), request_options=self._options()
            )
        return _model_info(model)

    def delete_model(self, name: str) -> None:
        """Delete a tuned model."""
        name = _model_name(name)
        if not name.startswith("tunedModels/"):
            raise ConfigError(f"expected a tuned model name 'tunedModels/...', got {name!r}")
        with map_gemini_exceptions("delete_tuned_model"):
            self._genai.delete_tuned_model(
                name, client=self._client("model"), request_options=self._options()
            )

    # -- generation -----------------------------------------------------------------------
    def generate(
        self, model: str, prompt: str, config: GenerationConfig | None = None
    ) -> Generation:
        """Answer one prompt; blocked prompts and SAFETY stops come back as a Generation."""
        config = config or GenerationConfig()
        generation_config = {
            key: value
            for key, value in (
                ("temperature", config.temperature),
                ("top_p", config.top_p),
                ("top_k", config.top_k),
                ("max_output_tokens", config.max_output_tokens),
            )
            if value is not None
        }
        with map_gemini_exceptions("generate_content"):
            gm = self._genai.GenerativeModel(
                model_name=_model_name(model), safety_settings=self.safety_settings
            )
            # GenerativeModel takes no client argument; give it this backend's client
            # instead of the global one (google-generativeai 0.8.6 is final).
            gm._client = self._client("generative")
            response = gm.generate_content(
                prompt, generation_config=generation_config, request_options=self._options()
            )
        return generation_from_response(response, _enum_name)

    def close(self) -> None:
        """Drop the SDK clients (their HTTP sessions are closed with them)."""
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            transport = getattr(client, "_transport", None)
            close = getattr(transport, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # closing is best effort
                    logger.debug("closing an SDK transport failed", exc_info=True)
