"""What the local backend needs from PyTorch and transformers, behind one-line errors.

* ``check_stack`` - is the ``local`` extra installed (no import, so it is cheap);
* ``resolve_base`` - a base checkpoint by folder or by Hugging Face id from the local cache,
  never downloading (a miss says where it looked and how to fetch the weights);
* ``check_memory`` / ``memory_error`` - refuse a load that cannot fit, and turn an
  out-of-memory error into the same one-line ``ConfigError``;
* ``load_tokenizer``/``load_model`` and ``PromptCodec`` - the checkpoint, and prompts and
  answers as token ids, shared by training and generation so both use one prompt format.

The stack is imported inside functions, through ``stack``: importing this module is free.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._exceptions import BackendUnavailableError, ConfigError, NotFoundError

__all__ = [
    "EXTRA_HINT",
    "OPENMP_WAIT_ENV",
    "PromptCodec",
    "check_memory",
    "check_stack",
    "is_out_of_memory",
    "load_model",
    "load_tokenizer",
    "memory_error",
    "pick_device",
    "pick_dtype",
    "prefer_passive_openmp",
    "quiet_peft",
    "resolve_base",
    "stack",
    "stack_versions",
]

EXTRA_HINT = "pip install 'pii-gemini[local]'"
OPENMP_WAIT_ENV = "OMP_WAIT_POLICY"
_STACK = ("torch", "transformers", "peft")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_GB = 1024**3
_WEIGHTS_FACTOR = 1.2  # the weights plus buffers, the KV cache of a batch, LoRA and AdamW
_OVERHEAD_BYTES = 320 * 1024**2  # the framework itself
# Training activations per token of a batch, in floats: about five vocabulary-wide copies
# (logits, their float32 log-softmax and gradients) and ten hidden-wide ones per layer.
# Measured on the Gemma 3 270M shape on the CPU: 4.8 MB a token (this gives 5.2).
_LOGIT_COPIES = 5
_LAYER_COPIES = 10
_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}


def stack(module: str) -> Any:
    """Import ``module`` of the local extra (torch, transformers, peft, ...), as Any.

    Through importlib, so that type checkers never read the stack's sources: they are
    large and partly typed, and the mypyc build (which type-checks everything the
    compiled modules reach, the package's __init__ included) took minutes more with them.
    """
    return importlib.import_module(module)


@contextmanager
def quiet_peft() -> Iterator[None]:
    """Around peft's wrapping of a model: hide the one FutureWarning transformers 5 raises
    when peft asks for the renamed ``is_gradient_checkpointing`` (peft's to fix, nothing the
    user can act on: it reached the terminal on every ``mask`` with a tuned model). Only
    that message; every other warning passes. Not thread-safe (``catch_warnings``), but the
    callers load a model under a lock or train in one worker thread."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning
        )
        yield


def check_stack() -> None:
    """Raise BackendUnavailableError naming what is missing when the extra is not installed."""
    missing = []
    for module in _STACK:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # e.g. blocked with sys.modules[name] = None
            found = False
        if not found:
            missing.append(module)
    if missing:
        raise BackendUnavailableError(
            f"the local backend needs {', '.join(missing)} (not installed here): {EXTRA_HINT}"
        )


def prefer_passive_openmp() -> None:
    """Make PyTorch's CPU threads sleep rather than spin while they wait, unless the user
    chose otherwise (``OMP_WAIT_POLICY``). Spinning threads starve each other on a busy
    machine: on the 2-core development VM, with other work running, tiny-model training
    went from 0.7 to 14.5 steps/s. Takes effect only before torch is first imported."""
    if "torch" not in sys.modules:
        os.environ.setdefault(OPENMP_WAIT_ENV, "PASSIVE")


