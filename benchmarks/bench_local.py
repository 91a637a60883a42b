"""The local backend: training steps/s and generated tokens/s, on the CPU or a GPU.

Run: ``python benchmarks/bench_local.py`` (needs ``pip install -e ".[local]"``; about a
minute on the 2-core machine). Nothing is downloaded.

* tiny - the random tiny Gemma of the tests (``_local_tiny``, ~100k parameters) built
  in-process from generated rows: LoRA training steps/s through ``LocalBackend`` +
  ``Tuner`` (thread worker), and greedy generation tokens/s at batch 1 against batch 8
  (the Masker's concurrency becomes the batch: the ratio is what batching buys).
* ``--gemma-270m-shape`` - the same on a random model with the published shape of Gemma 3
  270M (18 layers, hidden 640, a 262,144-token vocabulary, ~268M parameters), which is
  what the default base model costs per step; the weights' values do not change the speed.
  The tiny tokenizer needs about twice Gemma's tokens per text, so these figures are on the
  slow side.
* ``--checkpoint PATH`` - a real checkpoint folder (e.g. a downloaded gemma-3-270m-it), on
  the GPU when there is one.
* ``--process`` - also time a worker process from start to its first step (imports and
  loading: the fixed cost of every ``tune`` and of every resume).

Figures are wall times on a shared machine: compare the ratios printed, not the absolutes.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd

from pii_gemini import PromptBuilder, Tuner, load_pii_dataset
from pii_gemini._types import GenerationConfig
from pii_gemini.backends._local_tiny import build_tiny_checkpoint
from pii_gemini.backends.local import LocalBackend
from pii_gemini.synthetic import generate_rows

BUILDER = PromptBuilder(target="entity_lines")
GEMMA_270M_SHAPE = {  # google/gemma-3-270m config.json
    "vocab_size": 262_144,
    "hidden_size": 640,
    "intermediate_size": 2048,
    "num_hidden_layers": 18,
    "num_attention_heads": 4,
    "num_key_value_heads": 1,
    "head_dim": 256,
    "sliding_window": 512,
    "query_pre_attn_scalar": 256,
    "max_position_embeddings": 32_768,
}


def gemma_270m_shaped(folder: Path, tokenizer_from: Path) -> Path:
    """A random Gemma 3 text model of the 270M shape, with the tiny tokenizer."""
    import torch
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_from)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = Gemma3TextConfig(
        **GEMMA_270M_SHAPE,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    Gemma3ForCausalLM(config).save_pretrained(folder)
    return folder


def train_rate(
    backend: LocalBackend, frame: pd.DataFrame, steps: int, batch: int
) -> tuple[float, int]:
    """Steps/s between the first and the last loss snapshot, and the tokens per step."""
    rows = frame.head(batch * steps)
    job = Tuner(backend, poll_interval=0.05).tune(
        rows, epoch_count=1, batch_size=batch, prompt_builder=BUILDER
    )
    job.wait(progress=False, timeout=3600)
    times = job.snapshots()["compute_time"]
    span = (times.iloc[-1] - times.iloc[0]).total_seconds()
    from transformers import AutoTokenizer

    from pii_gemini.backends._local_runtime import PromptCodec

    card = backend.model_card(job.model)
    codec = PromptCodec(AutoTokenizer.from_pretrained(card.base_path), card.prompt_format)
    tokens = sum(
        len(codec.prompt_ids(p)) + len(codec.answer_ids(o))
        for p, o in zip(rows["text_input"], rows["output"], strict=True)
    )
    return (steps - 1) / span if span > 0 else float("nan"), tokens // steps


def generation_rate(backend: LocalBackend, model: str, prompts: list[str], batch: int) -> float:
    """Generated tokens/s with ``batch`` concurrent callers (the Masker's concurrency)."""
    config = GenerationConfig(max_output_tokens=32)
    backend.generate(model, prompts[0], config)  # load the model first
    started = time.perf_counter()
    with ThreadPoolExecutor(batch) as pool:
        answers = list(pool.map(lambda p: backend.generate(model, p, config), prompts))
    elapsed = time.perf_counter() - started
    return sum(a.output_tokens for a in answers) / elapsed


def process_start(backend: LocalBackend, frame: pd.DataFrame) -> float:
    """Seconds from ``tune`` to the first loss snapshot with a worker process."""
    started = time.perf_counter()
    job = Tuner(backend, poll_interval=0.02).tune(
        frame.head(2), epoch_count=1, batch_size=1, prompt_builder=BUILDER
    )
    while job.refresh().completed_steps < 1:
        time.sleep(0.02)
    first = time.perf_counter() - started
    job.wait(progress=False)
    return first


def measure(
    label: str, base: Path, args: argparse.Namespace, frame: pd.DataFrame, work: Path, steps: int
) -> None:
    backend = LocalBackend(
        models_dir=work / f"models-{label}", base_model=str(base), worker="thread",
        threads=args.threads,
    )  # fmt: skip
    steps_s, tokens = train_rate(backend, frame, steps, args.batch)
    prompts = list(frame["text_input"])[:8]
    one = generation_rate(backend, str(base), prompts, 1)
    eight = generation_rate(backend, str(base), prompts, 8)
    print(
        f"{label:>16} on {backend.generator.device}: train {steps_s:.2f} steps/s "
        f"(batch {args.batch}, ~{tokens} tokens a step); generate {one:.0f} tokens/s at "
        f"batch 1, {eight:.0f} at batch 8 ({eight / one:.1f}x)"
    )
    if args.process:
        process = LocalBackend(
            models_dir=work / f"process-{label}", base_model=str(base), threads=args.threads
        )
        print(f"{'':>16} worker process start to first step: {process_start(process, frame):.1f} s")
    backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="training steps (tiny model)")
    parser.add_argument("--big-steps", type=int, default=5, help="steps for larger models")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--gemma-270m-shape", action="store_true")
    parser.add_argument("--checkpoint", type=Path, help="a real checkpoint folder")
    parser.add_argument("--process", action="store_true", help="time a worker process start")
    args = parser.parse_args()

    data = load_pii_dataset(generate_rows(max(args.steps * args.batch, 8), seed=0))
    frame = data.join(BUILDER.build(data)[["text_input", "output"]])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        texts = [*frame["text_input"], *frame["output"]]
        tiny = build_tiny_checkpoint(work / "tiny", texts)
        measure("tiny", tiny, args, frame, work, args.steps)
        if args.gemma_270m_shape:
            shaped = gemma_270m_shaped(work / "gemma-270m-shape", tiny)
            measure("gemma-270m-shape", shaped, args, frame, work, args.big_steps)
        if args.checkpoint is not None:
            measure("checkpoint", args.checkpoint, args, frame, work, args.big_steps)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
