"""Vertex AI routes (google-genai with ``vertexai=True``) and a minimal Cloud Storage API.

A Vertex tuning job maps onto one FakeService tuned model: the job reads its JSONL training
file from the emulator's in-memory bucket store, its state follows the tuned model's, and
its endpoint generates with that tuned model. Storage speaks just enough of the GCS JSON API
(media upload, media download) for ``VertexBackend``'s uploader.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote

from ._gemini_routes import generate_json, prompt_from_body
from ._server import HttpError, Request, Response, Router, rfc3339

__all__ = ["VertexJob", "VertexState", "parse_gcs_uri", "register"]

#: Base learning rate a learningRateMultiplier of 1.0 stands for in the fake.
_BASE_LEARNING_RATE = 0.001
_RPC_CANCELLED = 1


def parse_gcs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/path/obj`` -> ``("bucket", "path/obj")``; HttpError 400 when malformed."""
    if not isinstance(uri, str) or not uri.startswith("gs://"):
        raise HttpError(400, f"Invalid Cloud Storage URI {uri!r}: it must start with gs://")
    bucket, _, name = uri[5:].partition("/")
    if not bucket or not name:
        raise HttpError(400, f"Invalid Cloud Storage URI {uri!r}: expected gs://bucket/object")
    return bucket, name


