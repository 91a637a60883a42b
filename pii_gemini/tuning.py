"""Tune a model on prompt/answer pairs and follow the job: progress, loss, failures.

``Tuner`` validates the training data and hyperparameters before it calls the backend,
then returns a ``TuningJob`` handle. ``TuningJob.wait()`` polls with a progress bar until the
job ends; ``snapshots()``, ``loss_by_epoch()`` and ``plot_loss()`` show how training went.
Every backend call goes through the one retry layer (``Retrier``).

Example::

    tuner = Tuner(FakeBackend())
    job = tuner.tune(train_df, epoch_count=2)
    model = job.wait()
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._contract import infer_contract, new_client_token
from ._exceptions import (
    AlreadyExistsError,
    BackendError,
    ConfigError,
    DatasetError,
)
from ._retry import Retrier, RetryPolicy
from ._tuning_job import TuningJob, _note
from ._types import (
    Hyperparameters,
    TrainingContract,
    TunedModelInfo,
    TuningExample,
    TuningJobInfo,
    TuningSpec,
)
from .backends._catalogue import CHECKED, bare_model
from .backends.base import Backend

if TYPE_CHECKING:
    from .dataset import PromptBuilder

__all__ = ["DEFAULT_SOURCE_MODEL", "Tuner", "TuningJob", "ignored_hyperparameters"]

#: The fake backend's default base model (it models the seed notebook's Gemini API). Each
#: backend has its own default (``Backend.default_source_model``, from the dated table in
#: ``backends/_catalogue.py``): Vertex tunes a current model, the Gemini API none.
DEFAULT_SOURCE_MODEL = "models/gemini-1.5-flash-001-tuning"
_NOT_REPEATED = (
    "the create was not repeated: this backend cannot look a job up by its client token, "
    "so a repeat could start a second, billed job"
)
_UNKNOWN = (
    "the job may exist (client token {token}); it could not be looked up ({error}): list "
    "the jobs before tuning again"
)
_DEFAULT_BATCH_SIZE = 4  # the seed notebook's
_DEFAULT_LEARNING_RATE = 0.001
_TUNED_SOURCE_RE = re.compile(r"(^|/)tunedModels/|^projects/")  # tuning a tuned model again
_MODEL_ID_RE = re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?")  # the service's rule
#: What the service's rule asks of a tuned model id (the CLI checks ``--model-id`` with it).
MODEL_ID_RULE = (
    "must be 1-40 lowercase letters, digits or dashes, start with a letter and not end with a dash"
)


def valid_model_id(model_id: str) -> bool:
    """True when ``model_id`` may name a tuned model (``MODEL_ID_RULE``)."""
    return _MODEL_ID_RE.fullmatch(model_id) is not None


_MODEL_COLUMNS = [
    "name",
    "display_name",
    "state",
    "base_model",
    "create_time",
    "update_time",
    "epoch_count",
    "batch_size",
    "learning_rate",
]

TrainData = pd.DataFrame | Sequence[TuningExample] | Sequence[tuple[str, str]]


class Tuner:
    """Starts tuning jobs and manages tuned models on one backend.

    ``retry`` governs every backend call; ``sleep`` and ``clock`` are injectable so tests
    run instantly; ``poll_interval`` is the default wait between polls in seconds.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if poll_interval < 0:
            raise ConfigError(f"poll_interval must be >= 0, got {poll_interval}")
        self.backend = backend
        self.retrier = Retrier(retry, sleep=sleep)
        self.sleep = sleep
        self.clock = clock
        self.poll_interval = poll_interval

    def _call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return self.retrier.call(fn, *args, **kwargs)

    def tune(
        self,
        train: TrainData,
        *,
        source_model: str | None = None,
        model_id: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        epoch_count: int = 2,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        learning_rate_multiplier: float | None = None,
        adapter_size: int | None = None,
        validation: TrainData | None = None,
        prompt_builder: PromptBuilder | None = None,
        input_column: str = "text_input",
        output_column: str = "output",
        allow_unlisted_model: bool = False,
    ) -> TuningJob:
        """Validate ``train`` and start a tuning job; returns its handle at once.

        ``train`` (and ``validation``) is a DataFrame (``input_column``/``output_column``),
        ``TuningExample``s or ``(text_input, output)`` pairs. ``source_model`` defaults to
        the backend's current tunable base model. ``validation`` rows go to Vertex as its
        validation dataset. ``prompt_builder`` is the one that built the prompts: its
        template and target are stored with the model (the training contract) so masking
        uses the same; without one the target is inferred from the outputs (and the
        seed's template recorded when every prompt has it). Raises DatasetError/ConfigError
        before any call, also for a base model the backend's dated catalogue does not list
        as tunable (``allow_unlisted_model=True`` sends a newer one all the same).

        ``batch_size`` (default 4) and ``learning_rate`` (default 0.001) are the Gemini
        API's; ``learning_rate_multiplier`` and ``adapter_size`` are Vertex's. Setting one
        the backend does not send (``Backend.tuning_hyperparameters``) warns; where the
        service picks the batch size (Vertex) the step count is the service's, 0 until
        it reports it.

        The create request is sent at most once per job: when its answer is lost (timeout,
        5xx, dropped connection) the job is looked up by the request's client token and
        handed back if it exists; only when it provably does not is the request repeated.
        """
        examples = _examples(train, input_column, output_column)
        held_out = (
            _examples(validation, input_column, output_column) if validation is not None else []
        )
        given = {
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "learning_rate_multiplier": learning_rate_multiplier,
            "adapter_size": adapter_size,
        }
        hyperparameters = Hyperparameters(
            epoch_count=epoch_count,
            batch_size=_DEFAULT_BATCH_SIZE if batch_size is None else batch_size,
            learning_rate=_DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate,
            learning_rate_multiplier=learning_rate_multiplier,
            adapter_size=adapter_size,
        )
        source = self._source_model(source_model)
        self.check_source_model(source, allow_unlisted=allow_unlisted_model)
        ignored = ignored_hyperparameters(self.backend, given)
        if ignored:
            warnings.warn(
                f"the {self.backend.name} backend does not send {', '.join(ignored)}: "
                f"it tunes with {', '.join(self.backend.tuning_hyperparameters)}",
                UserWarning,
                stacklevel=2,
            )
        if model_id is not None and not valid_model_id(model_id):
            raise ConfigError(f"model_id {MODEL_ID_RULE}")
        token = new_client_token()
        if prompt_builder is None:  # what the outputs teach is what the model will answer
            inferred = infer_contract(examples) or TrainingContract(target="")
            contract = TrainingContract(
                inferred.target, inferred.template, inferred.instruction, token
            )
        else:
            contract = TrainingContract(
                target=str(getattr(prompt_builder, "target", "")),
                template=str(getattr(prompt_builder, "template", "")),
                instruction=str(getattr(prompt_builder, "instruction", "")),
                token=token,
            )
        spec = TuningSpec(
            source_model=source,
            examples=tuple(examples),
            hyperparameters=hyperparameters,
            model_id=model_id,
            display_name=display_name,
            description=description,
            validation=tuple(held_out),
            client_token=token,
            contract=contract,
        )
        info = self._create(spec)
        derived = spec.total_steps if "batch_size" in self.backend.tuning_hyperparameters else 0
        job = TuningJob(self, info, total_steps=info.total_steps or derived)
        job.contract = contract if contract.target else None
        if not job.base_model:
            job.base_model = source
        return job

    def _source_model(self, source_model: str | None) -> str:
        if source_model is None:
            default = self.backend.default_source_model
            if default is None:
                raise ConfigError(self.backend.no_default_source_model)
            return default
        if not isinstance(source_model, str) or not source_model:
            raise ConfigError("source_model must be a non-empty model name")
        return source_model

    def check_source_model(self, source: str, *, allow_unlisted: bool = False) -> None:
        """ConfigError naming ``source`` when the backend's dated catalogue does not list it
        as tunable (before anything is uploaded). Tuned models pass (the service checks
        them), and so does any model with ``allow_unlisted``: one newer than the catalogue."""
        tunable = self.backend.tunable_models()
        if allow_unlisted or tunable is None or _TUNED_SOURCE_RE.search(source):
            return
        if bare_model(source) in {bare_model(m) for m in tunable}:
            return
        era = getattr(self.backend, "era", None)
        where = f"the {self.backend.name} backend" + (f" ({era} catalogue)" if era else "")
        listed = ", ".join(tunable) if tunable else "none: " + self.backend.no_default_source_model
        dated = f"the dated table, checked {CHECKED}" if era else "its list"
        raise ConfigError(
            f"{source!r} is not a base model {where} can tune. Tunable: {listed}. (For a "
            f"model newer than {dated}, pass allow_unlisted_model=True, CLI "
            "--allow-unlisted-model.)"
        )

    def _create(self, spec: TuningSpec) -> TuningJobInfo:
        """Create the job at most once: after an ambiguous failure, find it before retrying."""
        policy = self.retrier.policy
        attempt = 0
        while True:
            attempt += 1
            try:
                info: TuningJobInfo = self.backend.create_tuning_job(spec)
                return info
            except BackendError as exc:
                # A 409 on a repeat may be our own first attempt, committed after all.
                ambiguous = policy.should_retry(exc) or (
                    attempt > 1 and isinstance(exc, AlreadyExistsError)
                )
                if not ambiguous:
                    raise
                found = self._reconcile(spec, exc)
                if found is not None:
                    return found
                if isinstance(exc, AlreadyExistsError) or attempt >= policy.attempts:
                    _note(exc, f"no tuning job with client token {spec.client_token} exists")
                    raise
                self.retrier.retries += 1  # the Tuner's own Retrier: no other thread
                self.sleep(_backoff(policy, exc, attempt))

    def _reconcile(self, spec: TuningSpec, exc: BackendError) -> TuningJobInfo | None:
        """The job ``spec`` created despite ``exc``, or None when it provably does not exist."""
        try:
            found: TuningJobInfo | None = self._call(self.backend.find_tuning_job, spec)
        except NotImplementedError:
            _note(exc, _NOT_REPEATED)
            raise exc from None
        except BackendError as lookup:
            _note(exc, _UNKNOWN.format(token=spec.client_token, error=type(lookup).__name__))
            raise exc from None
        return found

    def job(self, name: str) -> TuningJob:
        """Re-attach to an existing job by name (e.g. after a timeout or a restart)."""
        info: TuningJobInfo = self._call(self.backend.get_tuning_job, name)
        return TuningJob(self, info, total_steps=info.total_steps)

    def get_model(self, name: str) -> TunedModelInfo:
        """Describe one tuned model."""
        model: TunedModelInfo = self._call(self.backend.get_model, name)
        return model

    def list_models(self) -> list[TunedModelInfo]:
        """All tuned models visible to the backend's credentials."""
        models: list[TunedModelInfo] = self._call(self.backend.list_models)
        return models

    def delete_model(self, name: str) -> None:
        """Delete a tuned model."""
        self._call(self.backend.delete_model, name)

    def models_frame(self) -> pd.DataFrame:
        """The tuned models as a table, one row per model."""
        rows = [
            {
                "name": m.name,
                "display_name": m.display_name,
                "state": m.state.value,
                "base_model": m.base_model,
                "create_time": m.create_time,
                "update_time": m.update_time,
                "epoch_count": m.hyperparameters.epoch_count if m.hyperparameters else None,
                "batch_size": m.hyperparameters.batch_size if m.hyperparameters else None,
                "learning_rate": m.hyperparameters.learning_rate if m.hyperparameters else None,
            }
            for m in self.list_models()
        ]
        frame: pd.DataFrame = pd.DataFrame(rows, columns=_MODEL_COLUMNS)
        return frame


