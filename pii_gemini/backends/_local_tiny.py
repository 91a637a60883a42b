"""A tiny Gemma-architecture checkpoint with random weights, built offline in a few seconds.

The local backend's tests, ``benchmarks/bench_local.py`` and the "try it offline" recipe of
docs/backends.md (public as ``pii_gemini.backends.local.build_tiny_checkpoint``) need a real
checkpoint folder (``config.json``, safetensors weights, ``tokenizer.json``) without
downloading anything.
This writes one: a byte-pair tokenizer trained in-process on the texts given (so prompts
and placeholders take few tokens), with Gemma's special tokens and a Gemma-style chat
template, and a ``Gemma3ForCausalLM`` of a few hundred thousand parameters. Loading it
goes through exactly the code path of a downloaded Gemma checkpoint.

Needs the ``local`` extra (torch, transformers, tokenizers).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["TINY_CHAT_TEMPLATE", "build_tiny_checkpoint"]

# Gemma's turn markers, as in the real instruction-tuned checkpoints' chat template.
TINY_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "<start_of_turn>{{ role }}\n{{ message['content'] }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
_SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
_LABEL_TOKENS_FROM = r"\[[A-Z_]+\]"  # placeholders such as [FIRSTNAME] become single tokens


def build_tiny_checkpoint(
    path: str | Path,
    texts: Iterable[str],
    *,
    vocab_size: int = 400,
    hidden_size: int = 64,
    layers: int = 2,
    chat: bool = True,
    seed: int = 0,
) -> Path:
    """Write a tiny random Gemma 3 text checkpoint to ``path`` and return it.

    ``texts`` train the tokenizer (include the prompts and answers the model will see).
    ``chat=False`` leaves the chat template out, so prompts are used as plain text.
    """
    import re

    from ._local_runtime import prefer_passive_openmp, stack

    prefer_passive_openmp()
    torch, tok, hf = stack("torch"), stack("tokenizers"), stack("transformers")

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    corpus = list(texts)
    labels = sorted({m for t in corpus for m in re.findall(_LABEL_TOKENS_FROM, t)})
    bpe = tok.Tokenizer(tok.models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = tok.pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = tok.decoders.ByteLevel()
    trainer = tok.trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=_SPECIAL,
        initial_alphabet=tok.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(corpus, trainer=trainer)
    bpe.add_tokens(labels)
    tokenizer = hf.PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=["<start_of_turn>", "<end_of_turn>"],
    )
    if chat:
        tokenizer.chat_template = TINY_CHAT_TEMPLATE
    tokenizer.save_pretrained(out)

    torch.manual_seed(seed)
    heads = 4
    config = hf.Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=1,
        head_dim=hidden_size // heads,
        max_position_embeddings=1024,
        sliding_window=128,
        # wider than a real model's 0.02: with tied, frozen embeddings this small a model can
        # only reach confident logits (and learn through LoRA) when its embeddings are large
        initializer_range=0.2,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = hf.Gemma3ForCausalLM(config)
    model.save_pretrained(out)
    return out
