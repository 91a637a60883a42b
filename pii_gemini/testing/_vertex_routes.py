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
import zlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..backends._catalogue import bare_model
from ._era import Host
from ._filters import list_filter
from ._gemini_routes import VERTEX_MODEL_PREFIX
from ._generate import count_tokens_json, generate
from ._server import HttpError, Request, Response, Router, rfc3339
from ._storage_routes import parse_gcs_uri

__all__ = ["VertexJob", "VertexState", "register"]

#: Base learning rate a learningRateMultiplier of 1.0 stands for in the fake.
_BASE_LEARNING_RATE = 0.001
_RPC_CANCELLED = 1
#: Fields Vertex parses in a TuningJob create body, its supervised spec and hyperparameters
#: (aiplatform v1 TuningJob, SupervisedTuningSpec, SupervisedHyperParameters).
_TUNING_JOB_FIELDS = (
    "baseModel",
    "preTunedModel",
    "supervisedTuningSpec",
    "tunedModelDisplayName",
    "description",
    "labels",
    "encryptionSpec",
    "serviceAccount",
    "outputUri",
    "customBaseModel",
    "evaluationConfig",
    "experiment",
)
_SPEC_FIELDS = (
    "trainingDatasetUri",
    "validationDatasetUri",
    "hyperParameters",
    "exportLastCheckpointOnly",
    "tuningMode",
    "evaluationConfig",
)
_HYPER_FIELDS = ("epochCount", "learningRateMultiplier", "adapterSize", "batchSize", "learningRate")


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
    labels: dict[str, str] = field(default_factory=dict)
    validation_uri: str | None = None
    validation_count: int = 0
    strict: bool = False  # the current era's behaviour (see tuning_job_json)
    project_id: str = ""  # the id the caller used; ``project`` is what names carry
    model_id: str = ""
    endpoint_id: str = ""
    dataset_error: str | None = None  # a bad dataset: the job fails once it runs
    polls: int = 0
    cancel_polls: int = 0

    @property
    def name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/tuningJobs/{self.job_id}"

    @property
    def model_name(self) -> str:
        model_id = self.model_id or self.job_id
        return f"projects/{self.project}/locations/{self.location}/models/{model_id}@1"

    @property
    def endpoint(self) -> str:
        endpoint_id = self.endpoint_id or self.job_id
        return f"projects/{self.project}/locations/{self.location}/endpoints/{endpoint_id}"

    def in_project(self, project: str) -> bool:
        """True when ``project`` (an id or the number) names this job's project."""
        return project in (self.project, self.project_id)


def project_number(project: str) -> str:
    """A stable 12-digit project number for a project id: Vertex names resources with it."""
    return str(100_000_000_000 + zlib.crc32(project.encode()) % 900_000_000_000)


@dataclass
class VertexState:
    """Jobs and stored objects of one emulator; guarded by ``lock``."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    jobs: dict[str, VertexJob] = field(default_factory=dict)
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    batch_jobs: dict[str, Any] = field(default_factory=dict)  # _batch_routes.BatchJob by id
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000000001))

    def next_id(self) -> str:
        with self.lock:
            return str(next(self._ids))

    def reset(self) -> None:
        with self.lock:
            self.jobs.clear()
            self.objects.clear()
            self.batch_jobs.clear()
            self._ids = itertools.count(1000000001)


class _Host(Host, Protocol):
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


def _job_field(job: dict[str, Any], name: str) -> str | None:
    """A field of a listed TuningJob (its JSON) as a list filter reads it: ``state`` or a
    label; a TuningJob has no display name (``_filters`` refuses any other field)."""
    if name.startswith("labels."):
        value = (job.get("labels") or {}).get(name[len("labels.") :])
        return None if value is None else str(value)
    return str(job.get(name, "")) or None


def _read_object(host: _Host, uri: str) -> bytes:
    """A dataset the job reads from the emulator's bucket store (400 when absent)."""
    bucket, obj = parse_gcs_uri(uri)
    with host.vertex.lock:
        data = host.vertex.objects.get((bucket, obj))
    if data is None:
        raise HttpError(
            400, f"Failed to read the dataset {uri}: object not found.", "INVALID_ARGUMENT"
        )
    return data


