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

Beside this module: ``_gemini_errors`` (SDK/transport errors -> library errors) and
``_gemini_convert`` (SDK objects -> library types).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

from .._contract import contract_from_description, spec_description, spec_model_id
from .._exceptions import (
    BackendUnavailableError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from .._redact import mask_secret, register_secret
from .._types import (
    Generation,
    GenerationConfig,
    JobState,
    TunedModelInfo,
    TuningJobInfo,
    TuningSpec,
)
from ._catalogue import GEMINI_TUNING_WITHDRAWN, era_catalogue, resolve_era
from ._endpoint import check_endpoint
from ._gemini_convert import enum_name, generation_config, job_info, model_info, model_name
from ._gemini_errors import (
    map_gemini_exceptions,
    parse_retry_delay,
    translate_gemini_exception,
)
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

_TUNED_403 = (
    "{name} does not exist or belongs to another project: the Gemini API answers 403 "
    "PERMISSION_DENIED for both (a missing tuned model is not a 404)"
)

_INSTALL_HINT = "pip install 'google-generativeai>=0.8.3'"


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


def _client_manager(endpoint: str | None, credentials: Any, api_key: str | None) -> Any:
    """A private SDK client manager: no global ``genai.configure`` state is touched."""
    from google.generativeai import client as client_lib

    options: dict[str, Any] = {}
    if endpoint:
        options["api_endpoint"] = endpoint
    manager = client_lib._ClientManager()
    if credentials is not None:
        options["api_key"] = None
        manager.configure(credentials=credentials, transport="rest", client_options=options)
        # configure() reads GOOGLE_API_KEY from the environment even with credentials;
        # the two are mutually exclusive, so drop the key.
        manager.client_config["client_options"].api_key = None
    else:
        manager.configure(api_key=api_key, transport="rest", client_options=options)
    return manager


@contextlib.contextmanager
def _tuned_model_403(name: str) -> Iterator[None]:
    """Say what a 403 on a tuned model means: missing, or another project's."""
    try:
        yield
    except PermissionDeniedError as exc:
        if not name.startswith("tunedModels/") or exc.code != 403:
            raise
        raise PermissionDeniedError(
            f"{_TUNED_403.format(name=name)} ({exc})",
            code=exc.code,
            status=exc.status,
        ) from None


# -- the backend -----------------------------------------------------------------------------


class GeminiBackend(Backend):
    """Backend over the Gemini API with google-generativeai (REST).

    Credentials: ``api_key`` (else ``GEMINI_API_KEY``/``GOOGLE_API_KEY``), or OAuth/ADC
    ``credentials`` with the tuning scope (``TUNING_SCOPES``). ``endpoint`` points at another
    server, e.g. the local emulator (``http://127.0.0.1:PORT``; include the scheme).
    ``timeout`` bounds every HTTP call in seconds. ``era`` (default ``PII_GEMINI_ERA``, else
    today's) is the dated catalogue base models are checked against before tuning.

    Example::

        backend = GeminiBackend(api_key=os.environ["GOOGLE_API_KEY"])
        answer = backend.generate("tunedModels/my-model", "Mask: ...")
    """

    name: ClassVar[str] = "gemini"
    no_default_source_model: ClassVar[str] = GEMINI_TUNING_WITHDRAWN + (
        " (Name a base model - CLI --source-model, Python Tuner.tune(source_model=...) - "
        "only to tune against a server that still offers it, such as the local emulator's "
        "2024 era.)"
    )

    def __init__(
        self,
        api_key: str | None = None,
        *,
        credentials: Any = None,
        endpoint: str | None = None,
        timeout: float = 60.0,
        safety_settings: Any = None,
        page_size: int = 50,
        era: str | None = None,
    ) -> None:
        if api_key is not None and credentials is not None:
            raise ConfigError("pass either api_key or credentials, not both")
        if not timeout or timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, got {timeout!r}")
        if not 1 <= page_size <= 1000:
            raise ConfigError(f"page_size must be in [1, 1000], got {page_size}")
        self.era = resolve_era(era)
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
            self._manager = _client_manager(self.endpoint, self._credentials, self._api_key)

    def __repr__(self) -> str:
        where = self.endpoint or "generativelanguage.googleapis.com"
        auth = "credentials" if self._credentials is not None else "api_key"
        secret = mask_secret(self._api_key) if self._api_key else "<oauth>"
        return f"GeminiBackend(endpoint={where!r}, auth={auth}, key={secret})"

    # -- SDK plumbing -------------------------------------------------------------------
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
    def tunable_models(self) -> tuple[str, ...]:
        """The base models the Gemini API tunes in this backend's era (none today)."""
        return tuple(f"models/{m}" for m in era_catalogue(self.era).gemini_tunes)

    def create_tuning_job(self, spec: TuningSpec) -> TuningJobInfo:
        """Start tuning with ``genai.create_tuned_model``; the job name is the operation.

        The tuned model id carries the request's client token (``find_tuning_job``).
        """
        if spec.validation:
            raise ConfigError(
                "the Gemini API takes no validation dataset: drop validation= or tune on "
                "Vertex AI (backend 'vertex')"
            )
        genai = self._genai
        source: Any = model_name(spec.source_model)
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
                    id=spec_model_id(spec),
                    display_name=spec.display_name,
                    description=spec_description(spec) or None,
                    epoch_count=hp.epoch_count,
                    batch_size=hp.batch_size,
                    learning_rate=hp.learning_rate,
                    client=model_client,
                    request_options=self._options(),
                )
        except (NotFoundError, InvalidRequestError, PermissionDeniedError) as exc:
            if str(model_name(spec.source_model)).startswith("models/"):
                raise type(exc)(
                    f"{exc} (base model {model_name(spec.source_model)}) -- "
                    f"{GEMINI_TUNING_WITHDRAWN}",
                    code=exc.code,
                    status=exc.status,
                    retry_after=exc.retry_after,
                ) from exc.__cause__
            raise
        base = getattr(source, "base_model", None) or str(source)
        with self._lock:
            self._base_models[operation.name] = base
        return self._job_info(operation)

    def find_tuning_job(self, spec: TuningSpec) -> TuningJobInfo | None:
        """The job created for ``spec``: its tuned model id carries the client token.

        A 403 or 404 means there is none (the Gemini API answers 403 for a missing model).
        """
        model_id = spec_model_id(spec)
        if model_id is None:
            return None
        try:
            model = self._get_tuned_model(f"tunedModels/{model_id}")
        except (NotFoundError, PermissionDeniedError):
            return None
        contract = contract_from_description(getattr(model, "description", None))
        if contract is None or contract.token != spec.client_token:
            return None  # that id exists, but another request made it
        return self._job_of_model(model)

    def get_tuning_job(self, name: str) -> TuningJobInfo:
        """Poll a job: an operation name, or a tuned model name (``tunedModels/...``), which
        is resolved to its job, as the fake and local backends do."""
        if "/operations/" not in name:
            return self._job_of_model(self._get_tuned_model(name))
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
                    name=model_name(name), filter_="", retry=None, timeout=self.timeout
                )
                running = [op.name for op in listed if not op.done]
                if not running:
                    return
                name = running[0]
            ops.cancel_operation(name=name, retry=None, timeout=self.timeout)

    def _job_of_model(self, model: Any) -> TuningJobInfo:
        """The job of the tuned ``model``: its create operation (the step counts, snapshots),
        found among the model's operations; else what the model itself tells (state and
        snapshots; the steps only once it has succeeded, from its last snapshot)."""
        from google.generativeai import operations as ops_lib

        ops = self._client("operations")
        with map_gemini_exceptions("list_operations"):
            listed = list(
                ops.list_operations(name=model.name, filter_="", retry=None, timeout=self.timeout)
            )
        if listed:
            operation = ops_lib.CreateTunedModelOperation.from_proto(listed[0], ops)  # type: ignore[no-untyped-call]
            with self._lock:
                self._base_models[operation.name] = getattr(model, "base_model", "") or ""
            return self._job_info(operation)
        info = model_info(model)
        done = info.snapshots[-1].step if info.snapshots and info.state is JobState.SUCCEEDED else 0
        return TuningJobInfo(
            name=info.name,
            model=info.name,
            state=info.state,
            base_model=info.base_model,
            total_steps=done,
            completed_steps=done,
            snapshots=info.snapshots,
        )

    def _job_info(self, operation: Any) -> TuningJobInfo:
        """TuningJobInfo from a CreateTunedModelOperation (cached state, no network)."""
        with self._lock:
            base = self._base_models.get(operation.name, "")
        return job_info(operation, base)

    # -- models ---------------------------------------------------------------------------
    def _get_tuned_model(self, name: str) -> Any:
        name = model_name(name)
        if not name.startswith("tunedModels/"):
            raise ConfigError(f"expected a tuned model name 'tunedModels/...', got {name!r}")
        with _tuned_model_403(name), map_gemini_exceptions("get_tuned_model"):
            return self._genai.get_tuned_model(
                name, client=self._client("model"), request_options=self._options()
            )

    def get_model(self, name: str) -> TunedModelInfo:
        """Describe one tuned model."""
        return model_info(self._get_tuned_model(name))

    def list_models(self) -> list[TunedModelInfo]:
        """Every tuned model visible to the caller (follows page tokens)."""
        with map_gemini_exceptions("list_tuned_models"):
            models = self._genai.list_tuned_models(
                page_size=self.page_size,
                client=self._client("model"),
                request_options=self._options(),
            )
            return [model_info(m) for m in models]

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
        name = model_name(name)
        if not name.startswith("tunedModels/"):
            raise ConfigError(f"expected a tuned model name 'tunedModels/...', got {name!r}")
        with map_gemini_exceptions("update_tuned_model"):
            model = self._genai.update_tuned_model(
                name, updates, client=self._client("model"), request_options=self._options()
            )
        return model_info(model)

    def delete_model(self, name: str) -> None:
        """Delete a tuned model."""
        name = model_name(name)
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
        settings = generation_config(config or GenerationConfig())
        where = f"generate_content with {model_name(model)}"  # a model name is no PII
        with _tuned_model_403(model_name(model)), map_gemini_exceptions(where):
            gm = self._genai.GenerativeModel(
                model_name=model_name(model), safety_settings=self.safety_settings
            )
            # GenerativeModel takes no client argument; give it this backend's client
            # instead of the global one (google-generativeai 0.8.6 is final).
            gm._client = self._client("generative")
            response = gm.generate_content(
                prompt, generation_config=settings, request_options=self._options()
            )
        return generation_from_response(response, enum_name)

    def count_tokens(self, model: str, text: str) -> int:
        """Input tokens of ``text`` for ``model``, from the Gemini API's ``countTokens``."""
        name = model_name(model)
        with _tuned_model_403(name), map_gemini_exceptions("count_tokens"):
            gm = self._genai.GenerativeModel(model_name=name)
            gm._client = self._client("generative")
            answer = gm.count_tokens(text, request_options=self._options())
        return int(getattr(answer, "total_tokens", 0) or 0)

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