def ignored_hyperparameters(backend: Backend, given: Mapping[str, object]) -> list[str]:
    """The names in ``given`` that are set (not None) but ``backend`` does not send."""
    return [
        name
        for name, value in given.items()
        if value is not None and name not in backend.tuning_hyperparameters
    ]


def _backoff(policy: RetryPolicy, exc: BackendError, attempt: int) -> float:
    """Seconds before the next create: the server's delay, else exponential backoff."""
    if policy.honor_retry_after and exc.retry_after is not None:
        return float(min(max(exc.retry_after, 0.0), policy.max_delay))
    return float(min(policy.initial_delay * policy.exp_base ** (attempt - 1), policy.max_delay))


def _examples(train: TrainData, input_column: str, output_column: str) -> list[TuningExample]:
    """Normalise the accepted training inputs to TuningExamples, checking every cell."""
    if isinstance(train, pd.DataFrame):
        for column in (input_column, output_column):
            if column not in train.columns:
                raise DatasetError(
                    f"training data has no column {column!r} "
                    f"(columns: {', '.join(map(str, train.columns))})",
                    column=column,
                )
        pairs: list[tuple[object, object]] = list(
            zip(train[input_column].tolist(), train[output_column].tolist(), strict=True)
        )
    elif isinstance(train, (str, bytes)) or not isinstance(train, Sequence):
        raise DatasetError(
            "training data must be a DataFrame or a sequence of TuningExample or "
            f"(text_input, output) pairs, got {type(train).__name__}"
        )
    else:
        pairs = []
        for row, item in enumerate(train):
            if isinstance(item, TuningExample):
                pairs.append((item.text_input, item.output))
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise DatasetError(
                    f"training example {row} is not a TuningExample or a (text_input, output) pair",
                    row=row,
                )
    if not pairs:
        raise DatasetError("training data is empty")
    examples: list[TuningExample] = []
    for row, (text_input, output) in enumerate(pairs):
        for column, cell in ((input_column, text_input), (output_column, output)):
            if not isinstance(cell, str):
                raise DatasetError(
                    f"training row {row}: {column} must be a string, got {type(cell).__name__}",
                    column=column,
                    row=row,
                )
            if not cell.strip():
                raise DatasetError(f"training row {row}: {column} is empty", column=column, row=row)
        assert isinstance(text_input, str) and isinstance(output, str)
        examples.append(TuningExample(text_input=text_input, output=output))
    return examples
