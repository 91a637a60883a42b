"""Vertex AI batch prediction (``batchPredictionJobs``) of the emulator.

Google documents batch prediction for tuned Gemini models: the model is named
``projects/P/locations/L/models/M`` (vertex-batch-tuned). Input is a JSONL file in Cloud
Storage with one ``{"key": ..., "request": GenerateContentRequest}`` per line; the job
writes ``<outputUriPrefix>/prediction-model-<time>/predictions.jsonl`` with
``{"key", "request", "response" | "status"}`` per line. Here the job is accepted at once
(``JOB_STATE_PENDING``), runs on the first poll and has written its results by the
second; a line that fails carries its error in ``status`` (modelled on the documented
output format, the timing is ours).

``list`` serves the documented ``filter`` (SOURCES["vertex-batch-list"], read 2026-12-04)
more strictly than Google (``_filters``): ``AND`` of ``display_name``/``state`` ``=``/``!=``
and ``labels.k=v`` terms only; any other term (``OR``, ``NOT``, wildcards, times) is a 400,
so a client can never take a filter we ignored for an empty answer. ``displayName`` is
required on create, as the page says (google-genai always sends one).
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from typing import Any

from ._filters import list_filter
from ._generate import generate
from ._server import HttpError, Request, Response, Router, rfc3339

__all__ = ["BatchJob", "register"]


@dataclass
class BatchJob:
    """One batch prediction job of the emulator."""

    job_id: str
    name: str
    model: str
    tuned_model: str  # FakeService model that answers ("models/x" for a base model)
    base_model: str
    input_uris: list[str]
    output_prefix: str
    create_time: _dt.datetime
    display_name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    polls: int = 0
    state: str = "JOB_STATE_PENDING"
    output_dir: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def _json(job: BatchJob) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": job.name,
        "displayName": job.display_name,
        "model": job.model,
        "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": list(job.input_uris)}},
        "outputConfig": {
            "predictionsFormat": "jsonl",
            "gcsDestination": {"outputUriPrefix": job.output_prefix},
        },
        "state": job.state,
        "createTime": rfc3339(job.create_time),
        "updateTime": rfc3339(_dt.datetime.now(_dt.timezone.utc)),
    }
    if job.labels:
        out["labels"] = dict(job.labels)
    if job.output_dir:
        out["outputInfo"] = {"gcsOutputDirectory": job.output_dir}
    if job.counts:
        out["completionStats"] = {k: str(v) for k, v in job.counts.items()}
    return out


_FILTER_FIELDS = ("display_name", "displayName", "state")


def _field(job: BatchJob, name: str) -> str | None:
    """One field of ``job`` as a list filter reads it."""
    if name.startswith("labels."):
        return job.labels.get(name[len("labels.") :])
    return job.state if name == "state" else job.display_name


def register(router: Router, host: Any) -> None:
    """Add the batchPredictionJobs routes (create, get, list, cancel) to ``router``."""
    loc = r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    jobs: dict[str, BatchJob] = host.vertex.batch_jobs  # emptied by Emulator.reset()

    def model_of(name: str) -> tuple[str, str]:
        """(FakeService model, base model) for a batch ``model``: a tuned model resource
        of a Vertex tuning job, or a publisher base model."""
        if "/models/" in name and "/publishers/" not in name:
            wanted = name.rsplit("/", 1)[-1].split("@")[0]
            with host.vertex.lock:
                found = [j for j in host.vertex.jobs.values() if (j.model_id or j.job_id) == wanted]
            if not found or not found[0].tuned_model:
                raise HttpError(404, f"Model {name} not found.", "NOT_FOUND")
            return found[0].tuned_model, found[0].base_model
        bare = name.rsplit("/", 1)[-1]
        return f"models/{bare}", bare

    def create(req: Request) -> Response:
        body = req.json()
        model = body.get("model")
        source = ((body.get("inputConfig") or {}).get("gcsSource") or {}).get("uris") or []
        prefix = ((body.get("outputConfig") or {}).get("gcsDestination") or {}).get(
            "outputUriPrefix"
        )
        display = body.get("displayName")
        if not isinstance(model, str) or not source or not isinstance(prefix, str):
            raise HttpError(400, "model, input_config.gcs_source and output_config are required.")
        if not isinstance(display, str) or not display:
            raise HttpError(400, "display_name is required.", "INVALID_ARGUMENT")
        tuned, base = model_of(model)
        job_id = host.vertex.next_id()
        name = f"projects/{req.params['project']}/locations/{req.params['location']}"
        job = BatchJob(
            job_id=job_id,
            name=f"{name}/batchPredictionJobs/{job_id}",
            model=model,
            tuned_model=tuned,
            base_model=base,
            input_uris=[str(u) for u in source],
            output_prefix=prefix.rstrip("/"),
            create_time=_dt.datetime.now(_dt.timezone.utc),
            display_name=display,
            labels={str(k): str(v) for k, v in (body.get("labels") or {}).items()},
        )
        jobs[job_id] = job
        return 200, _json(job)

    def run(job: BatchJob) -> None:
        """Answer every line of the input and write predictions.jsonl."""
        lines: list[str] = []
        ok = failed = 0
        for uri in job.input_uris:
            data = host.get_object(uri)
            for raw in data.decode("utf-8").splitlines():
                if not raw.strip():
                    continue
                record = json.loads(raw)
                out: dict[str, Any] = {"key": record.get("key"), "request": record.get("request")}
                try:
                    out["response"] = generate(
                        host, "vertex", job.tuned_model, job.base_model,
                        dict(record.get("request") or {}), job.model,
                    )  # fmt: skip
                    out["status"] = ""
                    ok += 1
                except HttpError as exc:
                    out["status"] = f"{exc.code} {exc.status}"
                    failed += 1
                lines.append(json.dumps(out))
        stamp = job.create_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        job.output_dir = f"{job.output_prefix}/prediction-model-{stamp}"
        host.put_object(f"{job.output_dir}/predictions.jsonl", ("\n".join(lines) + "\n").encode())
        job.counts = {"successfulCount": ok, "failedCount": failed}

    def get(req: Request) -> Response:
        job = jobs.get(req.params["job"])
        if job is None:
            raise HttpError(404, f"BatchPredictionJob {req.params['job']} not found.", "NOT_FOUND")
        if job.state in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING"):
            job.polls += 1
            if job.polls == 1:
                job.state = "JOB_STATE_RUNNING"
            else:
                run(job)
                job.state = "JOB_STATE_SUCCEEDED"
        return 200, _json(job)

    def list_jobs(req: Request) -> Response:
        where = f"projects/{req.params['project']}/locations/{req.params['location']}/"
        wanted = list_filter(req.arg("filter") or "", _FILTER_FIELDS, _field)
        found = [j for j in jobs.values() if j.name.startswith(where) and wanted(j)]
        size = int(req.arg("pageSize") or 100)
        start = int(req.arg("pageToken") or 0)
        page = [_json(j) for j in found[start : start + size]]
        out: dict[str, Any] = {"batchPredictionJobs": page}
        if start + size < len(found):
            out["nextPageToken"] = str(start + size)
        return 200, out

    def cancel(req: Request) -> Response:
        job = jobs.get(req.params["job"])
        if job is None:
            raise HttpError(404, f"BatchPredictionJob {req.params['job']} not found.", "NOT_FOUND")
        if job.state in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING"):
            job.state = "JOB_STATE_CANCELLED"
        return 200, {}

    router.add("POST", loc + r"/batchPredictionJobs", create, name="vertex.batch_create")
    router.add("GET", loc + r"/batchPredictionJobs", list_jobs, name="vertex.batch_list")
    router.add("GET", loc + r"/batchPredictionJobs/(?P<job>[^/:]+)", get, name="vertex.batch_get")
    router.add("POST", loc + r"/batchPredictionJobs/(?P<job>[^/:]+):cancel", cancel,
               name="vertex.batch_cancel")  # fmt: skip
