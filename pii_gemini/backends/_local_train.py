"""The training loop of the local backend: LoRA on a Gemma checkpoint, resumable.

``train(folder)`` runs the job described by the folder's card to its end: it loads the base
checkpoint, puts LoRA adapters on it (peft), and trains on the folder's examples for
``ceil(examples / batch_size) * epoch_count`` steps (the Tuner's count), shuffling each epoch
with a seed so a resumed run sees the same order. After every step it appends a loss
snapshot; at the end of each epoch (and every ``eval_every`` steps) it measures the
validation loss; every ``checkpoint_every`` steps it saves the adapter and optimizer state.
A run that finds a checkpoint starts from it. Before each step it looks for the cancel mark.

Only the answer tokens are learnt (the prompt's labels are masked), as in supervised tuning
of the Gemini API and Vertex.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._exceptions import ConfigError
from .._types import JobState, LossSnapshot, TuningExample
from ._local_card import ModelCard, now
from ._local_runtime import (
    PromptCodec,
    check_memory,
    is_out_of_memory,
    load_model,
    load_tokenizer,
    memory_error,
    pick_device,
    pick_dtype,
    quiet_peft,
    stack,
)
from ._local_store import ModelFolder, write_atomic

__all__ = ["train"]

_IGNORE = -100  # label id the loss skips (the prompt, the padding)
_MAX_GRAD_NORM = 1.0
_LATEST = "latest"  # file naming the newest complete checkpoint folder

Encoded = tuple[list[int], list[int]]  # input ids, labels


def train(folder: ModelFolder) -> None:
    """Run or resume the job in ``folder``; its card ends SUCCEEDED or CANCELLED.

    Errors propagate (the worker records them); running out of memory becomes the
    one-line ``ConfigError`` of ``_local_runtime.memory_error``.
    """
    card = folder.read_card()
    try:
        _train(folder, card)
    except Exception as exc:
        if is_out_of_memory(exc):
            raise memory_error(card.base_model, card.device, training=True) from exc
        raise


def _train(folder: ModelFolder, card: ModelCard) -> None:
    torch = stack("torch")
    device = pick_device(None if card.device == "auto" else card.device)
    base_path = Path(card.base_path)
    codec = PromptCodec(load_tokenizer(base_path), card.prompt_format)
    rows, truncated = _encode(codec, folder.read_data("train"), card.max_seq_len)
    held_out, _ = _encode(codec, folder.read_data("validation"), card.max_seq_len)
    if not rows:
        raise ConfigError(f"the training examples of {card.name} are gone from {folder.path}")
    batch_size = card.hyperparameters.batch_size
    longest = max(len(ids) for ids, _ in [*rows, *held_out])
    check_memory(
        base_path,
        card.base_model,
        device,
        training=True,
        limit_gb=card.memory_limit_gb,
        batch_tokens=min(batch_size, len(rows)) * longest,
    )
    base = load_model(base_path, device, threads=card.threads)
    torch.manual_seed(card.seed)
    model = _with_lora(base, card)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=card.hyperparameters.learning_rate)
    start = _restore(folder, model, optimizer)
    folder.keep_losses_up_to(start)
    card = card.replace(
        state=JobState.RUNNING,
        prompt_format=codec.format,
        device=device,
        dtype=pick_dtype(device),
        truncated_examples=truncated,
        resumed_from=(*card.resumed_from, start) if start else card.resumed_from,
    )
    folder.write_card(card)

    per_epoch = math.ceil(len(rows) / batch_size)
    model.train()
    for step in range(start, card.total_steps):
        if folder.cancel_requested():
            folder.write_card(card.replace(state=JobState.CANCELLED))
            folder.discard_work_files()
            return
        epoch, index = divmod(step, per_epoch)
        order = _epoch_order(len(rows), card.seed, epoch)
        batch = [rows[i] for i in order[index * batch_size : (index + 1) * batch_size]]
        torch.manual_seed(card.seed * 1_000_003 + step)  # dropout, reproducible on resume
        loss = _step(model, optimizer, trainable, batch, codec.pad_id, device)
        validation = None
        due = card.eval_every is not None and (step + 1) % card.eval_every == 0
        if held_out and (index == per_epoch - 1 or due):
            validation = _validation_loss(model, held_out, batch_size, codec.pad_id, device)
            model.train()
        folder.append_loss(LossSnapshot(step + 1, epoch + 1, loss, now(), validation))
        if (step + 1) % card.checkpoint_every == 0 and step + 1 < card.total_steps:
            _save_checkpoint(folder, model, optimizer, step + 1)

    model.save_pretrained(folder.adapter_dir)
    snapshots = folder.read_losses()
    last_epoch = [s.mean_loss for s in snapshots if s.epoch == snapshots[-1].epoch]
    measured = [s.validation_loss for s in snapshots if s.validation_loss is not None]
    folder.write_card(
        card.replace(
            state=JobState.SUCCEEDED,
            final_train_loss=round(sum(last_epoch) / len(last_epoch), 6),
            final_validation_loss=measured[-1] if measured else None,
        )
    )
    folder.discard_work_files()


def _encode(
    codec: PromptCodec, examples: Sequence[TuningExample], max_len: int
) -> tuple[list[Encoded], int]:
    """Examples as (ids, labels), prompt labels masked; cut to ``max_len`` (and counted)."""
    rows: list[Encoded] = []
    cut = 0
    for ex in examples:
        prompt, answer = codec.prompt_ids(ex.text_input), codec.answer_ids(ex.output)
        ids = prompt + answer
        labels = [_IGNORE] * len(prompt) + answer
        if len(ids) > max_len:
            cut += 1
            ids, labels = ids[:max_len], labels[:max_len]
        rows.append((ids, labels))
    return rows, cut


def _epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The example order of one epoch: a permutation fixed by the seed and the epoch."""
    import random

    order = list(range(n))
    random.Random(seed * 7919 + epoch).shuffle(order)
    return order


