"""Mask a file through Vertex AI batch prediction: the batch price, no online quota.

Google documents batch prediction for tuned Gemini models (the model named
``projects/P/locations/L/models/M``); answers arrive asynchronously, typically within
24 hours, at half the online price. ``mask_file_batch`` (``Masker.mask_file(...,
mode="batch")``):

1. builds the prompt of every row the output does not hold yet (resume), exactly as the
   online path would, and stages them as one batch job (Vertex only);
2. records a client token in ``OUT.batch.json`` before it creates the job, and the job
   once created: a re-run after a crash, or a create whose answer was lost, finds the job
   by its token and re-attaches to it instead of starting (and paying for) a second one;
3. polls until the job ends, reads its predictions;
4. runs the ordinary ``mask_file`` over the answers: the same records, per-row statuses,
   safety net, operators, checkpoint and resume. A row the batch could not answer (a
   failed line, a text too long for one request) is asked online instead.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ._contract import new_client_token
from ._exceptions import BackendError, ConfigError, NotFoundError, TuningTimeout
from ._files import atomic_write
from ._io import iter_rows
from ._retry import Retrier
from ._types import Generation, GenerationConfig, JobState, TunedModelInfo, TuningJobInfo
from .backends.base import Backend


class Masker(Protocol):
    """What batch masking uses of a ``pii_gemini.masking.Masker`` (no import: the Masker
    imports this module)."""

    backend: Backend
    model: str
    prompt_builder: Any
    generation_config: GenerationConfig
    retry: Any
    concurrency: int
    max_input_chars: int
    safety_net: Any
    operator: Any
    operator_params: dict[str, Any]
    vault: Any
    repair: bool
    last_summary: Any

    def mask_file(self, *args: Any, **kwargs: Any) -> Any: ...


MaskSummary = Any  # pii_gemini.masking.MaskSummary

__all__ = ["mask_file_batch"]

_STATE_SUFFIX = ".batch.json"


def mask_file_batch(
    masker: Masker,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    text_column: str = "source_text",
    id_column: str | None = None,
    resume: bool = True,
    poll_interval: float = 60.0,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    **mask_file_kwargs: Any,
) -> MaskSummary:
    """Mask ``input_path`` into ``output_path`` with one Vertex AI batch prediction job.

    ``poll_interval``/``timeout`` (seconds) govern the wait for the job; a timeout raises
    ``TuningTimeout`` naming the job, and running the same call again re-attaches to it.
    Other keyword arguments go to ``Masker.mask_file``.
    """
    backend = masker.backend
    verbs = ("create_batch", "find_batch", "get_batch", "batch_results")
    if not all(hasattr(backend, m) for m in verbs):
        raise ConfigError(
            f"batch masking needs the vertex backend (Vertex AI batch prediction), not "
            f"{backend.name!r}: use mode='online'"
        )
    output = Path(output_path)
    state_path = output.with_name(output.name + _STATE_SUFFIX)
    requests = _pending_prompts(masker, Path(input_path), output, text_column, id_column, resume)
    answers: dict[str, Generation | None] = {}
    if requests:
        job = _attach_or_create(backend, masker, requests, state_path, sleep)
        folder = _wait(backend, job, poll_interval, timeout, sleep, clock)
        by_key = backend.batch_results(folder)  # type: ignore[attr-defined]
        answers = {prompt: by_key.get(key) for key, prompt in requests}
    online = _clone(masker, _Answers(backend, answers))
    summary = online.mask_file(
        input_path, output_path, text_column=text_column, id_column=id_column,
        resume=resume, **mask_file_kwargs,
    )  # fmt: skip
    state_path.unlink(missing_ok=True)
    masker.last_summary = summary
    return summary


def _done_rows(output: Path, resume: bool) -> set[int]:
    """Row numbers the output already holds (the file job checks them again)."""
    if not resume or not output.is_file():
        return set()
    done: set[int] = set()
    with output.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                row = json.loads(line).get("row")
            except (ValueError, AttributeError):
                continue
            if isinstance(row, int):
                done.add(row)
    return done


def _pending_prompts(
    masker: Masker, source: Path, output: Path, text_column: str,
    id_column: str | None, resume: bool,
) -> list[tuple[str, str]]:  # fmt: skip
    """``(key, prompt)`` for every row still to mask that fits one request, in row order.

    The prompt is the one the online path sends for a text of a single piece (the text
    without its surrounding whitespace); anything else is left to the online path.
    """
    done = _done_rows(output, resume)
    seen: set[str] = set()
    requests: list[tuple[str, str]] = []
    for row in iter_rows(source, text_column, id_column):
        text = row.text
        if row.index in done or row.error or not isinstance(text, str) or not text.strip():
            continue
        if len(text) > masker.max_input_chars:
            continue
        prompt = masker.prompt_builder.format(text.strip())
        if prompt not in seen:  # identical texts are asked once, like the online cache
            seen.add(prompt)
            requests.append((f"row-{row.index}", prompt))
    return requests


def _attach_or_create(
    backend: Any, masker: Masker, requests: list[tuple[str, str]], state_path: Path,
    sleep: Callable[[float], None],
) -> str:  # fmt: skip
    """The batch job of an earlier, interrupted run (still usable), else a new one.

    The client token (and model) are recorded before the create is sent: a run that dies
    or loses the answer leaves the token, and the next run looks the job up by it instead
    of paying for a second one.
    """
    state = _read_state(state_path)
    if state and state.get("model") != masker.model:
        raise ConfigError(
            f"{state_path} records a batch job for another model ({state.get('model')}): "
            "run with that model, or delete the file once that job is no longer wanted"
        )
    job = state.get("job")
    if job:
        try:
            status, _ = backend.get_batch(job)
        except NotFoundError:  # deleted: the next create is a new job
            status = JobState.FAILED
        if status not in (JobState.FAILED, JobState.CANCELLED):
            return job
        state = {}
    token = state.get("token") or new_client_token()
    if not state:
        _write_state(state_path, {"token": token, "model": masker.model})
    job = _create_once(backend, masker, requests, token, look_first=bool(state), sleep=sleep)
    _write_state(state_path, {"job": job, "token": token, "model": masker.model})
    return job


def _create_once(
    backend: Any, masker: Masker, requests: list[tuple[str, str]], token: str, *,
    look_first: bool, sleep: Callable[[float], None],
) -> str:  # fmt: skip
    """Create the job for ``token`` at most once, retrying per the Masker's policy.

    Every create after a failed one (or after a run that left only the token) is preceded
    by a lookup that must succeed and find nothing; a job the lookup finds is handed back.
    """
    sent = [look_first]

    def attempt() -> str:
        if sent[0]:
            found = backend.find_batch(token)
            if found is not None:
                return str(found)
        sent[0] = True
        return str(backend.create_batch(masker.model, requests, masker.generation_config, token))

    try:
        return Retrier(masker.retry, sleep=sleep).call(attempt)
    except BackendError as exc:
        add_note = getattr(exc, "add_note", None)  # Python 3.11+
        if sent[0] and add_note is not None:
            add_note(
                f"the batch job for client token {token} may exist: it is not created again "
                "until a lookup shows none; run the same call again to attach to it"
            )
        raise


def _read_state(path: Path) -> dict[str, str]:
    """``OUT.batch.json``: ``token`` and ``model``, and ``job`` once the create answered."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read {path} ({type(exc).__name__}): it records the batch job of an "
            "earlier run; delete it only if no such job is wanted"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} is not a batch job record; delete it to start over")
    return {k: str(v) for k, v in raw.items() if k in ("job", "token", "model") and v}


