"""The model card of a locally tuned model: what it was trained from, how, and how it went.

One ``card.json`` per model folder records the training contract (the base checkpoint, the
``TrainingContract`` - prompt template, instruction, target - the Tuner sends, and the
prompt format), the hyperparameters (the Tuner's three and the LoRA ones), the data size
(never the data: a SHA-256 of it, to tell two runs apart), the job's state and the final
losses. ``LocalBackend`` lists, describes and deletes models from
these cards; the training worker reads its settings from the card and writes its outcome
back. Pure Python: reading a card never imports torch.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._types import Hyperparameters, JobState, TrainingContract, TuningExample

__all__ = ["CARD_FORMAT", "ModelCard", "data_digest", "infer_target"]

CARD_FORMAT = 1  # bump when a field changes meaning
_ENTITY_LINE = re.compile(r"[A-Z][A-Z0-9_]*: .+|NONE")


@dataclass(frozen=True)
class ModelCard:
    """Everything known about one local tuned model (and the job that makes it).

    ``prompt_format`` is ``"chat"`` (the tokenizer's chat template wraps each prompt as a
    user turn), ``"plain"`` (the prompt as it is) or ``"auto"`` until the worker has looked
    at the tokenizer. ``contract`` is the one the Tuner sent (its ``target`` is empty
    without a prompt builder: then ``inferred_target`` is the answer format read off the
    examples, for people; masking only follows a contract that was given).
    """

    name: str
    job: str
    state: JobState
    base_model: str
    base_path: str
    hyperparameters: Hyperparameters
    total_steps: int
    train_examples: int
    validation_examples: int = 0
    data_sha256: str = ""
    display_name: str = ""
    description: str = ""
    contract: TrainingContract | None = None
    inferred_target: str | None = None
    prompt_format: str = "auto"
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = ()
    max_seq_len: int = 1024
    seed: int = 0
    checkpoint_every: int = 50
    eval_every: int | None = None
    device: str = "auto"
    dtype: str = "auto"
    threads: int | None = None
    memory_limit_gb: float | None = None
    truncated_examples: int = 0
    final_train_loss: float | None = None
    final_validation_loss: float | None = None
    error: str | None = None
    restarts: int = 0
    resumed_from: tuple[int, ...] = ()
    create_time: _dt.datetime | None = None
    update_time: _dt.datetime | None = None
    versions: dict[str, str] = field(default_factory=dict)

    def replace(self, **changes: Any) -> ModelCard:
        """A copy with ``changes`` and ``update_time`` set to now."""
        return dataclasses.replace(self, update_time=now(), **changes)

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-ready data, grouped for people who open the file."""
        hp = self.hyperparameters
        return {
            "format": CARD_FORMAT,
            "name": self.name,
            "job": self.job,
            "state": self.state.value,
            "error": self.error,
            "display_name": self.display_name,
            "description": self.description,
            "base_model": self.base_model,
            "base_path": self.base_path,
            "contract": {
                **(dataclasses.asdict(self.contract) if self.contract else {}),
                "inferred_target": self.inferred_target,
                "prompt_format": self.prompt_format,
            },
            "hyperparameters": {
                "epoch_count": hp.epoch_count,
                "batch_size": hp.batch_size,
                "learning_rate": hp.learning_rate,
                "lora_rank": self.lora_rank,
                "lora_alpha": self.lora_alpha,
                "lora_dropout": self.lora_dropout,
                "target_modules": list(self.target_modules),
                "max_seq_len": self.max_seq_len,
                "seed": self.seed,
            },
            "run": {
                "total_steps": self.total_steps,
                "checkpoint_every": self.checkpoint_every,
                "eval_every": self.eval_every,
                "device": self.device,
                "dtype": self.dtype,
                "threads": self.threads,
                "memory_limit_gb": self.memory_limit_gb,
                "restarts": self.restarts,
                "resumed_from": list(self.resumed_from),
                "versions": dict(self.versions),
            },
            "data": {
                "train_examples": self.train_examples,
                "validation_examples": self.validation_examples,
                "truncated_examples": self.truncated_examples,
                "sha256": self.data_sha256,
            },
            "final": {
                "train_loss": self.final_train_loss,
                "validation_loss": self.final_validation_loss,
            },
            "create_time": _iso(self.create_time),
            "update_time": _iso(self.update_time),
        }

    def to_json(self) -> str:
        """``to_dict`` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        """Read a card written by ``to_dict`` (unknown keys are ignored)."""
        contract, hp = data["contract"], data["hyperparameters"]
        run, size, final = data["run"], data["data"], data["final"]
        return cls(
            name=data["name"],
            job=data["job"],
            state=JobState(data["state"]),
            error=data.get("error"),
            display_name=data.get("display_name", ""),
            description=data.get("description", ""),
            base_model=data["base_model"],
            base_path=data["base_path"],
            contract=_contract(contract),
            inferred_target=contract.get("inferred_target"),
            prompt_format=contract.get("prompt_format", "auto"),
            hyperparameters=Hyperparameters(
                epoch_count=int(hp["epoch_count"]),
                batch_size=int(hp["batch_size"]),
                learning_rate=float(hp["learning_rate"]),
            ),
            lora_rank=int(hp["lora_rank"]),
            lora_alpha=int(hp["lora_alpha"]),
            lora_dropout=float(hp["lora_dropout"]),
            target_modules=tuple(hp["target_modules"]),
            max_seq_len=int(hp["max_seq_len"]),
            seed=int(hp["seed"]),
            total_steps=int(run["total_steps"]),
            checkpoint_every=int(run["checkpoint_every"]),
            eval_every=run.get("eval_every"),
            device=run.get("device", "auto"),
            dtype=run.get("dtype", "auto"),
            threads=run.get("threads"),
            memory_limit_gb=run.get("memory_limit_gb"),
            restarts=int(run.get("restarts", 0)),
            resumed_from=tuple(run.get("resumed_from", ())),
            versions=dict(run.get("versions", {})),
            train_examples=int(size["train_examples"]),
            validation_examples=int(size.get("validation_examples", 0)),
            truncated_examples=int(size.get("truncated_examples", 0)),
            data_sha256=size.get("sha256", ""),
            final_train_loss=final.get("train_loss"),
            final_validation_loss=final.get("validation_loss"),
            create_time=_parse_time(data.get("create_time")),
            update_time=_parse_time(data.get("update_time")),
        )

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        """Parse ``to_json`` output."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a model card is a JSON object")
        return cls.from_dict(data)


