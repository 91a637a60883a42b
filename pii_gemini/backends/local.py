"""LocalBackend: tune an open Gemma model with LoRA and mask with it on this machine.

Same verbs as the cloud backends, so ``Tuner``, ``Masker``, ``metrics`` and the CLI work
unchanged (``make_backend("local")``, ``--backend local``). Nothing leaves the machine:
the base checkpoint comes from a folder or the local Hugging Face cache (never downloaded),
training runs in a background worker (``_local_worker``), and every tuned model is a
folder under ``models_dir`` with its LoRA adapter and model card (``_local_store``).

* ``create_tuning_job`` writes the card and the examples, then starts the worker; the job
  is ``tunedModels/<id>/operations/tune``, the model ``tunedModels/<id>``.
* ``get_tuning_job`` reads the card and the loss log. A job whose worker died (a crash,
  ``kill -9``, a reboot) is restarted from its last checkpoint, up to ``max_restarts``
  times, so ``Tuner.job(name).wait()`` simply carries on.
* ``generate`` queues the prompt for the generation thread, which decodes the prompts of
  concurrent callers as one batch (``_local_batch``): the Masker's concurrency is the
  batch size, capped at ``max_batch_size``.

``base_model`` is the ``default_source_model`` the Tuner tunes when given none. The
stack (torch, transformers, peft) is the ``local`` extra; without it the constructor raises
BackendUnavailableError saying what to install. Needs POSIX ``flock`` to detect a dead
worker (Linux, macOS).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import ClassVar

from .._exceptions import (
    AlreadyExistsError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
)
from .._types import (
    Generation,
    GenerationConfig,
    JobState,
    TunedModelInfo,
    TuningJobInfo,
    TuningSpec,
)
from ._local_batch import Batcher
from ._local_card import ModelCard, data_digest, infer_target, now
from ._local_generate import Generator, ModelSource
from ._local_runtime import check_stack, prefer_passive_openmp, resolve_base, stack_versions
from ._local_store import ModelFolder, model_id_of
from ._local_tiny import build_tiny_checkpoint
from ._local_worker import await_worker_exit, start_worker, supervise, tidy
from .base import Backend

__all__ = [
    "BASE_MODEL_ENV",
    "DEFAULT_BASE_MODEL",
    "DEFAULT_TARGET_MODULES",
    "MODELS_DIR_ENV",
    "LocalBackend",
    "build_tiny_checkpoint",
    "default_models_dir",
]

#: The smallest current Gemma text model, instruction-tuned (a setting: ``base_model=``).
DEFAULT_BASE_MODEL = "google/gemma-3-270m-it"
BASE_MODEL_ENV = "PII_GEMINI_LOCAL_BASE_MODEL"
MODELS_DIR_ENV = "PII_GEMINI_LOCAL_DIR"
#: LoRA on every projection of attention and MLP (Gemma's module names).
DEFAULT_TARGET_MODULES = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
)
_WORKERS = ("process", "thread")


def default_models_dir() -> Path:
    """``$PII_GEMINI_LOCAL_DIR``, else ``$XDG_DATA_HOME/pii-gemini/models`` (~/.local/share)."""
    chosen = os.environ.get(MODELS_DIR_ENV, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    data = os.environ.get("XDG_DATA_HOME", "").strip() or "~/.local/share"
    return Path(data).expanduser() / "pii-gemini" / "models"


class LocalBackend(Backend):
    """Tunes and runs Gemma checkpoints on this machine (GPU when present, else CPU).

    Example::

        backend = LocalBackend(base_model="/models/gemma-3-270m-it")
        job = Tuner(backend, poll_interval=1).tune(train, epoch_count=2,
                                                   prompt_builder=builder)
        model = job.wait()                     # a progress bar with the latest loss
        Masker.for_model(backend, model.name, concurrency=8).mask(text)

    Training settings (``lora_*``, ``max_seq_len``, ``checkpoint_every``, ``eval_every``,
    ``seed``) are recorded on each model's card. ``worker="thread"`` trains inside this
    process (it stops with it; a later poll resumes it); ``"process"`` (default) trains
    in a process of its own that outlives the caller. ``memory_limit_gb`` caps the memory
    a load may assume free. ``threads`` sets PyTorch's CPU threads.
    """

    name: ClassVar[str] = "local"

    def __init__(
        self,
        *,
        models_dir: str | Path | None = None,
        base_model: str | None = None,
        device: str | None = None,
        worker: str = "process",
        threads: int | None = None,
        lora_rank: int = 8,
        lora_alpha: int = 16,
        lora_dropout: float = 0.0,
        target_modules: tuple[str, ...] = DEFAULT_TARGET_MODULES,
        max_seq_len: int = 1024,
        checkpoint_every: int = 50,
        eval_every: int | None = None,
        seed: int = 0,
        max_batch_size: int = 16,
        batch_wait: float = 0.005,
        max_new_tokens: int = 1024,
        max_restarts: int = 3,
        memory_limit_gb: float | None = None,
        prompt_format: str = "auto",
    ) -> None:
        check_stack()
        prefer_passive_openmp()
        if worker not in _WORKERS:
            raise ConfigError(f"worker must be one of {_WORKERS}, got {worker!r}")
        if prompt_format not in ("auto", "chat", "plain"):
            raise ConfigError(f"prompt_format must be auto, chat or plain, got {prompt_format!r}")
        for label, value in (
            ("lora_rank", lora_rank),
            ("lora_alpha", lora_alpha),
            ("max_seq_len", max_seq_len),
            ("checkpoint_every", checkpoint_every),
            ("max_batch_size", max_batch_size),
            ("max_new_tokens", max_new_tokens),
            ("eval_every", 1 if eval_every is None else eval_every),
            ("threads", 1 if threads is None else threads),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{label} must be an int >= 1, got {value!r}")
        if not 0.0 <= lora_dropout < 1.0:
            raise ConfigError(f"lora_dropout must be in [0, 1), got {lora_dropout!r}")
        self.models_dir = Path(models_dir).expanduser() if models_dir else default_models_dir()
        self.base_model = base_model or os.environ.get(BASE_MODEL_ENV) or DEFAULT_BASE_MODEL
        # What Tuner.tune and `tune` use when given no base: per instance, since it is a
        # setting here (the base class declares the cloud backends' fixed defaults).
        self.default_source_model = self.base_model  # type: ignore[misc]
        self.device = device
        self.worker = worker
        self.threads = threads
        self.lora = (lora_rank, lora_alpha, float(lora_dropout), tuple(target_modules))
        self.max_seq_len = max_seq_len
        self.checkpoint_every = checkpoint_every
        self.eval_every = eval_every
        self.seed = seed
        self.max_restarts = max_restarts
        self.memory_limit_gb = memory_limit_gb
        self.prompt_format = prompt_format
        self.generator = Generator(
            device=device,
            threads=threads,
            max_new_tokens=max_new_tokens,
            memory_limit_gb=memory_limit_gb,
        )
        self._batcher: Batcher[tuple[ModelSource, GenerationConfig], Generation] = Batcher(
            lambda key, prompts: self.generator.generate(key[0], prompts, key[1]),
            max_batch=max_batch_size,
            wait=batch_wait,
        )

    # -- tuning ---------------------------------------------------------------------------

    def create_tuning_job(self, spec: TuningSpec) -> TuningJobInfo:
        """Write the model card and the examples, then start the training worker."""
        if spec.source_model.startswith("tunedModels/"):
            raise InvalidRequestError(
                "the local backend tunes base checkpoints only, not tuned models", code=400
            )
        base_name = spec.source_model
        base_path = resolve_base(base_name)
        self.models_dir.mkdir(parents=True, exist_ok=True)
        folder = self._new_folder(spec)
        given = spec.contract is not None and bool(spec.contract.target)
        rank, alpha, dropout, modules = self.lora
        card = ModelCard(
            name=folder.name,
            job=folder.job_name,
            state=JobState.PENDING,
            base_model=base_name,
            base_path=str(base_path),
            hyperparameters=spec.hyperparameters,
            total_steps=spec.total_steps,
            train_examples=len(spec.examples),
            validation_examples=len(spec.validation),
            data_sha256=data_digest(spec.examples, spec.validation),
            display_name=spec.display_name or "",
            description=spec.description or "",
            contract=spec.contract,
            inferred_target=None if given else infer_target([ex.output for ex in spec.examples]),
            prompt_format=self.prompt_format,
            lora_rank=rank,
            lora_alpha=alpha,
            lora_dropout=dropout,
            target_modules=modules,
            max_seq_len=self.max_seq_len,
            seed=self.seed,
            checkpoint_every=self.checkpoint_every,
            eval_every=self.eval_every,
            device=self.device or "auto",
            threads=self.threads,
            memory_limit_gb=self.memory_limit_gb,
            create_time=now(),
            update_time=now(),
            versions=stack_versions(),
        )
        folder.write_data("train", spec.examples)
        if spec.validation:
            folder.write_data("validation", spec.validation)
        folder.write_card(card)
        with folder.control_lock():
            lock = folder.claim_worker_lock()
            if lock is None:
                raise AlreadyExistsError(f"a worker already trains {folder.name}", code=409)
            start_worker(folder, lock, mode=self.worker)
        return self._job_info(folder, folder.read_card())

    def find_tuning_job(self, spec: TuningSpec) -> TuningJobInfo | None:
        """The job an earlier create of ``spec`` made (same client token), or None."""
        token = spec.client_token
        for folder in self._folders() if token else []:
            try:
                card = folder.read_card()
            except (OSError, ValueError, KeyError):
                continue
            if card.contract is not None and card.contract.token == token:
                return self._job_info(folder, card)
        return None

    def get_tuning_job(self, name: str) -> TuningJobInfo:
        """The job as of now; restarts a crashed worker from its last checkpoint."""
        folder = self._folder(name)
        with folder.control_lock():
            card = folder.read_card()
            if not card.state.is_terminal:
                card = supervise(folder, card, mode=self.worker, max_restarts=self.max_restarts)
            elif folder.has_work_files():
                tidy(folder)
        return self._job_info(folder, card)

    def cancel_tuning_job(self, name: str) -> None:
        """Ask the worker to stop before its next step (at once if it is not running)."""
        folder = self._folder(name)
        with folder.control_lock():
            card = folder.read_card()
            if card.state.is_terminal:
                return
            folder.request_cancel()
            lock = folder.claim_worker_lock()
            if lock is not None:  # no live worker: cancel it here
                try:
                    folder.write_card(card.replace(state=JobState.CANCELLED))
                    folder.discard_work_files()
                finally:
                    os.close(lock)

    def _job_info(self, folder: ModelFolder, card: ModelCard) -> TuningJobInfo:
        snapshots = tuple(folder.read_losses())
        return TuningJobInfo(
            name=card.job,
            model=card.name,
            state=card.state,
            base_model=card.base_model,
            total_steps=card.total_steps,
            completed_steps=snapshots[-1].step if snapshots else 0,
            snapshots=snapshots,
            error=card.error,
        )

    # -- models ---------------------------------------------------------------------------

    def get_model(self, name: str) -> TunedModelInfo:
        """Describe one tuned model from its card."""
        folder = self._folder(name)
        return _model_info(folder, folder.read_card())

    def model_card(self, name: str) -> ModelCard:
        """The full model card of a tuned model (what ``card.json`` holds)."""
        return self._folder(name).read_card()

    def list_models(self) -> list[TunedModelInfo]:
        """Every model folder with a readable card, oldest first."""
        found: list[TunedModelInfo] = []
        for folder in self._folders():
            try:
                found.append(_model_info(folder, folder.read_card()))
            except (OSError, ValueError, KeyError):
                continue  # not a model folder, or a card being written for the first time
        return sorted(found, key=lambda m: (m.create_time is None, m.create_time, m.name))

    def delete_model(self, name: str) -> None:
        """Delete a model's folder; refused while its job is still training."""
        folder = self._folder(name)
        with folder.control_lock():
            lock = folder.claim_worker_lock()
            if lock is None and folder.read_card().state.is_terminal:
                lock = await_worker_exit(folder)  # it is writing its last files
            if lock is None:
                raise InvalidRequestError(
                    f"{folder.name} is still training: cancel its job first", code=400
                )
            os.close(lock)
            self.generator.forget(str(folder.adapter_dir))
            shutil.rmtree(folder.path)

    # -- generation -----------------------------------------------------------------------

    def generate(
        self, model: str, prompt: str, config: GenerationConfig | None = None
    ) -> Generation:
        """Answer one prompt; concurrent calls are decoded together as one batch."""
        source = self._source(model)
        return self._batcher.submit((source, config or GenerationConfig()), prompt)

    def count_tokens(self, model: str, text: str) -> int:
        """Tokens ``text`` takes as input of ``model``, counted by its tokenizer."""
        return self.generator.count_tokens(self._source(model, ready=False), text)

    def close(self) -> None:
        """Stop the generation thread and drop loaded models (training workers go on)."""
        self._batcher.close()
        self.generator.clear()

    def _source(self, model: str, *, ready: bool = True) -> ModelSource:
        model_id = model_id_of(model)
        if model_id is None:
            return ModelSource(model, str(resolve_base(model)), None, self.prompt_format)
        folder = self._folder(model)
        card = folder.read_card()
        if ready and card.state is not JobState.SUCCEEDED:
            raise InvalidRequestError(
                f"model {card.name} is {card.state.value}, not ready to generate", code=400
            )
        base = (
            card.base_path if Path(card.base_path).is_dir() else str(resolve_base(card.base_model))
        )
        return ModelSource(card.name, base, str(folder.adapter_dir), card.prompt_format)

    # -- names ----------------------------------------------------------------------------

    def _folders(self) -> list[ModelFolder]:
        if not self.models_dir.is_dir():
            return []
        paths = sorted(p for p in self.models_dir.iterdir() if p.is_dir())
        return [ModelFolder(self.models_dir, p.name) for p in paths]

    def _folder(self, name: str) -> ModelFolder:
        model_id = model_id_of(name)
        folder = ModelFolder(self.models_dir, model_id) if model_id else None
        if folder is None or not folder.exists():
            raise NotFoundError(f"no local model or job {name} in {self.models_dir}", code=404)
        return folder

    def _new_folder(self, spec: TuningSpec) -> ModelFolder:
        model_id = spec.model_id or _derived_id(spec.display_name)
        folder = ModelFolder(self.models_dir, model_id)
        try:
            folder.path.mkdir()
        except FileExistsError:
            message = f"tuned model {folder.name} already exists"
            raise AlreadyExistsError(message, code=409) from None
        return folder


def _derived_id(display_name: str | None) -> str:
    """``<slug of the display name>-<6 hex>``, or ``local-<6 hex>``."""
    words = re.findall(r"[a-z0-9]+", (display_name or "").lower())
    slug = "-".join(words).lstrip("0123456789-")[:32].rstrip("-") or "local"
    return f"{slug}-{secrets.token_hex(3)}"


def _model_info(folder: ModelFolder, card: ModelCard) -> TunedModelInfo:
    return TunedModelInfo(
        name=card.name,
        state=card.state,
        base_model=card.base_model,
        display_name=card.display_name,
        description=card.description,
        hyperparameters=card.hyperparameters,
        snapshots=tuple(folder.read_losses()),
        create_time=card.create_time,
        update_time=card.update_time,
        contract=card.contract if card.contract and card.contract.target else None,
    )