def _job_state(job: VertexJob, rec: Any) -> str:
    if rec.state == "ACTIVE":
        return "JOB_STATE_SUCCEEDED"
    if job.cancelled or (rec.error and rec.error[0] == _RPC_CANCELLED):
        return "JOB_STATE_CANCELLED"
    if rec.state == "FAILED":
        return "JOB_STATE_FAILED"
    return "JOB_STATE_RUNNING" if rec.completed_steps else "JOB_STATE_PENDING"


def _strict_state(job: VertexJob, rec: Any, poll: bool) -> str:
    """The current era's state: the create answer is PENDING (training runs after it), a
    cancel shows CANCELLING once before CANCELLED, a bad dataset ends FAILED."""
    if poll:
        job.polls += 1
    if job.polls == 0:
        return "JOB_STATE_PENDING"
    if job.dataset_error is not None:
        return "JOB_STATE_FAILED"
    state = _job_state(job, rec) if rec is not None else "JOB_STATE_PENDING"
    if state == "JOB_STATE_CANCELLED" and job.cancel_polls == 0:
        if poll:
            job.cancel_polls += 1
        return "JOB_STATE_CANCELLING"
    return state


def tuning_job_json(job: VertexJob, service: Any, *, poll: bool = False) -> dict[str, Any]:
    """A Vertex TuningJob resource (int64 fields as JSON strings, like the real API).

    ``poll=True`` counts as a poll of the job (advances it per the service progression).
    """
    rec = None
    if job.dataset_error is None:
        rec = (
            service.get_tuned_model(job.tuned_model)
            if poll
            else service.peek_tuned_model(job.tuned_model)
        )
    state = _strict_state(job, rec, poll) if job.strict else _job_state(job, rec)
    hyper: dict[str, Any] = {}
    if job.hyper.get("epochCount") is not None:
        hyper["epochCount"] = str(job.hyper["epochCount"])
    if job.hyper.get("learningRateMultiplier") is not None:
        hyper["learningRateMultiplier"] = job.hyper["learningRateMultiplier"]
    if job.hyper.get("batchSize") is not None:
        hyper["batchSize"] = str(job.hyper["batchSize"])
    if job.hyper.get("adapterSize") is not None:
        hyper["adapterSize"] = job.hyper["adapterSize"]
    spec: dict[str, Any] = {"trainingDatasetUri": job.training_uri, "hyperParameters": hyper}
    if job.validation_uri:
        spec["validationDatasetUri"] = job.validation_uri
    updated = rec.update_time if rec is not None else job.create_time
    out: dict[str, Any] = {
        "name": job.name,
        "tunedModelDisplayName": job.display_name,
        "baseModel": job.base_model,
        "supervisedTuningSpec": spec,
        "state": state,
        "createTime": rfc3339(job.create_time),
        "updateTime": rfc3339(updated),
    }
    # The current era computes dataset statistics once the job runs, not at create.
    running = not job.strict or state not in ("JOB_STATE_PENDING", "JOB_STATE_QUEUED")
    if running and job.dataset_error is None:
        out["tuningDataStats"] = {
            "supervisedTuningDataStats": {
                "tuningDatasetExampleCount": str(job.example_count),
                "tuningStepCount": str(job.total_steps),
            }
        }
    if job.description:
        out["description"] = job.description
    if job.labels:
        out["labels"] = dict(job.labels)
    if rec is not None and rec.start_time is not None and state != "JOB_STATE_PENDING":
        out["startTime"] = rfc3339(rec.start_time)
    if state in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
        out["endTime"] = rfc3339(rec.complete_time or rec.update_time if rec else updated)
    if state == "JOB_STATE_SUCCEEDED":
        out["tunedModel"] = {"model": job.model_name, "endpoint": job.endpoint}
    elif state == "JOB_STATE_CANCELLED":
        out["error"] = {"code": 1, "message": "CANCELED"}
    elif state == "JOB_STATE_FAILED" and job.dataset_error is not None:
        out["error"] = {"code": 3, "message": job.dataset_error}
    elif state == "JOB_STATE_FAILED" and rec is not None and rec.error:
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
            or not job.in_project(req.params["project"])
            or job.location != req.params["location"]
        ):
            raise HttpError(404, f"The TuningJob does not exist: {req.path}", "NOT_FOUND")
        return job

    def read_dataset(uri: str, strict: bool) -> tuple[list[tuple[str, str]], str | None]:
        """The examples at ``uri``; in the current era a bad dataset fails the job later
        (PROCESSING_DATASET) instead of the create request."""
        try:
            return _examples_from_jsonl(_read_object(host, uri), uri), None
        except HttpError as exc:
            if not strict:
                raise
            return [], exc.message

    def create_job(req: Request) -> Response:
        body = req.json()
        rules = host.rules
        rules.check_fields(body, _TUNING_JOB_FIELDS, "tuning_job")
        base = body.get("baseModel")
        if not isinstance(base, str) or not base:
            raise HttpError(400, "base_model is required.")
        rules.vertex_create(base, req.params["location"])
        spec = body.get("supervisedTuningSpec") or {}
        rules.check_fields(spec, _SPEC_FIELDS, "tuning_job.supervised_tuning_spec")
        uri = spec.get("trainingDatasetUri")
        if not uri:
            raise HttpError(400, "supervised_tuning_spec.training_dataset_uri is required.")
        hyper = dict(spec.get("hyperParameters") or {})
        rules.check_fields(hyper, _HYPER_FIELDS, "supervised_tuning_spec.hyper_parameters")
        if rules.current and ("batchSize" in hyper or "learningRate" in hyper):
            raise HttpError(400, "batch_size and learning_rate are only supported for open models.")
        examples, problem = read_dataset(uri, rules.current)
        validation_uri = spec.get("validationDatasetUri")
        validation: list[tuple[str, str]] = []
        if validation_uri and problem is None:
            validation, problem = read_dataset(validation_uri, rules.current)
        # vertex-tuning-limits (2026-09-25): at most 5,000 rows and 30% of training.
        if len(validation) > 5000 or len(validation) > 0.3 * len(examples):
            raise HttpError(
                400,
                f"The validation dataset has {len(validation)} examples; at most 5000 and "
                "30% of the training examples are allowed.",
            )
        epochs = hyper.get("epochCount")
        batch = hyper.get("batchSize")
        lr = hyper.get("learningRate")
        mult = hyper.get("learningRateMultiplier")
        if lr is None and mult is not None:  # the multiplier scales the fake's base rate
            lr = float(mult) * _BASE_LEARNING_RATE
        job_id = host.vertex.next_id()
        tuned, operation, steps = "", "", 0
        if problem is None:
            op = host.service.create_tuned_model(
                examples=examples,
                base_model="models/" + base.rsplit("/", 1)[-1],
                tuned_model_id=VERTEX_MODEL_PREFIX.split("/")[1] + job_id,
                display_name=body.get("tunedModelDisplayName") or "",
                description=body.get("description") or "",
                epoch_count=int(epochs) if epochs is not None else None,
                batch_size=int(batch) if batch is not None else None,
                learning_rate=float(lr) if lr is not None else None,
            )
            tuned, operation, steps = op.tuned_model, op.name, int(op.total_steps)
        project = req.params["project"]
        job = VertexJob(
            job_id=job_id,
            project=project_number(project) if rules.current else project,
            location=req.params["location"],
            tuned_model=tuned,
            operation=operation,
            base_model=base,
            display_name=body.get("tunedModelDisplayName") or "",
            description=body.get("description") or "",
            training_uri=uri,
            hyper=hyper,
            example_count=len(examples),
            total_steps=steps,
            create_time=_dt.datetime.now(_dt.timezone.utc),
            labels={str(k): str(v) for k, v in (body.get("labels") or {}).items()},
            validation_uri=validation_uri,
            validation_count=len(validation),
            strict=rules.current,
            project_id=project,
            model_id=host.vertex.next_id() if rules.current else "",
            endpoint_id=host.vertex.next_id() if rules.current else "",
            dataset_error=problem,
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
                if j.in_project(req.params["project"]) and j.location == req.params["location"]
            ]
        listed = [tuning_job_json(j, host.service) for j in jobs]
        wanted = list_filter(req.arg("filter") or "", ("state",), _job_field)
        listed = [j for j in listed if wanted(j)]
        size = int(req.arg("pageSize") or 100)
        start = int(req.arg("pageToken") or 0)
        out: dict[str, Any] = {"tuningJobs": listed[start : start + size]}
        if start + size < len(listed):
            out["nextPageToken"] = str(start + size)
        return 200, out

    def cancel_job(req: Request) -> Response:
        job = find_job(req)
        if job.dataset_error is not None:
            raise HttpError(
                400, f"Cannot cancel tuning job {job.name} in its current state.",
                "FAILED_PRECONDITION",
            )  # fmt: skip
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

    def endpoint_job(req: Request) -> VertexJob:
        wanted = req.params["endpoint"]
        with host.vertex.lock:
            jobs = list(host.vertex.jobs.values())
        for job in jobs:
            if job.in_project(req.params["project"]) and (job.endpoint_id or job.job_id) == wanted:
                return job
        raise HttpError(404, f"Endpoint {req.path.split(':')[0]} not found.", "NOT_FOUND")

    def generate_endpoint(req: Request) -> Response:
        job = endpoint_job(req)
        rec = host.service.peek_tuned_model(job.tuned_model) if job.tuned_model else None
        if rec is None or rec.state != "ACTIVE":
            raise HttpError(
                400, f"Endpoint {job.endpoint} has no deployed model.", "FAILED_PRECONDITION"
            )
        return 200, generate(host, "vertex", job.tuned_model, job.base_model, req.json(),
                             job.model_name)  # fmt: skip

    def generate_publisher(req: Request) -> Response:
        model = req.params["model"]
        if (
            bare_model(model)
            not in host.rules.catalogue.vertex_serves + host.rules.catalogue.vertex_tunes
        ):
            raise HttpError(
                404,
                f"Publisher Model `projects/{req.params['project']}/locations/"
                f"{req.params['location']}/publishers/google/models/{model}` was not found.",
                "NOT_FOUND",
            )
        return 200, generate(host, "vertex", "models/" + model, model, req.json(), model)

    def count_tokens(req: Request) -> Response:
        return 200, count_tokens_json(host, req.json())

    router.add("POST", loc + r"/tuningJobs", create_job, name="vertex.create")
    router.add("GET", loc + r"/tuningJobs", list_jobs, name="vertex.list")
    router.add("GET", job_path, get_job, name="vertex.get")
    router.add("POST", job_path + r":cancel", cancel_job, name="vertex.cancel")
    router.add(
        "POST",
        loc + r"/endpoints/(?P<endpoint>[^/:]+):generateContent",
        generate_endpoint,
        name="vertex.generate",
    )
    router.add(
        "POST",
        loc + r"/publishers/google/models/(?P<model>[^/:]+):generateContent",
        generate_publisher,
        name="vertex.generate_base",
    )
    router.add(
        "POST",
        loc + r"/(?:endpoints|publishers/google/models)/(?P<target>[^/:]+):countTokens",
        count_tokens,
        name="vertex.count_tokens",
    )
