"""Conversions and checks of the Vertex AI backend: google-genai objects -> library types.

Job states, tuning jobs as tuned models, base model names, the checks Vertex would fail
a tuning request on (validation-set size, adapter size, tuning regions) and the thinking
settings per model family, from the dated table in ``_catalogue``.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from .._contract import contract_from_description
from .._exceptions import ConfigError
from .._types import JobState, TunedModelInfo, TuningSpec
from ._catalogue import VERTEX_TUNING_REGIONS, bare_model, model_facts

__all__ = [
    "ADAPTER_NAMES",
    "MAX_VALIDATION_ROWS",
    "MAX_VALIDATION_SHARE",
    "STATES",
    "TOKEN_LABEL",
    "as_datetime",
    "check_vertex_spec",
    "enum_text",
    "model_info",
    "state_of",
    "step_count",
    "thinking_config",
    "vertex_base_model",
]

#: The label that carries a create request's client token (``find_tuning_job``).
TOKEN_LABEL = "pii-gemini-token"
#: Vertex's validation-set limits (vertex-tuning-limits, 2026-09-25): rows, share of train.
MAX_VALIDATION_ROWS = 5000
MAX_VALIDATION_SHARE = 0.3
ADAPTER_NAMES = {
    1: "ADAPTER_SIZE_ONE",
    2: "ADAPTER_SIZE_TWO",
    4: "ADAPTER_SIZE_FOUR",
    8: "ADAPTER_SIZE_EIGHT",
    16: "ADAPTER_SIZE_SIXTEEN",
    32: "ADAPTER_SIZE_THIRTY_TWO",
}

STATES: dict[str, JobState] = {
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


def state_of(job: Any) -> JobState:
    raw = getattr(job, "state", None)
    name = getattr(raw, "value", raw)
    return STATES.get(str(name), JobState.PENDING)


def as_datetime(value: Any) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    return None


def step_count(job: Any) -> int:
    stats = getattr(job, "tuning_data_stats", None)
    sft = getattr(stats, "supervised_tuning_data_stats", None)
    steps = getattr(sft, "tuning_step_count", None)
    return int(steps) if steps else 0


def vertex_base_model(source: str) -> str:
    if source.startswith("tunedModels/"):
        raise ConfigError(
            f"{source!r} is a Gemini API tuned model; Vertex AI tunes a base model such as "
            "'gemini-2.5-flash' or a Vertex tuned model 'projects/.../models/...'"
        )
    if source.startswith("models/"):
        return source[len("models/") :]
    return source


def model_info(job: Any) -> TunedModelInfo:
    """A tuning job as the tuned model it produces (or will produce)."""
    tuned = getattr(job, "tuned_model", None)
    return TunedModelInfo(
        name=getattr(tuned, "model", None) or job.name,
        state=state_of(job),
        base_model=getattr(job, "base_model", None) or "",
        display_name=getattr(job, "tuned_model_display_name", None) or "",
        description=getattr(job, "description", None) or "",
        create_time=as_datetime(getattr(job, "create_time", None)),
        update_time=as_datetime(getattr(job, "update_time", None)),
        endpoint=getattr(tuned, "endpoint", None),
        contract=contract_from_description(getattr(job, "description", None)),
    )


def check_vertex_spec(spec: TuningSpec, base: str, location: str) -> None:
    """ConfigError, before any upload, for what Vertex would refuse: validation-set size,
    adapter size for the base model, a Gemini 3 model outside its tuning regions."""
    n_val, n_train = len(spec.validation), len(spec.examples)
    if n_val > MAX_VALIDATION_ROWS or n_val > MAX_VALIDATION_SHARE * n_train:
        raise ConfigError(
            f"the validation set has {n_val} rows; Vertex AI takes at most "
            f"{MAX_VALIDATION_ROWS} and at most {MAX_VALIDATION_SHARE:.0%} of the training "
            f"rows ({int(MAX_VALIDATION_SHARE * n_train)} for {n_train})"
        )
    facts = model_facts(base)
    size = spec.hyperparameters.adapter_size
    if facts is not None and size is not None and size not in facts.adapter_sizes:
        raise ConfigError(
            f"{base} tunes with adapter_size {', '.join(map(str, facts.adapter_sizes))}, not {size}"
        )
    for prefix, regions in VERTEX_TUNING_REGIONS.items():
        if bare_model(base).startswith(prefix) and location not in regions:
            raise ConfigError(
                f"{base} can be tuned only in {', '.join(regions)}, not {location}: set "
                "GOOGLE_CLOUD_LOCATION or location="
            )


def thinking_config(model: str, budget: int | None) -> dict[str, Any] | None:
    """The ``thinking_config`` for ``model`` (a base model name) and a wanted budget.

    ``None`` for models that do not think or when nothing is asked; budget 0 becomes the
    least the model allows (its minimum budget, or its lowest thinking level).
    """
    facts = model_facts(model)
    if budget is None or facts is None or facts.thinking == "none":
        return None
    if facts.thinking == "level":
        return {"thinking_level": facts.min_level.upper() if budget == 0 else "HIGH"}
    if budget == 0:
        return {"thinking_budget": facts.min_budget}
    return {"thinking_budget": budget}


def enum_text(value: Any) -> str | None:
    if value is None:
        return None
    text = getattr(value, "value", value)
    text = str(text)
    if not text or text.endswith("_UNSPECIFIED"):
        return None
    return text
