"""VertexBackend: supervised tuning and generation on Vertex AI through google-genai.

This is the working path for tuning Gemini today (the Gemini API's tuning was withdrawn in
May 2025). google-genai is an optional extra (``pip install 'pii-gemini[vertex]'``) imported
when a backend is built. Training data goes to Cloud Storage as JSONL in Gemini's
``contents`` format, then ``client.tunings.tune`` starts a job that is polled by name
(``projects/.../tuningJobs/...``); the tuned model answers from its endpoint.

The upload uses the Cloud Storage JSON API through google-auth's ``AuthorizedSession``
(google-auth and requests are already installed with the SDKs), so no google-cloud-storage
dependency is needed; pass ``uploader=`` to plug in your own. google-genai does not retry
unless told to, and this backend never tells it to: ``pii_gemini._retry`` is the one retry
layer.

Beside this module: ``_vertex_storage`` (training JSONL, the Cloud Storage upload) and
``_vertex_errors`` (google-genai/httpx/auth errors -> library errors).
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import threading
import uuid
import warnings
from typing import Any, ClassVar

from .._exceptions import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    error_for_code,
)
from .._redact import redact
from .._types import (
    Generation,
    GenerationConfig,
    JobState,
    TunedModelInfo,
    TuningJobInfo,
    TuningSpec,
)
from ._endpoint import check_endpoint
from ._response import generation_from_response
from ._vertex_errors import map_vertex_exceptions, translate_vertex_exception
from ._vertex_storage import (
    CLOUD_PLATFORM_SCOPE,
    GcsUploader,
    Uploader,
    split_gcs_uri,
    training_jsonl,
)
from .base import Backend

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "GcsUploader",
    "Uploader",
    "VertexBackend",
    "map_vertex_exceptions",
    "static_token_credentials",
    "training_jsonl",
    "translate_vertex_exception",
]

logger = logging.getLogger(__name__)

_INSTALL_HINT = "pip install 'pii-gemini[vertex]'  (google-genai)"
_DEFAULT_LOCATION = "us-central1"
_JOB_NAME_HINT = "expected a tuning job name 'projects/.../tuningJobs/...', got {name!r}"
_BASE_LEARNING_RATE = 0.001  # the learning rate a multiplier of 1.0 stands for here

_STATES: dict[str, JobState] = {
    "JOB_STATE_UNSPECIFIED": JobState.PENDING,
    "JOB_STATE_QUEUED": JobState.PENDING,
    "JOB_STATE_PENDING": JobState.PENDING,
    "JOB_STATE_RUNNING": JobState.RUNNING,
    "JOB_STATE_UPDATING": JobState.RUNNING,
    "JOB_STATE_PAUSED": JobState.RUNNING,
    "JOB_STATE_CANCELLING": JobState.RUNNING,
    "JOB_STATE_SUCCEEDED": JobState.SUCCEEDED,
    "JOB_STATE_PARTIALLY_SUCCEEDED": JobState.SUCCEEDED,
    "JOB_STATE_FAILED": JobState.FAILED,
    "JOB_STATE_EXPIRED": JobState.FAILED,
    "JOB_STATE_CANCELLED": JobState.CANCELLED,
}


def _import_genai() -> tuple[Any, Any]:
    try:
        from google import genai
        from google.genai import types
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the 'vertex' backend needs google-genai: {_INSTALL_HINT}"
        ) from exc
    return genai, types


def static_token_credentials(token: str) -> Any:
    """google-auth credentials for a fixed OAuth access token (emulator, short scripts)."""
    from google.oauth2.credentials import Credentials

    return Credentials(token=token)  # type: ignore[no-untyped-call]


# -- the backend -----------------------------------------------------------------------------


def _state_of(job: Any) -> JobState:
    raw = getattr(job, "state", None)
    name = getattr(raw, "value", raw)
    return _STATES.get(str(name), JobState.PENDING)


def _as_datetime(value: Any) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    return None


def _step_count(job: Any) -> int:
    stats = getattr(job, "tuning_data_stats", None)
    sft = getattr(stats, "supervised_tuning_data_stats", None)
    steps = getattr(sft, "tuning_step_count", None)
    return int(steps) if steps else 0


def _vertex_base_model(source: str) -> str:
    if source.startswith("tunedModels/"):
        raise ConfigError(
            f"{source!r} is a Gemini API tuned model; Vertex AI tunes a base model such as "
            "'gemini-2.5-flash' or a Vertex tuned model 'projects/.../models/...'"
        )
    if source.startswith("models/"):
        return source[len("models/") :]
    return source


def _model_info(job: Any) -> TunedModelInfo:
    """A tuning job as the tuned model it produces (or will produce)."""
    tuned = getattr(job, "tuned_model", None)
    return TunedModelInfo(
        name=getattr(tuned, "model", None) or job.name,
        state=_state_of(job),
        base_model=getattr(job, "base_model", None) or "",
        display_name=getattr(job, "tuned_model_display_name", None) or "",
        description=getattr(job, "description", None) or "",
        create_time=_as_datetime(getattr(job, "create_time", None)),
        update_time=_as_datetime(getattr(job, "update_time", None)),
        endpoint=getattr(tuned, "endpoint", None),
    )


class VertexBackend(Backend):
    """Backend over Vertex AI supervised tuning with google-genai.

    ``project``/``location`` default to ``GOOGLE_CLOUD_PROJECT``/``GOOGLE_CLOUD_LOCATION``
    (location falls back to ``us-central1``). ``staging_uri`` is the ``gs://bucket/prefix``
    where training JSONL is written (default ``PII_GEMINI_GCS_URI``); it is needed only to
    tune. ``credentials`` are google-auth credentials (default: ADC). ``endpoint`` points
    both the API and the uploader at another server, e.g. the emulator.

    Example::

        backend = VertexBackend(project="my-project", staging_uri="gs://my-bucket/pii")
        job = backend.create_tuning_job(spec)
    """

    name: ClassVar[str] = "vertex"

    def __init__(
        self,
        project: str | None = None,
        location: str | None = None,
        *,
        staging_uri: str | None = None,
        credentials: Any = None,
        endpoint: str | None = None,
        timeout: float = 60.0,
        uploader: Uploader | None = None,
        adapter_size: str | None = None,
        api_version: str | None = None,
    ) -> None:
        project = project or os.environ.get("GOOGLE_CLOUD_PROJECT")
        if not project:
            raise ConfigError(
                "no Google Cloud project for the vertex backend: set GOOGLE_CLOUD_PROJECT "
                "(and GOOGLE_CLOUD_LOCATION) or pass project="
            )
        if not timeout or timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, got {timeout!r}")
        staging_uri = staging_uri or os.environ.get("PII_GEMINI_GCS_URI")
        if staging_uri:
            split_gcs_uri(staging_uri.rstrip("/") + "/x")  # validate early
        check_endpoint(endpoint)
        self._genai, self._types = _import_genai()
        self.project = project
        self.location = location or os.environ.get("GOOGLE_CLOUD_LOCATION") or _DEFAULT_LOCATION
        self.staging_uri = staging_uri.rstrip("/") if staging_uri else None
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self.adapter_size = adapter_size
        self._credentials = credentials
        self._uploader: Uploader = uploader or GcsUploader(
            credentials,
            base_url=endpoint or "https://storage.googleapis.com",
            timeout=max(self.timeout, 120.0),
        )
        self._lock = threading.Lock()
        self._total_steps: dict[str, int] = {}  # job name -> steps computed at creation
        self._endpoints: dict[str, str] = {}  # tuned model / job name -> endpoint
        http_options: dict[str, Any] = {"timeout": int(self.timeout * 1000)}
        if endpoint:
            http_options["base_url"] = endpoint
        if api_version:
            http_options["api_version"] = api_version
        with map_vertex_exceptions("client setup"):
            try:
                self._client = self._genai.Client(
                    vertexai=True,
                    project=self.project,
                    location=self.location,
                    credentials=credentials,
                    http_options=self._types.HttpOptions(**http_options),
                )
            except ValueError as exc:
                raise ConfigError(f"invalid Vertex AI client settings: {redact(exc)}") from exc

    def __repr__(self) -> str:
        return (
            f"VertexBackend(project={self.project!r}, location={self.location!r}, "
            f"staging_uri={self.staging_uri!r})"
        )

    # -- tuning ---------------------------------------------------------------------------
    def create_tuning_job(self, spec: TuningSpec) -> TuningJobInfo:
        """Upload the examples as JSONL and start a supervised tuning job."""
        if not self.staging_uri:
            raise ConfigError(
                "the vertex backend needs a gs:// staging URI for training data: set "
                "PII_GEMINI_GCS_URI or pass staging_uri="
            )
        base = _vertex_base_model(spec.source_model)
        slug = re.sub(r"[^a-z0-9-]+", "-", (spec.model_id or spec.display_name or "tuning").lower())
        uri = f"{self.staging_uri}/{slug.strip('-') or 'tuning'}-{uuid.uuid4().hex[:12]}.jsonl"
        self._uploader(uri, training_jsonl(spec))
        hp = spec.hyperparameters
        types = self._types
        config = types.CreateTuningJobConfig(
            epoch_count=hp.epoch_count,
            learning_rate_multiplier=round(hp.learning_rate / _BASE_LEARNING_RATE, 6),
            tuned_model_display_name=spec.display_name or spec.model_id,
            description=spec.description,
            adapter_size=self.adapter_size,
        )
        with map_vertex_exceptions("create tuning job"), warnings.catch_warnings():
            # tunings.tune() warns once that the SDK's tuning support is experimental.
            warnings.simplefilter("ignore")
            job = self._client.tunings.tune(
                base_model=base,
                training_dataset=types.TuningDataset(gcs_uri=uri),
                config=config,
            )
        with self._lock:
            self._total_steps[job.name] = spec.total_steps
        return self._job_info(job)

    def get_tuning_job(self, name: str) -> TuningJobInfo:
        """Poll a tuning job by its name ``projects/.../tuningJobs/...``."""
        return self._job_info(self._get_job(name))

    def _get_job(self, name: str) -> Any:
        if "/tuningJobs/" not in name:
            raise ConfigError(
                f"expected a tuning job name 'projects/.../tuningJobs/...', got {name!r}"
            )
        with map_vertex_exceptions("get tuning job"):
            return self._client.tunings.get(name=name)

    def cancel_tuning_job(self, name: str) -> None:
        """Ask Vertex AI to cancel a running tuning job."""
        if "/tuningJobs/" not in name:
            raise ConfigError(
                f"expected a tuning job name 'projects/.../tuningJobs/...', got {name!r}"
            )
        with map_vertex_exceptions("cancel tuning job"):
            self._client.tunings.cancel(name=name)

    def _job_info(self, job: Any) -> TuningJobInfo:
        state = _state_of(job)
        tuned = getattr(job, "tuned_model", None)
        # Until the job succeeds there is no model yet; the job name stands in for it
        # (get_model and generate accept it and resolve the tuned model later).
        model = getattr(tuned, "model", None) or job.name
        endpoint = getattr(tuned, "endpoint", None)
        with self._lock:
            total = _step_count(job) or self._total_steps.get(job.name, 0)
            if endpoint:
                self._endpoints[job.name] = endpoint
                if model:
                    self._endpoints[model] = endpoint
        error = getattr(job, "error", None)
        message = None
        if error is not None and state in (JobState.FAILED, JobState.CANCELLED):
            message = redact(getattr(error, "message", None) or "tuning job failed")
        return TuningJobInfo(
            name=job.name,
            model=model,
            state=state,
            base_model=getattr(job, "base_model", None) or "",
            total_steps=total,
            completed_steps=total if state is JobState.SUCCEEDED else 0,
            snapshots=(),
            error=message,
            endpoint=endpoint,
        )

    # -- models ---------------------------------------------------------------------------
    def _jobs(self) -> list[Any]:
        with map_vertex_exceptions("list tuning jobs"):
            return list(self._client.tunings.list())

    def _find_job(self, name: str) -> Any:
        if "/tuningJobs/" in name:
            return self._get_job(name)
        for job in self._jobs():
            tuned = getattr(job, "tuned_model", None)
            if name in (getattr(tuned, "model", None), getattr(tuned, "endpoint", None)):
                return job
        raise error_for_code(
            404, f"no Vertex AI tuning job produced the model {name!r}", status="NOT_FOUND"
        )

    def get_model(self, name: str) -> TunedModelInfo:
        """Describe a tuned model by tuning-job, model or endpoint name."""
        return _model_info(self._find_job(name))

    def list_models(self) -> list[TunedModelInfo]:
        """One entry per tuning job in the project/location (its tuned model when done)."""
        return [_model_info(job) for job in self._jobs()]

    def delete_model(self, name: str) -> None:
        """Not supported: Vertex models are deleted after undeploying their endpoint."""
        raise BackendError(
            "the vertex backend cannot delete tuned models: undeploy the endpoint and delete "
            "the model with 'gcloud ai endpoints undeploy-model' and 'gcloud ai models delete' "
            f"(model {name!r})"
        )

    # -- generation -----------------------------------------------------------------------
    def _resolve(self, model: str) -> str:
        """The name to generate with: an endpoint for tuned models, else the base model."""
        if "/endpoints/" in model:
            return model
        if model.startswith("projects/"):
            with self._lock:
                cached = self._endpoints.get(model)
            if cached:
                return cached
            job = self._find_job(model)
            endpoint = getattr(getattr(job, "tuned_model", None), "endpoint", None)
            if not endpoint:
                raise error_for_code(
                    400,
                    f"{model!r} has no endpoint yet (tuning job state {_state_of(job).value})",
                    status="FAILED_PRECONDITION",
                )
            with self._lock:
                self._endpoints[model] = endpoint
            return str(endpoint)
        return _vertex_base_model(model)

    def generate(
        self, model: str, prompt: str, config: GenerationConfig | None = None
    ) -> Generation:
        """Answer one prompt; blocked prompts and SAFETY stops come back as a Generation."""
        config = config or GenerationConfig()
        target = self._resolve(model)
        gen_config = self._types.GenerateContentConfig(
            temperature=config.temperature,
            top_p=config.top_p,
            top_k=config.top_k,
            max_output_tokens=config.max_output_tokens,
        )
        with map_vertex_exceptions("generate_content"):
            response = self._client.models.generate_content(
                model=target, contents=prompt, config=gen_config
            )
        return generation_from_response(response, _enum_text)

    def close(self) -> None:
        """Close the uploader's and the client's HTTP connections."""
        close = getattr(self._uploader, "close", None)
        if callable(close):
            close()
        client_close = getattr(self._client, "close", None)
        if callable(client_close):
            try:
                client_close()
            except Exception:  # best effort
                logger.debug("closing the google-genai client failed", exc_info=True)


def _enum_text(value: Any) -> str | None:
    if value is None:
        return None
    text = getattr(value, "value", value)
    text = str(text)
    if not text or text.endswith("_UNSPECIFIED"):
        return None
    return text
