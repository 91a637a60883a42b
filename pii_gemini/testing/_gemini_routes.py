"""Generative Language API routes (v1beta and v1) over a FakeService.

Every answer is schema-exact for the strict parsers of google-generativeai (operations are
parsed with ``ignore_unknown_fields=False``): camelCase keys, ``@type`` on the metadata and
response ``Any``s, RFC 3339 ``Z`` timestamps, no ``trainingData``/``learningRateMultiplier``
echo, and ``{"code", "message"}`` google.rpc errors inside finished operations.
"""

from __future__ import annotations

from typing import Any

from ..backends._catalogue import bare_model, model_facts
from ._era import EraRules, Host
from ._generate import count_tokens_json, generate, generate_json, prompt_from_body
from ._server import HttpError, Request, Response, Router, rfc3339

__all__ = [
    "METADATA_TYPE",
    "TUNED_MODEL_TYPE",
    "generate_json",
    "operation_json",
    "prompt_from_body",
    "register",
    "tuned_model_json",
]

#: The shared FakeService names the models of Vertex jobs so; the Gemini API never sees them.
VERTEX_MODEL_PREFIX = "tunedModels/vertex-"

#: Fields of the TunedModel resource a create body may carry (ai.google.dev/api/tuning).
_TUNED_MODEL_FIELDS = (
    "name",
    "baseModel",
    "tunedModelSource",
    "displayName",
    "description",
    "temperature",
    "topP",
    "topK",
    "state",
    "createTime",
    "updateTime",
    "tuningTask",
    "readerProjectNumbers",
)

METADATA_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.CreateTunedModelMetadata"
TUNED_MODEL_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.TunedModel"

_STATE_INT = {"STATE_UNSPECIFIED": 0, "CREATING": 1, "ACTIVE": 2, "FAILED": 3}

#: updateMask entries (either spelling) -> FakeService.update_tuned_model keyword.
_UPDATABLE = {
    "displayName": "display_name",
    "display_name": "display_name",
    "description": "description",
    "temperature": "temperature",
    "topP": "top_p",
    "top_p": "top_p",
    "topK": "top_k",
    "top_k": "top_k",
}


_Host = Host


def no_permission(name: str) -> HttpError:
    """What the Gemini API answers for a missing or foreign tuned model (tuned-model-403)."""
    return HttpError(
        403, f"You do not have permission to access tuned model {name}.", "PERMISSION_DENIED"
    )