def stack_versions() -> dict[str, str]:
    """Versions of the stack a model was trained with (recorded on its card)."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str] = {}
    for package in ("pii-gemini", *_STACK):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def resolve_base(name: str) -> Path:
    """The folder of base checkpoint ``name``: a local folder, or a Hugging Face id that is
    already in the local cache. Nothing is downloaded; a miss is a one-line NotFoundError."""
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise NotFoundError(
                f"{folder} has no config.json: give the folder of a Hugging Face checkpoint "
                "(config.json, *.safetensors, tokenizer files)",
                code=404,
            )
        return folder.resolve()
    if not _HUB_ID.fullmatch(name):
        raise NotFoundError(f"base model folder {folder} does not exist", code=404)
    hub = stack("huggingface_hub")
    try:
        return Path(hub.snapshot_download(name, local_files_only=True))
    except (OSError, ValueError) as exc:
        cache = stack("huggingface_hub.constants").HF_HUB_CACHE
        raise NotFoundError(
            f"base model {name} is not on this machine (looked for a folder {folder} and in "
            f"the Hugging Face cache {cache}); fetch it once with "
            f"`hf download {name}` (accept its licence on huggingface.co first) or pass "
            "the folder of a downloaded checkpoint",
            code=404,
        ) from exc


def pick_device(requested: str | None) -> str:
    """``requested``, else the first CUDA GPU when there is one, else the CPU."""
    if requested:
        return requested
    return "cuda" if stack("torch").cuda.is_available() else "cpu"


def pick_dtype(device: str) -> str:
    """float32 on the CPU; bfloat16 (or float16 on older GPUs) on a GPU."""
    if not device.startswith("cuda"):
        return "float32"
    return "bfloat16" if stack("torch").cuda.is_bf16_supported() else "float16"


def _model_config(folder: Path) -> dict[str, Any]:
    """The checkpoint's config.json (the text part of a multimodal one), or {}."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(config, dict):
        return {}
    text = config.get("text_config")
    return {**config, **text} if isinstance(text, dict) else config


def _weights_bytes(folder: Path, config: dict[str, Any]) -> tuple[int, int]:
    """Bytes of the weight files in ``folder`` and the bytes per parameter they are stored in."""
    files = [*folder.glob("*.safetensors"), *folder.glob("pytorch_model*.bin")]
    size = sum(f.stat().st_size for f in files)
    return size, _BYTES.get(str(config.get("torch_dtype") or config.get("dtype")), 2)


def _activation_bytes(config: dict[str, Any], tokens: int, dtype_bytes: int) -> float:
    """Rough training activations for a batch of ``tokens`` tokens (see _LOGIT_COPIES)."""
    vocab = int(config.get("vocab_size") or 0)
    width = int(config.get("hidden_size") or 0) * int(config.get("num_hidden_layers") or 0)
    return float(tokens * dtype_bytes * (_LOGIT_COPIES * vocab + _LAYER_COPIES * width))


def _available_bytes(device: str) -> int | None:
    """Free memory on ``device`` (RAM for the CPU), or None when it cannot be told."""
    if device.startswith("cuda"):
        torch = stack("torch")
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(
    folder: Path,
    base: str,
    device: str,
    *,
    training: bool,
    limit_gb: float | None,
    batch_tokens: int = 0,
) -> None:
    """Refuse at once what cannot fit: a one-line ConfigError with the figures.

    The need is the weights as loaded on ``device`` plus, for training, the activations of
    the largest batch (``batch_tokens`` tokens, padding included).
    """
    config = _model_config(folder)
    size, stored = _weights_bytes(folder, config)
    dtype_bytes = _BYTES[pick_dtype(device)]
    need = size * dtype_bytes / stored * _WEIGHTS_FACTOR + _OVERHEAD_BYTES
    if training:
        need += _activation_bytes(config, batch_tokens, dtype_bytes)
    free = _available_bytes(device)
    if limit_gb is not None:
        free = int(limit_gb * _GB) if free is None else min(free, int(limit_gb * _GB))
    if free is not None and need > free:
        raise memory_error(base, device, training=training, need=need, free=free)


