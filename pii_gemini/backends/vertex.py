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

import logging
import os
import re
import threading
import uuid
import warnings
from typing import Any, ClassVar

from .._contract import spec_description
from .._exceptions import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    InvalidRequestError,
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
from ._catalogue import VERTEX_DEFAULT_SOURCE_MODEL, era_catalogue, resolve_era
from ._endpoint import check_endpoint
from ._response import generation_from_response
from ._vertex_batch import VertexBatch
from ._vertex_convert import (
    ADAPTER_NAMES,
    TOKEN_LABEL,
    check_vertex_spec,
    enum_text,
    model_info,
    state_of,
    step_count,
    thinking_config,
    vertex_base_model,
)
from ._vertex_errors import map_vertex_exceptions, translate_vertex_exception
from ._vertex_storage import (
    CLOUD_PLATFORM_SCOPE,
    GcsUploader,
    Uploader,
    check_staging_uri,
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


class VertexBackend(VertexBatch, Backend):
    """Backend over Vertex AI supervised tuning with google-genai.

    ``project``/``location`` default to ``GOOGLE_CLOUD_PROJECT``/``GOOGLE_CLOUD_LOCATION``
    (location falls back to ``us-central1``). ``staging_uri`` is the ``gs://bucket/prefix``
    where training JSONL is written (default ``PII_GEMINI_GCS_URI``); it is needed only to
    tune. ``credentials`` are google-auth credentials (default: ADC). ``endpoint`` points
    both the API and the uploader at another server, e.g. the emulator. ``era`` (default
    ``PII_GEMINI_ERA``, else today's) is the dated catalogue base models are checked against.

    Vertex tunes Gemini with an epoch count, a learning-rate multiplier and an adapter size;
    it picks the batch size (so the step count) itself and reports no training loss.

    Example::

        backend = VertexBackend(project="my-project", staging_uri="gs://my-bucket/pii")
        job = backend.create_tuning_job(spec)
    """

    name: ClassVar[str] = "vertex"
    default_source_model: ClassVar[str | None] = VERTEX_DEFAULT_SOURCE_MODEL
    tuning_hyperparameters: ClassVar[tuple[str, ...]] = (
        "epoch_count",
        "learning_rate_multiplier",
        "adapter_size",
    )
    reports_loss: ClassVar[bool] = False
    reports_steps: ClassVar[bool] = False  # only the total, from the tuning data statistics
    no_loss: ClassVar[str] = (
        "Vertex AI tuning jobs report no training loss to the API (it is in the job's "
        "Vertex AI Experiment, in the Cloud console)"
    )

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
        api_version: str | None = None,
        era: str | None = None,
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
            check_staging_uri(staging_uri)  # early, quoting what was given
        check_endpoint(endpoint)
        self.era = resolve_era(era)
        self._genai, self._types = _import_genai()
        self.project = project
        self.location = location or os.environ.get("GOOGLE_CLOUD_LOCATION") or _DEFAULT_LOCATION
        self.staging_uri = staging_uri.rstrip("/") if staging_uri else None
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self._credentials = credentials
        self._uploader: Uploader = uploader or GcsUploader(
            credentials,
            base_url=endpoint or "https://storage.googleapis.com",
            timeout=max(self.timeout, 120.0),
        )
        self._lock = threading.Lock()
        self._endpoints: dict[str, str] = {}  # tuned model / job name -> endpoint
        self._bases: dict[str, str] = {}  # tuned model / endpoint / job name -> base model
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
    def tunable_models(self) -> tuple[str, ...]:
        """The base models Vertex AI tunes in this backend's era."""
        return era_catalogue(self.era).vertex_tunes

    def create_tuning_job(self, spec: TuningSpec) -> TuningJobInfo:
        """Upload the examples (and validation rows) as JSONL and start a supervised job.

        Sends Vertex's own hyperparameters: ``epoch_count``, ``learning_rate_multiplier``
        and ``adapter_size`` when set (batch size and an absolute learning rate are for
        open models only, so the Gemini API's ``batch_size``/``learning_rate`` are not
        sent). The client token goes in a label and in the staged file names.
        """
        if not self.staging_uri:
            raise ConfigError(
                "the vertex backend needs a gs:// staging URI for training data: set "
                "PII_GEMINI_GCS_URI or pass staging_uri="
            )
        base = vertex_base_model(spec.source_model)
        check_vertex_spec(spec, base, self.location)
        stem = self._staged_stem(spec)
        uri = f"{stem}.jsonl"
        self._uploader(uri, training_jsonl(spec.examples))
        validation_uri = None
        if spec.validation:
            validation_uri = f"{stem}-validation.jsonl"
            self._uploader(validation_uri, training_jsonl(spec.validation))
        hp = spec.hyperparameters
        types = self._types
        labels = {TOKEN_LABEL: spec.client_token} if spec.client_token else None
        config = types.CreateTuningJobConfig(
            epoch_count=hp.epoch_count,
            learning_rate_multiplier=hp.learning_rate_multiplier,
            adapter_size=ADAPTER_NAMES.get(hp.adapter_size or 0),
            tuned_model_display_name=spec.display_name or spec.model_id,
            description=spec_description(spec) or None,
            validation_dataset=(
                types.TuningValidationDataset(gcs_uri=validation_uri) if validation_uri else None
            ),
            labels=labels,
        )
        where = f"create tuning job (base model {base})"
        with map_vertex_exceptions(where), warnings.catch_warnings():
            # tunings.tune() warns once that the SDK's tuning support is experimental.
            warnings.simplefilter("ignore")
            job = self._client.tunings.tune(
                base_model=base,
                training_dataset=types.TuningDataset(gcs_uri=uri),
                config=config,
            )
        return self._job_info(job)

    def _staged_stem(self, spec: TuningSpec) -> str:
        """``gs://.../<slug>-<token>``: the same for every attempt of one request."""
        slug = re.sub(r"[^a-z0-9-]+", "-", (spec.model_id or spec.display_name or "tuning").lower())
        token = spec.client_token or uuid.uuid4().hex[:12]
        return f"{self.staging_uri}/{slug.strip('-') or 'tuning'}-{token}"

    def find_tuning_job(self, spec: TuningSpec) -> TuningJobInfo | None:
        """The job created for ``spec``: the one labelled with its client token, or None."""
        if not spec.client_token:
            return None
        wanted = f'labels.{TOKEN_LABEL}="{spec.client_token}"'
        try:
            with map_vertex_exceptions("list tuning jobs"):
                jobs = list(self._client.tunings.list(config={"filter": wanted}))
        except InvalidRequestError:  # a service that does not take the filter: scan all
            jobs = self._jobs()
        for job in jobs:  # the filter is a hint; the label decides
            if (getattr(job, "labels", None) or {}).get(TOKEN_LABEL) == spec.client_token:
                return self._job_info(job)
        return None

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
        state = state_of(job)
        tuned = getattr(job, "tuned_model", None)
        # Until the job succeeds there is no model yet; the job name stands in for it
        # (get_model and generate accept it and resolve the tuned model later).
        model = getattr(tuned, "model", None) or job.name
        endpoint = getattr(tuned, "endpoint", None)
        base_model = getattr(job, "base_model", None) or ""
        with self._lock:
            total = step_count(job)  # Vertex's own count (it picks the batch size)
            for key in (job.name, model, endpoint):
                if key and base_model:
                    self._bases[key] = base_model
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
        return model_info(self._find_job(name))

    def list_models(self) -> list[TunedModelInfo]:
        """One entry per tuning job in the project/location (its tuned model when done)."""
        return [model_info(job) for job in self._jobs()]

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
                    f"{model!r} has no endpoint yet (tuning job state {state_of(job).value})",
                    status="FAILED_PRECONDITION",
                )
            with self._lock:
                self._endpoints[model] = endpoint
            return str(endpoint)
        return vertex_base_model(model)

    def generate(
        self, model: str, prompt: str, config: GenerationConfig | None = None
    ) -> Generation:
        """Answer one prompt; blocked prompts and SAFETY stops come back as a Generation."""
        config = config or GenerationConfig()
        target = self._resolve(model)
        with self._lock:
            base = self._bases.get(model) or self._bases.get(target) or target
        thinking = thinking_config(base, config.thinking_budget)
        gen_config = self._types.GenerateContentConfig(
            temperature=config.temperature,
            top_p=config.top_p,
            top_k=config.top_k,
            max_output_tokens=config.max_output_tokens,
            thinking_config=self._types.ThinkingConfig(**thinking) if thinking else None,
        )
        with map_vertex_exceptions(f"generate_content with {target}"):
            response = self._client.models.generate_content(
                model=target, contents=prompt, config=gen_config
            )
        return generation_from_response(response, enum_text)

    def count_tokens(self, model: str, text: str) -> int:
        """Input tokens of ``text`` for ``model``, from Vertex's ``countTokens``."""
        target = self._resolve(model)
        with map_vertex_exceptions("count_tokens"):
            answer = self._client.models.count_tokens(model=target, contents=text)
        return int(getattr(answer, "total_tokens", 0) or 0)

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
