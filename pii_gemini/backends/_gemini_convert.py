"""Conversions of the Gemini API backend: google-generativeai objects -> library types.

Tuned models (``TunedModelInfo``), tuning operations (``TuningJobInfo``), their states
(``JobState``) and loss snapshots; model names get their ``models/`` prefix; a
``GenerationConfig`` becomes the SDK's ``generation_config`` dict.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from .._contract import contract_from_description
from .._exceptions import ConfigError
from .._redact import redact
from .._types import (
    GenerationConfig,
    Hyperparameters,
    JobState,
    LossSnapshot,
    TunedModelInfo,
    TuningJobInfo,
)

__all__ = [
    "enum_name",
    "generation_config",
    "job_info",
    "model_info",
    "model_name",
    "snapshot_from_proto",
]

_RPC_CANCELLED = 1  # google.rpc.Code.CANCELLED

_STATE_NAMES = {0: "STATE_UNSPECIFIED", 1: "CREATING", 2: "ACTIVE", 3: "FAILED"}


def enum_name(value: Any) -> str | None:
    """Name of a proto-plus enum value, None for 0/unspecified."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return str(value) or None
    if number == 0:
        return None
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else str(number)


def _as_datetime(value: Any) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    return None


def snapshot_from_proto(snap: Any) -> LossSnapshot:
    """A TuningSnapshot proto (operation metadata) -> LossSnapshot."""
    return LossSnapshot(
        step=int(snap.step),
        epoch=int(snap.epoch),
        mean_loss=float(snap.mean_loss),
        compute_time=_as_datetime(getattr(snap, "compute_time", None)),
    )


def _snapshot_from_dict(snap: dict[str, Any]) -> LossSnapshot:
    # google-generativeai decodes tuning_task.snapshots into plain dicts, dropping zeros.
    return LossSnapshot(
        step=int(snap.get("step", 0)),
        epoch=int(snap.get("epoch", 0)),
        mean_loss=float(snap.get("mean_loss", 0.0)),
        compute_time=_as_datetime(snap.get("compute_time")),
    )


def _model_state(model: Any) -> JobState:
    raw = getattr(model, "state", 0)
    name = getattr(raw, "name", None) or _STATE_NAMES.get(int(raw), "STATE_UNSPECIFIED")
    if name == "ACTIVE":
        return JobState.SUCCEEDED
    if name == "FAILED":
        return JobState.FAILED
    return JobState.RUNNING


def model_info(model: Any) -> TunedModelInfo:
    """google.generativeai TunedModel dataclass -> TunedModelInfo."""
    task = getattr(model, "tuning_task", None)
    hyper = None
    snapshots: tuple[LossSnapshot, ...] = ()
    if task is not None:
        hp = getattr(task, "hyperparameters", None)
        if hp is not None and hp.epoch_count and hp.batch_size and hp.learning_rate:
            try:
                hyper = Hyperparameters(
                    epoch_count=int(hp.epoch_count),
                    batch_size=int(hp.batch_size),
                    learning_rate=float(hp.learning_rate),
                )
            except ConfigError:
                hyper = None
        snapshots = tuple(
            _snapshot_from_dict(s) if isinstance(s, dict) else snapshot_from_proto(s)
            for s in (task.snapshots or ())
        )
    return TunedModelInfo(
        name=model.name or "",
        state=_model_state(model),
        base_model=model.base_model or "",
        display_name=model.display_name or "",
        description=model.description or "",
        hyperparameters=hyper,
        snapshots=snapshots,
        create_time=_as_datetime(model.create_time),
        update_time=_as_datetime(model.update_time),
        contract=contract_from_description(model.description),
    )


def model_name(name: str) -> str:
    """A model name with its collection: ``gemini-x`` -> ``models/gemini-x``."""
    return name if "/" in name else f"models/{name}"


def job_info(operation: Any, base_model: str) -> TuningJobInfo:
    """TuningJobInfo from a CreateTunedModelOperation (cached state, no network).

    ``base_model`` is the one the backend remembers for the operation ("" if none); a
    finished job without one reads it from the operation's result.
    """
    meta = operation.metadata
    proto = operation.operation
    total = int(meta.total_steps) if meta is not None else 0
    completed = int(meta.completed_steps) if meta is not None else 0
    snapshots = tuple(snapshot_from_proto(s) for s in meta.snapshots) if meta else ()
    model = meta.tuned_model if meta is not None else operation.name.split("/operations/")[0]
    error: str | None = None
    if not proto.done:
        state = JobState.RUNNING
    elif proto.HasField("error"):
        error = redact(proto.error.message) or f"rpc code {proto.error.code}"
        state = JobState.CANCELLED if proto.error.code == _RPC_CANCELLED else JobState.FAILED
    else:
        state = JobState.SUCCEEDED
        completed = max(completed, total)
    base = base_model
    if not base and proto.done and not proto.HasField("error"):
        try:
            base = operation.result(timeout=0).base_model or ""
        except Exception:  # the response may be missing or undecodable
            base = ""
    return TuningJobInfo(
        name=operation.name,
        model=model,
        state=state,
        base_model=base,
        total_steps=total,
        completed_steps=completed,
        snapshots=snapshots,
        error=error,
    )


def generation_config(config: GenerationConfig) -> dict[str, Any]:
    """The sampling settings that are set, as google-generativeai's generation_config."""
    return dict(config.sampling())