def memory_error(
    base: str, device: str, *, training: bool, need: float | None = None, free: float | None = None
) -> ConfigError:
    """The one-line error for a model that does not fit in memory."""
    what = "tune" if training else "run"
    figures = ""
    if need is not None and free is not None:
        figures = f" (needs about {need / _GB:.1f} GB, {free / _GB:.1f} GB free)"
    advice = "a smaller batch_size or max_seq_len, " if training else "a lower concurrency, "
    return ConfigError(
        f"not enough memory to {what} {base} on {device}{figures}: use {advice}"
        "a smaller base model, or a GPU"
    )


def is_out_of_memory(exc: BaseException) -> bool:
    """True for the errors PyTorch raises when an allocation fails (CPU or GPU)."""
    if isinstance(exc, MemoryError):
        return True
    if type(exc).__name__ == "OutOfMemoryError":  # torch.OutOfMemoryError, CUDA included
        return True
    text = str(exc) if isinstance(exc, RuntimeError) else ""
    return "out of memory" in text or "can't allocate memory" in text


def load_tokenizer(folder: Path) -> Any:
    """The tokenizer of the checkpoint in ``folder``, offline."""
    return stack("transformers").AutoTokenizer.from_pretrained(folder, local_files_only=True)


def load_model(folder: Path, device: str, *, threads: int | None = None) -> Any:
    """The model of the checkpoint in ``folder`` on ``device`` (float32 on the CPU), offline."""
    torch, transformers = stack("torch"), stack("transformers")
    stack("transformers.utils.logging").disable_progress_bar()
    if threads:
        torch.set_num_threads(threads)
    dtype = getattr(torch, pick_dtype(device))
    auto = transformers.AutoModelForCausalLM
    return auto.from_pretrained(folder, local_files_only=True, dtype=dtype).to(device)


class PromptCodec:
    """Prompts and answers as token ids, in the checkpoint's prompt format.

    ``"chat"`` wraps the prompt as a user turn with the tokenizer's chat template (what an
    instruction-tuned Gemma expects) and ends answers with ``<end_of_turn>``; ``"plain"``
    uses the prompt as it is after a BOS token and ends answers with EOS. ``"auto"`` picks
    chat when the tokenizer has a template.
    """

    def __init__(self, tokenizer: Any, prompt_format: str = "auto") -> None:
        if prompt_format not in ("auto", "chat", "plain"):
            raise ConfigError(f"prompt_format must be auto, chat or plain, got {prompt_format!r}")
        if prompt_format == "auto":
            prompt_format = "chat" if getattr(tokenizer, "chat_template", None) else "plain"
        self.tokenizer = tokenizer
        self.format = prompt_format
        eos = tokenizer.eos_token_id
        stop = eos
        if prompt_format == "chat":
            turn_end = tokenizer.convert_tokens_to_ids("<end_of_turn>")
            if isinstance(turn_end, int) and turn_end != tokenizer.unk_token_id:
                stop = turn_end
        self.stop_id: int = int(stop)
        self.stop_ids: list[int] = sorted({int(stop), int(eos)})
        self.pad_id: int = int(
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
        )

    def prompt_ids(self, prompt: str) -> list[int]:
        """Token ids the model reads before it answers ``prompt``."""
        tok = self.tokenizer
        if self.format == "chat":
            text = tok.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
            )
            return list(tok(text, add_special_tokens=False)["input_ids"])
        ids = list(tok(prompt, add_special_tokens=False)["input_ids"])
        bos = tok.bos_token_id
        return [int(bos), *ids] if bos is not None else ids

    def answer_ids(self, answer: str) -> list[int]:
        """Token ids of ``answer`` followed by the stop token (what training teaches)."""
        return [*self.tokenizer(answer, add_special_tokens=False)["input_ids"], self.stop_id]

    def decode(self, ids: list[int]) -> str:
        """Text of generated ids (special tokens dropped)."""
        text: str = self.tokenizer.decode(ids, skip_special_tokens=True)
        return text
