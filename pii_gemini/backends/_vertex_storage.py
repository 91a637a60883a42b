"""Training data for Vertex AI tuning: the JSONL format and the Cloud Storage upload.

``training_jsonl`` writes the examples in Gemini's ``contents`` format; ``GcsUploader``
stores them with the Cloud Storage JSON API through google-auth's ``AuthorizedSession``
(no google-cloud-storage dependency). Any ``Uploader`` callable can replace it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from .._exceptions import ConfigError
from .._types import TuningExample
from ._errors import api_error
from ._vertex_errors import map_vertex_exceptions

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "GcsUploader",
    "Uploader",
    "check_staging_uri",
    "split_gcs_uri",
    "training_jsonl",
]

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

#: Callable that stores ``data`` at a ``gs://bucket/object`` URI.
Uploader = Callable[[str, bytes], None]


def training_jsonl(examples: Sequence[TuningExample]) -> bytes:
    """Examples as Vertex supervised-tuning JSONL (one ``contents`` record per line)."""
    lines = [
        json.dumps(
            {
                "contents": [
                    {"role": "user", "parts": [{"text": ex.text_input}]},
                    {"role": "model", "parts": [{"text": ex.output}]},
                ]
            },
            ensure_ascii=False,
        )
        for ex in examples
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def split_gcs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/object`` -> ``(bucket, object)``; ConfigError for anything else."""
    if not uri.startswith("gs://"):
        raise ConfigError(f"a Cloud Storage URI must start with gs://, got {uri!r}")
    bucket, _, name = uri[5:].partition("/")
    if not bucket or not name:
        raise ConfigError(f"expected gs://bucket/object, got {uri!r}")
    return bucket, name


def check_staging_uri(uri: str) -> None:
    """ConfigError unless ``uri`` is a ``gs://bucket[/prefix]`` staging location; the
    message quotes ``uri`` as given."""
    bucket = uri[5:].partition("/")[0] if uri.startswith("gs://") else ""
    if not bucket:
        raise ConfigError(f"the staging URI must be gs://bucket or gs://bucket/prefix, got {uri!r}")


class GcsUploader:
    """Uploads bytes with the Cloud Storage JSON API (``uploadType=media``).

    ``credentials`` default to Application Default Credentials (cloud-platform scope);
    ``base_url`` points at another server, e.g. the local emulator.
    """

    def __init__(
        self,
        credentials: Any = None,
        *,
        base_url: str = "https://storage.googleapis.com",
        timeout: float = 120.0,
    ) -> None:
        self._credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GcsUploader(base_url={self.base_url!r})"

    def _get_session(self) -> Any:
        with self._lock:
            if self._session is None:
                import google.auth
                from google.auth.transport.requests import AuthorizedSession

                credentials = self._credentials
                if credentials is None:
                    credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
                self._session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
            return self._session

    def __call__(self, uri: str, data: bytes) -> None:
        bucket, name = split_gcs_uri(uri)
        with map_vertex_exceptions("upload to Cloud Storage"):
            response = self._get_session().post(
                f"{self.base_url}/upload/storage/v1/b/{quote(bucket, safe='')}/o",
                params={"uploadType": "media", "name": name},
                data=data,
                headers={"Content-Type": "application/octet-stream"},
                timeout=self.timeout,
            )
        self._check(response, f"Cloud Storage upload to {uri}")

    def read(self, uri: str) -> bytes:
        """The bytes of ``gs://bucket/object`` (JSON API ``alt=media``)."""
        bucket, name = split_gcs_uri(uri)
        with map_vertex_exceptions("read from Cloud Storage"):
            response = self._get_session().get(
                f"{self.base_url}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}",
                params={"alt": "media"},
                timeout=self.timeout,
            )
        self._check(response, f"Cloud Storage read of {uri}")
        data: bytes = response.content
        return data

    def list(self, prefix_uri: str) -> list[str]:
        """``gs://`` URIs of the objects under ``gs://bucket/prefix`` (one page, sorted)."""
        bucket, prefix = split_gcs_uri(prefix_uri)
        with map_vertex_exceptions("list Cloud Storage"):
            response = self._get_session().get(
                f"{self.base_url}/storage/v1/b/{quote(bucket, safe='')}/o",
                params={"prefix": prefix},
                timeout=self.timeout,
            )
        self._check(response, f"Cloud Storage listing of {prefix_uri}")
        items = response.json().get("items") or []
        return sorted(f"gs://{bucket}/{item['name']}" for item in items if "name" in item)

    @staticmethod
    def _check(response: Any, where: str) -> None:
        if response.status_code < 400:
            return
        try:
            error = response.json()
        except ValueError:
            error = {}
        status = error.get("error", {}).get("status") if isinstance(error, dict) else None
        raise api_error(where, response.status_code, status, error, response.headers)

    def close(self) -> None:
        """Close the HTTP session."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()