@dataclass
class VertexJob:
    """Emulator-side bookkeeping for one Vertex tuning job."""

    job_id: str
    project: str
    location: str
    tuned_model: str  # the FakeService tuned model ("tunedModels/...")
    operation: str
    base_model: str
    display_name: str
    description: str
    training_uri: str
    hyper: dict[str, Any]
    example_count: int
    total_steps: int
    create_time: _dt.datetime
    cancelled: bool = False

    @property
    def name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/tuningJobs/{self.job_id}"

    @property
    def model_name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/models/{self.job_id}@1"

    @property
    def endpoint(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/endpoints/{self.job_id}"


@dataclass
class VertexState:
    """Jobs and stored objects of one emulator; guarded by ``lock``."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    jobs: dict[str, VertexJob] = field(default_factory=dict)
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000000001))

    def next_id(self) -> str:
        with self.lock:
            return str(next(self._ids))

    def reset(self) -> None:
        with self.lock:
            self.jobs.clear()
            self.objects.clear()
            self._ids = itertools.count(1000000001)


class _Host(Protocol):
    @property
    def service(self) -> Any: ...

    @property
    def vertex(self) -> VertexState: ...


def _examples_from_jsonl(data: bytes, uri: str) -> list[tuple[str, str]]:
    """Gemini ``contents`` JSONL -> (user text, model text) pairs; 400 on a bad line."""
    examples: list[tuple[str, str]] = []
    for lineno, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            contents = row["contents"]
            user = "".join(
                p.get("text", "") for c in contents if c.get("role") == "user" for p in c["parts"]
            )
            model = "".join(
                p.get("text", "") for c in contents if c.get("role") == "model" for p in c["parts"]
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise HttpError(
                400, f"Training dataset {uri} line {lineno} is not a valid contents record."
            ) from None
        if not user or not model:
            raise HttpError(
                400, f"Training dataset {uri} line {lineno} needs a user turn and a model turn."
            )
        examples.append((user, model))
    if not examples:
        raise HttpError(400, f"Training dataset {uri} is empty.")
    return examples


def _job_state(job: VertexJob, rec: Any) -> str:
    if rec.state == "ACTIVE":
        return "JOB_STATE_SUCCEEDED"
    if job.cancelled or (rec.error and rec.error[0] == _RPC_CANCELLED):
        return "JOB_STATE_CANCELLED"
    if rec.state == "FAILED":
        return "JOB_STATE_FAILED"
    return "JOB_STATE_RUNNING" if rec.completed_steps else "JOB_STATE_PENDING"


def tuning_job_json(job: VertexJob, service: Any, *, poll: bool = False) -> dict[str, Any]:
    """A Vertex TuningJob resource (int64 fields as JSON strings, like the real API).

    ``poll=True`` counts as a poll of the job (advances it per the service progression).
    """
    if poll:
        rec = service.get_tuned_model(job.tuned_model)
    else:
        rec = service.peek_tuned_model(job.tuned_model)
    state = _job_state(job, rec)
    hyper: dict[str, Any] = {}
    if job.hyper.get("epochCount") is not None:
        hyper["epochCount"] = str(job.hyper["epochCount"])
    if job.hyper.get("learningRateMultiplier") is not None:
        hyper["learningRateMultiplier"] = job.hyper["learningRateMultiplier"]
    if job.hyper.get("batchSize") is not None:
        hyper["batchSize"] = str(job.hyper["batchSize"])
    out: dict[str, Any] = {
        "name": job.name,
        "tunedModelDisplayName": job.display_name,
        "baseModel": job.base_model,
        "supervisedTuningSpec": {"trainingDatasetUri": job.training_uri, "hyperParameters": hyper},
        "state": state,
        "createTime": rfc3339(job.create_time),
        "updateTime": rfc3339(rec.update_time),
        "tuningDataStats": {
            "supervisedTuningDataStats": {
                "tuningDatasetExampleCount": str(job.example_count),
                "tuningStepCount": str(job.total_steps),
            }
        },
    }
    if job.description:
        out["description"] = job.description
    if rec.start_time is not None:
        out["startTime"] = rfc3339(rec.start_time)
    if state in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
        out["endTime"] = rfc3339(rec.complete_time or rec.update_time)
    if state == "JOB_STATE_SUCCEEDED":
        out["tunedModel"] = {"model": job.model_name, "endpoint": job.endpoint}
    elif state == "JOB_STATE_CANCELLED":
        out["error"] = {"code": 1, "message": "CANCELED"}
    elif state == "JOB_STATE_FAILED" and rec.error:
        code, message = rec.error
        out["error"] = {"code": int(code), "message": str(message)}
    return out


def register(router: Router, host: _Host) -> None:
    """Add the Vertex tuning, endpoint and storage routes to ``router``."""
    loc = r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    job_path = loc + r"/tuningJobs/(?P<job>[^/:]+)"

    def find_job(req: Request) -> VertexJob:
        with host.vertex.lock:
            job = host.vertex.jobs.get(req.params["job"])
        if (
            job is None
            or job.project != req.params["project"]
            or job.location != req.params["location"]
        ):
            raise HttpError(404, f"The TuningJob does not exist: {req.path}", "NOT_FOUND")
        return job

    def create_job(req: Request) -> Response:
        body = req.json()
        base = body.get("baseModel")
        if not isinstance(base, str) or not base:
            raise HttpError(400, "base_model is required.")
        spec = body.get("supervisedTuningSpec") or {}
        uri = spec.get("trainingDatasetUri")
        if not uri:
            raise HttpError(400, "supervised_tuning_spec.training_dataset_uri is required.")
        bucket, obj = parse_gcs_uri(uri)
        with host.vertex.lock:
            data = host.vertex.objects.get((bucket, obj))
        if data is None:
            raise HttpError(
                400,
                f"Failed to read the training dataset {uri}: object not found.",
                "INVALID_ARGUMENT",
            )
        examples = _examples_from_jsonl(data, uri)
        hyper = dict(spec.get("hyperParameters") or {})
        epochs = hyper.get("epochCount")
        batch = hyper.get("batchSize")
        lr = hyper.get("learningRate")
        mult = hyper.get("learningRateMultiplier")
        if lr is None and mult is not None:
            lr = float(mult) * _BASE_LEARNING_RATE
        job_id = host.vertex.next_id()
        op = host.service.create_tuned_model(
            examples=examples,
            base_model="models/" + base.rsplit("/", 1)[-1],
            tuned_model_id=f"vertex-{job_id}",
            display_name=body.get("tunedModelDisplayName") or "",
            description=body.get("description") or "",
            epoch_count=int(epochs) if epochs is not None else None,
            batch_size=int(batch) if batch is not None else None,
            learning_rate=float(lr) if lr is not None else None,
        )
        job = VertexJob(
            job_id=job_id,
            project=req.params["project"],
            location=req.params["location"],
            tuned_model=op.tuned_model,
            operation=op.name,
            base_model=base,
            display_name=body.get("tunedModelDisplayName") or "",
            description=body.get("description") or "",
            training_uri=uri,
            hyper=hyper,
            example_count=len(examples),
            total_steps=int(op.total_steps),
            create_time=_dt.datetime.now(_dt.timezone.utc),
        )
        with host.vertex.lock:
            host.vertex.jobs[job_id] = job
        return 200, tuning_job_json(job, host.service)

    def get_job(req: Request) -> Response:
        return 200, tuning_job_json(find_job(req), host.service, poll=True)

    def list_jobs(req: Request) -> Response:
        with host.vertex.lock:
            jobs = [
                j
                for j in host.vertex.jobs.values()
                if j.project == req.params["project"] and j.location == req.params["location"]
            ]
        size = int(req.arg("pageSize") or 100)
        start = int(req.arg("pageToken") or 0)
        page = jobs[start : start + size]
        out: dict[str, Any] = {"tuningJobs": [tuning_job_json(j, host.service) for j in page]}
        if start + size < len(jobs):
            out["nextPageToken"] = str(start + size)
        return 200, out

    def cancel_job(req: Request) -> Response:
        job = find_job(req)
        rec = host.service.peek_tuned_model(job.tuned_model)
        if rec.state != "CREATING":
            raise HttpError(
                400,
                f"Cannot cancel tuning job {job.name} in its current state.",
                "FAILED_PRECONDITION",
            )
        host.service.cancel_operation(job.operation)
        with host.vertex.lock:
            job.cancelled = True
        return 200, {}

    def generate_endpoint(req: Request) -> Response:
        with host.vertex.lock:
            job = host.vertex.jobs.get(req.params["endpoint"])
        if job is None or job.project != req.params["project"]:
            raise HttpError(404, f"Endpoint {req.path.split(':')[0]} not found.", "NOT_FOUND")
        rec = host.service.peek_tuned_model(job.tuned_model)
        if rec.state != "ACTIVE":
            raise HttpError(
                400, f"Endpoint {job.endpoint} has no deployed model.", "FAILED_PRECONDITION"
            )
        return _generate(req, job.tuned_model, job.model_name)

    def generate_publisher(req: Request) -> Response:
        return _generate(req, "models/" + req.params["model"], req.params["model"])

    def _generate(req: Request, model: str, version: str) -> Response:
        body = req.json()
        cfg = body.get("generationConfig") or {}
        gen = host.service.generate_content(
            model,
            prompt_from_body(body),
            temperature=cfg.get("temperature"),
            top_p=cfg.get("topP"),
            top_k=cfg.get("topK"),
            max_output_tokens=cfg.get("maxOutputTokens"),
        )
        return 200, generate_json(gen, model_version=version)

    # -- Cloud Storage (JSON API subset) -------------------------------------------------
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

    router.add("POST", loc + r"/tuningJobs", create_job)
    router.add("GET", loc + r"/tuningJobs", list_jobs)
    router.add("GET", job_path, get_job)
    router.add("POST", job_path + r":cancel", cancel_job)
    router.add("POST", loc + r"/endpoints/(?P<endpoint>[^/:]+):generateContent", generate_endpoint)
    router.add(
        "POST",
        loc + r"/publishers/google/models/(?P<model>[^/:]+):generateContent",
        generate_publisher,
    )
    router.add("POST", r"/upload/storage/v1/b/(?P<bucket>[^/]+)/o", upload, api=False)
    router.add("GET", r"/storage/v1/b/(?P<bucket>[^/]+)/o/(?P<object>.+)", download, api=False)
