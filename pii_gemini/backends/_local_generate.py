"""Batched decoding with a local model: a base checkpoint, or one with a tuned LoRA adapter.

``Generator.generate(source, prompts, config)`` answers a batch of prompts in one
``model.generate`` call: prompts are left-padded, decoding is greedy unless the config asks
for a temperature above 0, and each answer stops at the checkpoint's stop token or at its
own token budget. Token counts and the finish reason (``STOP`` or ``MAX_TOKENS``) come back
per prompt in a ``Generation``, as from the cloud backends.

Loaded models stay in memory (the most recently used ``cache_size`` of them); a tuned
adapter is merged into its copy of the base weights, so it decodes as fast as the base.
A batch that runs out of memory is split in halves and retried; a single prompt that does
not fit raises the one-line memory ``ConfigError``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._types import Generation, GenerationConfig
from ._local_runtime import (
    PromptCodec,
    check_memory,
    is_out_of_memory,
    load_model,
    load_tokenizer,
    memory_error,
    pick_device,
    quiet_peft,
    stack,
)

__all__ = ["Generator", "ModelSource"]

_ANSWER_SLACK = 64  # tokens an answer may exceed its prompt by when no limit is given


@dataclass(frozen=True)
class ModelSource:
    """What to load: a base checkpoint folder, optionally a LoRA adapter on it."""

    label: str  # the name callers use, for messages
    base_path: str
    adapter_path: str | None = None
    prompt_format: str = "auto"


@dataclass
class _Loaded:
    model: Any
    codec: PromptCodec


class Generator:
    """Loads models on first use and decodes batches of prompts with them."""

    def __init__(
        self,
        *,
        device: str | None,
        threads: int | None,
        max_new_tokens: int,
        memory_limit_gb: float | None,
        cache_size: int = 2,
    ) -> None:
        self._device_choice = device
        self._threads = threads
        self.max_new_tokens = max_new_tokens
        self._limit = memory_limit_gb
        self._cache_size = max(cache_size, 1)
        self._models: OrderedDict[ModelSource, _Loaded] = OrderedDict()
        self._codecs: dict[ModelSource, PromptCodec] = {}
        self._lock = threading.Lock()
        self._device: str | None = None

    @property
    def device(self) -> str:
        """The device models run on (chosen on first use: a GPU if there is one)."""
        if self._device is None:
            self._device = pick_device(self._device_choice)
        return self._device

    def forget(self, base_or_adapter: str) -> None:
        """Drop loaded models that use this folder (before it is deleted)."""
        with self._lock:
            for source in list(self._models):
                if base_or_adapter in (source.base_path, source.adapter_path):
                    del self._models[source]

    def count_tokens(self, source: ModelSource, text: str) -> int:
        """Tokens of ``text`` as a prompt of ``source`` (its tokenizer only is loaded)."""
        with self._lock:
            codec = self._codecs.get(source)
            if codec is None:
                codec = PromptCodec(load_tokenizer(Path(source.base_path)), source.prompt_format)
                self._codecs[source] = codec
        return len(codec.prompt_ids(text))

    def clear(self) -> None:
        """Drop every loaded model."""
        with self._lock:
            self._models.clear()
            self._codecs.clear()

    def generate(
        self, source: ModelSource, prompts: Sequence[str], config: GenerationConfig
    ) -> list[Generation]:
        """One answer per prompt, decoded as one batch (halved while memory runs out)."""
        loaded = self._load(source)
        try:
            return self._decode(loaded, prompts, config)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            if len(prompts) == 1:
                raise memory_error(source.label, self.device, training=False) from exc
        half = len(prompts) // 2
        return [
            *self.generate(source, prompts[:half], config),
            *self.generate(source, prompts[half:], config),
        ]

    def _load(self, source: ModelSource) -> _Loaded:
        with self._lock:
            if source in self._models:
                self._models.move_to_end(source)
                return self._models[source]
            base = Path(source.base_path)
            check_memory(base, source.label, self.device, training=False, limit_gb=self._limit)
            try:
                tokenizer = load_tokenizer(base)
                model = load_model(base, self.device, threads=self._threads)
                if source.adapter_path is not None:
                    peft = stack("peft")
                    with quiet_peft():
                        model = peft.PeftModel.from_pretrained(model, source.adapter_path)
                    model = model.merge_and_unload()
            except Exception as exc:
                if is_out_of_memory(exc):
                    raise memory_error(source.label, self.device, training=False) from exc
                raise
            model.eval()
            loaded = _Loaded(model, PromptCodec(tokenizer, source.prompt_format))
            self._models[source] = loaded
            while len(self._models) > self._cache_size:
                self._models.popitem(last=False)
            return loaded

    def _budget(self, prompt_tokens: int, config: GenerationConfig) -> int:
        if config.max_output_tokens is not None:
            return min(config.max_output_tokens, self.max_new_tokens)
        return min(prompt_tokens + _ANSWER_SLACK, self.max_new_tokens)

    def _decode(
        self, loaded: _Loaded, prompts: Sequence[str], config: GenerationConfig
    ) -> list[Generation]:
        torch = stack("torch")
        hf_generation_config = stack("transformers").GenerationConfig
        codec = loaded.codec
        encoded = [codec.prompt_ids(p) for p in prompts]
        budgets = [self._budget(len(ids), config) for ids in encoded]
        width = max(len(ids) for ids in encoded)
        ids = [[codec.pad_id] * (width - len(row)) + row for row in encoded]  # left padding
        mask = [[0] * (width - len(row)) + [1] * len(row) for row in encoded]
        sampling = bool(config.temperature)
        settings: dict[str, Any] = {
            "max_new_tokens": max(budgets),
            "do_sample": sampling,
            "eos_token_id": codec.stop_ids,
            "pad_token_id": codec.pad_id,
        }
        if sampling:
            settings["temperature"] = config.temperature
            if config.top_p is not None:
                settings["top_p"] = config.top_p
            if config.top_k is not None:
                settings["top_k"] = config.top_k
        with torch.no_grad():
            out = loaded.model.generate(
                input_ids=torch.tensor(ids, device=self.device),
                attention_mask=torch.tensor(mask, device=self.device),
                generation_config=hf_generation_config(**settings),
            )
        answers: list[Generation] = []
        for row, prompt_ids, budget in zip(out[:, width:].tolist(), encoded, budgets, strict=True):
            tokens, finish = _cut(row, budget, set(codec.stop_ids))
            answers.append(
                Generation(
                    text=codec.decode(tokens),
                    finish_reason=finish,
                    prompt_tokens=len(prompt_ids),
                    output_tokens=len(tokens),
                )
            )
        return answers


def _cut(row: list[int], budget: int, stops: set[int]) -> tuple[list[int], str]:
    """The answer tokens of one generated row and why it ended (the stop token excluded)."""
    for index, token in enumerate(row[:budget]):
        if token in stops:
            return row[:index], "STOP"
    return row[:budget], "MAX_TOKENS"