def _tuned(host: _Host, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the service on tuned model ``name``; a 404 there is Google's 403."""
    if name.startswith(VERTEX_MODEL_PREFIX) or not host.service.has_tuned_model(name):
        raise no_permission(name)  # Vertex's models are not the Gemini API's
    return fn(*args, **kwargs)


def model_json(name: str, rules: EraRules) -> dict[str, Any]:
    """A Model resource (models.get/list) as the era serves it."""
    bare = bare_model(name)
    facts = model_facts(name)
    methods = ["generateContent", "countTokens"]
    if bare in rules.catalogue.gemini_tunes:
        methods.append("createTunedModel")
    out: dict[str, Any] = {
        "name": f"models/{bare}",
        "version": "001",
        "displayName": bare,
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536 if rules.current else 8192,
        "supportedGenerationMethods": methods,
    }
    if rules.current and facts is not None and facts.thinking != "none":
        out["thinking"] = True
    return out


def _snapshot_json(snap: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"step": int(snap.step), "meanLoss": float(snap.mean_loss)}
    if snap.epoch:
        out["epoch"] = int(snap.epoch)
    stamp = rfc3339(snap.compute_time)
    if stamp:
        out["computeTime"] = stamp
    return out


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def tuned_model_json(rec: Any, *, enum_int: bool = False) -> dict[str, Any]:
    """A TunedModel resource as the API returns it (never with training data)."""
    out: dict[str, Any] = {"name": rec.name}
    if rec.source_tuned_model:
        out["tunedModelSource"] = {
            "tunedModel": rec.source_tuned_model,
            "baseModel": rec.base_model,
        }
    else:
        out["baseModel"] = rec.base_model
    out["displayName"] = rec.display_name or ""
    out["description"] = rec.description or ""
    for key, attr in (("temperature", "temperature"), ("topP", "top_p"), ("topK", "top_k")):
        value = getattr(rec, attr)
        if value is not None:
            out[key] = value
    out["state"] = _STATE_INT.get(rec.state, 0) if enum_int else rec.state
    out["createTime"] = rfc3339(rec.create_time)
    out["updateTime"] = rfc3339(rec.update_time)
    hyper = _drop_none(
        {
            "epochCount": rec.epoch_count,
            "batchSize": rec.batch_size,
            "learningRate": rec.learning_rate,
        }
    )
    task = _drop_none(
        {
            "startTime": rfc3339(rec.start_time),
            "completeTime": rfc3339(rec.complete_time),
        }
    )
    task["snapshots"] = [_snapshot_json(s) for s in rec.snapshots]
    task["hyperparameters"] = hyper
    out["tuningTask"] = task
    return _drop_none(out)


def _rpc_error(error: Any) -> dict[str, Any]:
    """``(rpc_code, message)`` (or an object with code/message) -> google.rpc.Status JSON."""
    if isinstance(error, tuple):
        code, message = error
    else:
        code, message = getattr(error, "code", 2), getattr(error, "message", str(error))
    return {"code": int(code), "message": str(message)}


def operation_json(op: Any, service: Any) -> dict[str, Any]:
    """A google.longrunning.Operation for a tuning job, exactly as the SDK parses it."""
    metadata: dict[str, Any] = {
        "@type": METADATA_TYPE,
        "totalSteps": int(op.total_steps),
        "tunedModel": op.tuned_model,
    }
    if op.completed_steps:
        metadata["completedSteps"] = int(op.completed_steps)
    if op.completed_percent:
        metadata["completedPercent"] = float(op.completed_percent)
    if op.snapshots:
        metadata["snapshots"] = [_snapshot_json(s) for s in op.snapshots]
    out: dict[str, Any] = {"name": op.name, "metadata": metadata}
    if op.done:
        out["done"] = True
        if op.error:
            out["error"] = _rpc_error(op.error)
        else:
            model = tuned_model_json(service.peek_tuned_model(op.tuned_model))
            out["response"] = {"@type": TUNED_MODEL_TYPE, **model}
    return out


def register(router: Router, host: _Host) -> None:
    """Add the Generative Language routes to ``router``."""
    tm = r"tunedModels/(?P<id>[a-zA-Z0-9][a-zA-Z0-9_.-]*)"
    op = tm + r"/operations/(?P<op>[^/:]+)"

    def create(req: Request) -> Response:
        body = req.json()
        host.rules.check_fields(body, _TUNED_MODEL_FIELDS, "tuned_model")
        host.rules.gemini_create(body.get("baseModel") or body.get("base_model"))
        task = body.get("tuningTask") or body.get("tuning_task") or {}
        data = task.get("trainingData") or task.get("training_data") or {}
        outer = data.get("examples") or {}
        rows = outer.get("examples") if isinstance(outer, dict) else outer
        examples: list[tuple[str, str]] = []
        for i, row in enumerate(rows or []):
            if not isinstance(row, dict):
                raise HttpError(400, f"tuning_task.training_data.examples[{i}] is not an object")
            text = row.get("textInput", row.get("text_input"))
            output = row.get("output")
            if not isinstance(text, str) or not isinstance(output, str):
                raise HttpError(
                    400, f"tuning_task.training_data.examples[{i}] needs text_input and output"
                )
            examples.append((text, output))
        hyper = task.get("hyperparameters") or {}
        source = body.get("tunedModelSource") or body.get("tuned_model_source") or {}
        record = host.service.create_tuned_model(
            examples=examples,
            base_model=body.get("baseModel") or body.get("base_model"),
            tuned_model_source=source.get("tunedModel") or source.get("tuned_model"),
            tuned_model_id=req.arg("tunedModelId") or req.arg("tuned_model_id"),
            display_name=body.get("displayName") or body.get("display_name") or "",
            description=body.get("description") or "",
            epoch_count=hyper.get("epochCount", hyper.get("epoch_count")),
            batch_size=hyper.get("batchSize", hyper.get("batch_size")),
            learning_rate=hyper.get("learningRate", hyper.get("learning_rate")),
            temperature=body.get("temperature"),
            top_p=body.get("topP", body.get("top_p")),
            top_k=body.get("topK", body.get("top_k")),
        )
        return 200, operation_json(record, host.service)

    def get_model(req: Request) -> Response:
        name = f"tunedModels/{req.params['id']}"
        rec = _tuned(host, name, host.service.get_tuned_model, name)
        return 200, tuned_model_json(rec, enum_int=req.enum_int)

    def list_models(req: Request) -> Response:
        size_arg = req.arg("pageSize") or req.arg("page_size")
        try:
            size = int(size_arg) if size_arg else 50
        except ValueError:
            raise HttpError(
                400, f"Invalid value at 'page_size' (TYPE_INT32), \"{size_arg}\""
            ) from None
        token = req.arg("pageToken") or req.arg("page_token") or None
        models, next_token = host.service.list_tuned_models(
            page_size=size, page_token=token, hidden=VERTEX_MODEL_PREFIX
        )
        out: dict[str, Any] = {
            "tunedModels": [tuned_model_json(m, enum_int=req.enum_int) for m in models]
        }
        if next_token:
            out["nextPageToken"] = next_token
        return 200, out

    def patch_model(req: Request) -> Response:
        name = f"tunedModels/{req.params['id']}"
        _tuned(host, name, lambda: None)
        body = req.json()
        mask = req.arg("updateMask") or req.arg("update_mask") or ""
        fields = [f.strip() for f in mask.split(",") if f.strip()]
        if not fields:
            raise HttpError(400, "update_mask must be set and non-empty")
        kwargs: dict[str, Any] = {}
        for f in fields:
            if f not in _UPDATABLE:
                raise HttpError(400, f"Invalid update mask path: {f}")
            key = _UPDATABLE[f]
            camel = next(k for k, v in _UPDATABLE.items() if v == key)
            kwargs[key] = body.get(camel, body.get(key))
        rec = host.service.update_tuned_model(name, **kwargs)
        return 200, tuned_model_json(rec, enum_int=req.enum_int)

    def delete_model(req: Request) -> Response:
        name = f"tunedModels/{req.params['id']}"
        _tuned(host, name, host.service.delete_tuned_model, name)
        return 200, {}

    def get_op(req: Request) -> Response:
        name = f"tunedModels/{req.params['id']}/operations/{req.params['op']}"
        return 200, operation_json(host.service.get_operation(name), host.service)

    def list_ops(req: Request) -> Response:
        ops = host.service.list_operations(f"tunedModels/{req.params['id']}")
        return 200, {"operations": [operation_json(o, host.service) for o in ops]}

    def cancel_op(req: Request) -> Response:
        name = f"tunedModels/{req.params['id']}/operations/{req.params['op']}"
        host.service.cancel_operation(name)
        return 200, {}

    def generate_content(req: Request) -> Response:
        model = req.params["model"]
        base = model
        if model.startswith("tunedModels/"):
            base = _tuned(host, model, host.service.peek_tuned_model, model).base_model
        host.rules.gemini_generate(model)
        return 200, generate(host, "gemini", model, base, req.json(), None)

    def list_base_models(req: Request) -> Response:
        cat = host.rules.catalogue
        return 200, {"models": [model_json(m, host.rules) for m in cat.gemini_serves]}

    def get_base_model(req: Request) -> Response:
        name = req.params["model"]
        if bare_model(name) not in host.rules.catalogue.gemini_serves:
            raise HttpError(404, f"Model is not found: models/{name}.", "NOT_FOUND")
        return 200, model_json(name, host.rules)

    def count_tokens(req: Request) -> Response:
        model = req.params["model"]
        if model.startswith("tunedModels/"):
            _tuned(host, model, lambda: None)
        host.rules.gemini_generate(model)
        return 200, count_tokens_json(host, req.json())

    router.add("POST", r"tunedModels", create, name="gemini.create")
    router.add("GET", r"tunedModels", list_models, name="gemini.list")
    router.add("GET", tm, get_model, name="gemini.get")
    router.add("PATCH", tm, patch_model, name="gemini.update")
    router.add("DELETE", tm, delete_model, name="gemini.delete")
    router.add("GET", op, get_op, name="gemini.get_operation")
    router.add("GET", tm + r"/operations", list_ops, name="gemini.list_operations")
    router.add("POST", op + r":cancel", cancel_op, name="gemini.cancel")
    router.add(
        "POST",
        r"(?P<model>(?:tunedModels|models)/[a-zA-Z0-9][a-zA-Z0-9_.-]*):generateContent",
        generate_content,
        name="gemini.generate",
    )
    router.add(
        "POST",
        r"(?P<model>(?:tunedModels|models)/[a-zA-Z0-9][a-zA-Z0-9_.-]*):countTokens",
        count_tokens,
        name="gemini.count_tokens",
    )
    router.add("GET", r"models", list_base_models, name="gemini.list_models")
    router.add("GET", r"models/(?P<model>[a-zA-Z0-9][a-zA-Z0-9_.-]*)", get_base_model,
               name="gemini.get_model")  # fmt: skip
