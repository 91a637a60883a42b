"""A minimal Cloud Storage JSON API for the emulator: media upload, download, listing.

Enough for ``VertexBackend``'s uploader and batch reader, and for tuning and batch jobs
to read their datasets: objects live in the emulator's ``VertexState.objects``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from ._server import HttpError, Request, Response, Router

__all__ = ["parse_gcs_uri", "register"]


def parse_gcs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/path/obj`` -> ``("bucket", "path/obj")``; HttpError 400 when malformed."""
    if not isinstance(uri, str) or not uri.startswith("gs://"):
        raise HttpError(400, f"Invalid Cloud Storage URI {uri!r}: it must start with gs://")
    bucket, _, name = uri[5:].partition("/")
    if not bucket or not name:
        raise HttpError(400, f"Invalid Cloud Storage URI {uri!r}: expected gs://bucket/object")
    return bucket, name


def register(router: Router, host: Any) -> None:
    """Add the storage routes to ``router``."""

    def upload(req: Request) -> Response:
        bucket = req.params["bucket"]
        name = req.arg("name")
        if not name:
            raise HttpError(400, "Required parameter: name", "INVALID_ARGUMENT")
        if (req.arg("uploadType") or "media") != "media":
            raise HttpError(400, "The emulator supports uploadType=media only.")
        with host.vertex.lock:
            host.vertex.objects[(bucket, name)] = req.raw_body
        return 200, {
            "kind": "storage#object",
            "bucket": bucket,
            "name": name,
            "size": str(len(req.raw_body)),
            "id": f"{bucket}/{name}",
        }

    def download(req: Request) -> Response:
        bucket, name = req.params["bucket"], unquote(req.params["object"])
        with host.vertex.lock:
            data = host.vertex.objects.get((bucket, name))
        if data is None:
            raise HttpError(404, f"No such object: {bucket}/{name}", "NOT_FOUND")
        if req.arg("alt") == "media":
            return 200, data
        return 200, {
            "kind": "storage#object",
            "bucket": bucket,
            "name": name,
            "size": str(len(data)),
        }

    router.add(
        "POST",
        r"/upload/storage/v1/b/(?P<bucket>[^/]+)/o",
        upload,
        api=False,
        name="storage.upload",
    )

    def list_objects(req: Request) -> Response:
        bucket, prefix = req.params["bucket"], req.arg("prefix") or ""
        with host.vertex.lock:
            names = sorted(
                n for b, n in host.vertex.objects if b == bucket and n.startswith(prefix)
            )
        return 200, {
            "kind": "storage#objects",
            "items": [{"name": n, "bucket": bucket} for n in names],
        }

    router.add("GET", r"/storage/v1/b/(?P<bucket>[^/]+)/o", list_objects, api=False,
               name="storage.list")  # fmt: skip
    router.add(
        "GET",
        r"/storage/v1/b/(?P<bucket>[^/]+)/o/(?P<object>.+)",
        download,
        api=False,
        name="storage.download",
    )
