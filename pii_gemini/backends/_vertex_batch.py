"""Vertex AI batch prediction for the vertex backend (``VertexBatch``, a mixin).

Google documents batch prediction for tuned Gemini models, named as the tuned model
resource ``projects/P/locations/L/models/M`` (``_catalogue`` source vertex-batch-tuned).
Requests are staged as JSONL (``{"key", "request"}`` lines) next to the training files,
the job is created with ``client.batches.create`` and its ``predictions.jsonl`` are read
back from Cloud Storage. ``pii_gemini.batch`` drives it.

A create is not idempotent, so each carries the caller's client token twice: in the
staging folder ``batch-<token>`` and in the display name ``pii-gemini-batch-<token>``.
``find_batch`` looks the job up by it with the documented list filter on ``display_name``
(SOURCES["vertex-batch-list"]); a service that refuses the filter is scanned whole.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from .._exceptions import ConfigError, InvalidRequestError
from .._types import Generation, GenerationConfig, JobState
from ._response import generation_from_response
from ._vertex_convert import enum_text, state_of, thinking_config, vertex_base_model
from ._vertex_errors import map_vertex_exceptions
from ._vertex_storage import GcsUploader, Uploader

__all__ = ["VertexBatch"]


def batch_display_name(token: str) -> str:
    """The display name of the batch job created with client token ``token``."""
    return f"pii-gemini-batch-{token}"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class VertexBatch:
    """Batch prediction methods; ``VertexBackend`` provides the attributes used here."""

    staging_uri: str | None
    _client: Any
    _types: Any
    _uploader: Uploader
    _lock: threading.Lock
    _bases: dict[str, str]

    def _find_job(self, name: str) -> Any:
        raise NotImplementedError

    def _storage(self) -> GcsUploader:
        if not isinstance(self._uploader, GcsUploader) or not self.staging_uri:
            raise ConfigError(
                "batch prediction needs the built-in Cloud Storage client and a gs:// "
                "staging URI (PII_GEMINI_GCS_URI or staging_uri=)"
            )
        return self._uploader

    def create_batch(
        self,
        model: str,
        requests: Sequence[tuple[str, str]],
        config: GenerationConfig | None,
        token: str,
    ) -> str:
        """Stage ``(key, prompt)`` requests as JSONL and start a batch prediction job with
        ``model`` (a tuned model is sent as its ``projects/.../models/...`` resource, the
        form Google documents for batch); returns the job name."""
        storage = self._storage()
        target = self._model_resource(model)
        with self._lock:
            base = self._bases.get(model) or self._bases.get(target) or target
        settings = config or GenerationConfig()
        generation: dict[str, Any] = {_camel(k): v for k, v in settings.sampling().items()}
        thinking = thinking_config(base, settings.thinking_budget)
        if thinking:
            generation["thinkingConfig"] = {_camel(k): v for k, v in thinking.items()}
        lines = [
            json.dumps(
                {
                    "key": key,
                    "request": {
                        "contents": [{"role": "user", "parts": [{"text": prompt}]}],
                        "generationConfig": generation,
                    },
                },
                ensure_ascii=False,
            )
            for key, prompt in requests
        ]
        folder = f"{self.staging_uri}/batch-{token}"
        storage(f"{folder}/input.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
        with map_vertex_exceptions("create batch prediction job"):
            job = self._client.batches.create(
                model=target,
                src=f"{folder}/input.jsonl",
                config={"dest": f"{folder}/output", "display_name": batch_display_name(token)},
            )
        return str(job.name)

    def find_batch(self, token: str) -> str | None:
        """The job an earlier ``create_batch(..., token)`` created, or None when there is
        none (a failed lookup raises: it proves nothing)."""
        wanted = batch_display_name(token)
        query = {"filter": f'display_name="{wanted}"'}
        try:
            with map_vertex_exceptions("list batch prediction jobs"):
                jobs = list(self._client.batches.list(config=query))
        except InvalidRequestError:  # a service that does not take the filter: scan all
            with map_vertex_exceptions("list batch prediction jobs"):
                jobs = list(self._client.batches.list())
        folder = f"/batch-{token}/"
        for job in jobs:  # the filter is a hint; the name or the staging folder decides
            src = getattr(getattr(job, "src", None), "gcs_uri", None) or []
            if getattr(job, "display_name", None) == wanted or any(folder in u for u in src):
                return str(job.name)
        return None

    def get_batch(self, name: str) -> tuple[JobState, str | None]:
        """The state of a batch job and, once it succeeded, its output folder."""
        with map_vertex_exceptions("get batch prediction job"):
            job = self._client.batches.get(name=name)
        info = getattr(job, "output_info", None)
        folder = getattr(info, "gcs_output_directory", None) or (
            info.get("gcsOutputDirectory") if isinstance(info, dict) else None
        )
        return state_of(job), folder

    def cancel_batch(self, name: str) -> None:
        """Ask Vertex AI to cancel a batch prediction job."""
        with map_vertex_exceptions("cancel batch prediction job"):
            self._client.batches.cancel(name=name)

    def batch_results(self, folder: str) -> dict[str, Generation | None]:
        """key -> Generation of each line under the output ``folder`` (None: that line
        failed in the batch and must be asked again)."""
        storage = self._storage()
        results: dict[str, Generation | None] = {}
        for uri in storage.list(folder.rstrip("/") + "/"):
            if not uri.endswith(".jsonl"):
                continue
            for raw in storage.read(uri).decode("utf-8").splitlines():
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                    key = str(record["key"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line we cannot attribute is asked again online
                response = record.get("response")
                if record.get("status") or not isinstance(response, dict):
                    results[key] = None
                    continue
                parsed = self._types.GenerateContentResponse._from_response(
                    response=response, kwargs={}
                )
                results[key] = generation_from_response(parsed, enum_text)
        return results

    def _model_resource(self, model: str) -> str:
        """A tuned model's ``projects/.../models/...`` name (batch takes no endpoints)."""
        if model.startswith("projects/") and "/models/" in model:
            return model
        if model.startswith("projects/"):
            tuned = getattr(self._find_job(model), "tuned_model", None)
            name = getattr(tuned, "model", None)
            if not name:
                raise ConfigError(f"{model!r} has no tuned model yet; wait for its job")
            return str(name)
        return vertex_base_model(model)