def now() -> _dt.datetime:
    """The current time in UTC (what cards and loss snapshots record)."""
    return _dt.datetime.now(_dt.timezone.utc)


def _contract(data: dict[str, Any]) -> TrainingContract | None:
    if "target" not in data:
        return None
    return TrainingContract(
        target=str(data.get("target", "")),
        template=str(data.get("template", "")),
        instruction=str(data.get("instruction", "")),
        token=str(data.get("token", "")),
    )


def _iso(when: _dt.datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _parse_time(text: object) -> _dt.datetime | None:
    return _dt.datetime.fromisoformat(text) if isinstance(text, str) and text else None


def data_digest(*parts: Sequence[TuningExample]) -> str:
    """SHA-256 over every example of ``parts``, so two cards tell whether they saw the same data."""
    digest = hashlib.sha256()
    for examples in parts:
        digest.update(b"\x1e")
        for ex in examples:
            for text in (ex.text_input, ex.output):
                data = text.encode("utf-8")
                digest.update(len(data).to_bytes(8, "little"))
                digest.update(data)
    return digest.hexdigest()


def infer_target(outputs: Sequence[str]) -> str:
    """The answer format of ``outputs``: ``entities`` when every answer is a JSON list,
    ``entity_lines`` when every one is ``LABEL: value`` lines or ``NONE``, else
    ``masked_text`` (what the card records when the Tuner sent no contract)."""
    if all(_is_json_list(text) for text in outputs):
        return "entities"
    if all(
        all(_ENTITY_LINE.fullmatch(line) for line in text.strip().splitlines()) for text in outputs
    ):
        return "entity_lines"
    return "masked_text"


def _is_json_list(text: str) -> bool:
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False