def _write_state(path: Path, state: dict[str, str]) -> None:
    """Replace ``OUT.batch.json`` atomically (0600, an unpredictable O_EXCL temp name)."""
    with atomic_write(path) as fh:
        fh.write(json.dumps(state).encode("utf-8"))


def _wait(
    backend: Any, job: str, interval: float, timeout: float | None,
    sleep: Callable[[float], None], clock: Callable[[], float],
) -> str:  # fmt: skip
    """Poll ``job`` until it ends; its output folder, or an error naming the job."""
    started = clock()
    while True:
        state, folder = backend.get_batch(job)
        if state is JobState.SUCCEEDED and folder:
            return str(folder)
        if state in (JobState.FAILED, JobState.CANCELLED):
            raise BackendError(f"batch prediction job {job} ended {state.value}")
        if timeout is not None and clock() - started >= timeout:
            raise TuningTimeout(
                f"batch prediction job {job} did not finish within {timeout:g} s; run the "
                "same call again to wait for it",
                job_name=job,
            )
        sleep(interval)


def _clone(masker: Masker, backend: Backend) -> Masker:
    """A Masker with ``masker``'s settings over another backend."""
    make: Any = type(masker)
    clone: Masker = make(
        backend, masker.model, prompt_builder=masker.prompt_builder,
        generation_config=masker.generation_config, retry=masker.retry,
        concurrency=masker.concurrency, max_input_chars=masker.max_input_chars,
        safety_net=masker.safety_net if masker.safety_net is not None else False,
        operator=masker.operator, operator_params=masker.operator_params,
        vault=masker.vault, repair=masker.repair,
    )  # fmt: skip
    return clone


class _Answers(Backend):
    """The batch's answers by prompt; what it lacks is asked online from ``real``."""

    name = "batch"

    def __init__(self, real: Backend, answers: dict[str, Generation | None]) -> None:
        self._real = real
        self._answers = answers

    def generate(
        self, model: str, prompt: str, config: GenerationConfig | None = None
    ) -> Generation:
        answer = self._answers.get(prompt)
        return answer if answer is not None else self._real.generate(model, prompt, config)

    def get_model(self, name: str) -> TunedModelInfo:
        return self._real.get_model(name)

    def list_models(self) -> list[TunedModelInfo]:
        return self._real.list_models()

    def create_tuning_job(self, spec: Any) -> TuningJobInfo:
        raise ConfigError("the batch answers backend does not tune")

    def get_tuning_job(self, name: str) -> TuningJobInfo:
        return self._real.get_tuning_job(name)

    def cancel_tuning_job(self, name: str) -> None:
        self._real.cancel_tuning_job(name)

    def delete_model(self, name: str) -> None:
        raise ConfigError("the batch answers backend does not delete models")