def _with_lora(model: Any, card: ModelCard) -> Any:
    peft = stack("peft")
    config = peft.LoraConfig(
        r=card.lora_rank,
        lora_alpha=card.lora_alpha,
        lora_dropout=card.lora_dropout,
        target_modules=list(card.target_modules),
        task_type="CAUSAL_LM",
    )
    with quiet_peft():
        return peft.get_peft_model(model, config)


def _collate(batch: Sequence[Encoded], pad_id: int, device: str) -> tuple[Any, Any, Any]:
    """Right-padded input ids, attention mask and labels as tensors on ``device``."""
    torch = stack("torch")
    width = max(len(ids) for ids, _ in batch)
    ids = [row + [pad_id] * (width - len(row)) for row, _ in batch]
    mask = [[1] * len(row) + [0] * (width - len(row)) for row, _ in batch]
    labels = [row + [_IGNORE] * (width - len(row)) for _, row in batch]
    return (
        torch.tensor(ids, device=device),
        torch.tensor(mask, device=device),
        torch.tensor(labels, device=device),
    )


def _step(
    model: Any,
    optimizer: Any,
    trainable: list[Any],
    batch: Sequence[Encoded],
    pad_id: int,
    device: str,
) -> float:
    """One optimizer step on ``batch``; its mean token loss."""
    torch = stack("torch")
    ids, mask, labels = _collate(batch, pad_id, device)
    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(trainable, _MAX_GRAD_NORM)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return round(float(loss.detach()), 6)


def _validation_loss(
    model: Any, rows: Sequence[Encoded], batch_size: int, pad_id: int, device: str
) -> float:
    """Mean loss per answer token over the validation examples."""
    torch = stack("torch")
    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            ids, mask, labels = _collate(rows[start : start + batch_size], pad_id, device)
            count = int((labels[:, 1:] != _IGNORE).sum())
            if count:
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                total += float(loss) * count
                tokens += count
    return round(total / tokens, 6) if tokens else math.nan


def _save_checkpoint(folder: ModelFolder, model: Any, optimizer: Any, step: int) -> None:
    """Adapter and optimizer state at ``step``; ``latest`` moves only once both are written."""
    torch = stack("torch")
    peft, safetensors = stack("peft"), stack("safetensors.torch")

    target = folder.checkpoint_dir / f"step-{step:08d}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    weights = {k: v.detach().contiguous() for k, v in peft.get_peft_model_state_dict(model).items()}
    safetensors.save_file(weights, str(target / "adapter.safetensors"))
    torch.save(optimizer.state_dict(), target / "optimizer.pt")
    write_atomic(folder.checkpoint_dir / _LATEST, target.name)
    for old in folder.checkpoint_dir.glob("step-*"):
        if old.name != target.name:
            shutil.rmtree(old, ignore_errors=True)


def _restore(folder: ModelFolder, model: Any, optimizer: Any) -> int:
    """Load the newest checkpoint into ``model`` and ``optimizer``; its step (0 if none)."""
    pointer = folder.checkpoint_dir / _LATEST
    if not pointer.is_file():
        return 0
    torch = stack("torch")
    peft, safetensors = stack("peft"), stack("safetensors.torch")

    source = folder.checkpoint_dir / pointer.read_text(encoding="utf-8").strip()
    weights = safetensors.load_file(str(source / "adapter.safetensors"))
    peft.set_peft_model_state_dict(model, weights)
    optimizer.load_state_dict(torch.load(source / "optimizer.pt", weights_only=True))
    return int(source.name.removeprefix("step-"))
