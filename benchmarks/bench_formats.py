"""Answer length of the three tuning targets, in real tokens, on real and generated rows.

The model's answer length drives generation cost and latency. ``target="masked_text"``
makes it rewrite the whole input; ``target="entities"`` makes it list only the PII as
``[{"label":..,"value":..}]``; ``target="entity_lines"`` lists it one ``LABEL: value`` a line.
All are built with dataset.PromptBuilder from the same rows: the "exact" rows of
../shared/data/ai4privacy-200k-en-dev.jsonl (read at run time, never copied) when present,
and 1,000 generated rows (``pii_gemini.synthetic``) always.

Tokens are counted with a real BPE tokenizer that needs no download: OpenAI's ``o200k_base``
as shipped inside the ``bpe-openai`` wheel (``pip install bpe-openai``; without it the
section says so and only the estimates below are printed). Gemini's own tokenizer is not
available offline; it splits numbers into single digits, so the count is also given with
every digit as one token. For comparison: characters / 4 (the usual rule of thumb) and word
pieces (words and single punctuation marks, this benchmark's earlier measure, which counts a
16-digit number as one piece and so flatters the entity formats).

It also checks the entities route end to end: grounding each answer's entities in the input
and rendering the masked text must give back target_text.

Run: python benchmarks/bench_formats.py [path/to/ai4privacy-200k-en-dev.jsonl]
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pii_gemini._entities import ground_entities, parse_entities, render_masked
from pii_gemini.dataset import PromptBuilder, load_pii_dataset
from pii_gemini.synthetic import generate_rows

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ai4privacy-200k-en-dev.jsonl"
TARGETS = ("masked_text", "entities", "entity_lines")
_PIECE_RE = re.compile(r"\w+|[^\w\s]")


def counters() -> dict[str, Callable[[str], int]]:
    """Token counters by name; the BPE ones only when bpe-openai is installed."""
    out: dict[str, Callable[[str], int]] = {}
    try:
        import bpe_openai
    except ImportError:
        print("(bpe-openai is not installed: no real tokenizer counts; pip install bpe-openai)")
    else:
        enc = bpe_openai.get_encoding("o200k_base")

        def digits_apart(text: str) -> int:
            count = 0
            for piece in enc.decode_tokens_bytes(enc.encode(text)):
                core = piece.strip()
                count += len(core) if core.isdigit() else 1
            return count

        out["o200k tokens"] = lambda t: len(enc.encode(t))
        out["o200k, a digit a token"] = digits_apart
    out["chars / 4"] = lambda t: len(t) / 4  # type: ignore[assignment,return-value]
    out["word pieces"] = lambda t: len(_PIECE_RE.findall(t))
    return out


def compare(title: str, rows: pd.DataFrame, count: dict[str, Callable[[str], int]]) -> None:
    outputs = {t: PromptBuilder(target=t).build(rows)["output"].tolist() for t in TARGETS}
    print(f"\n## {title} ({len(rows)} rows): mean per answer")
    table = pd.DataFrame(
        {
            name: [sum(map(fn, outputs[t])) / len(rows) for t in TARGETS]
            for name, fn in {"chars": len, **count}.items()
        },
        index=TARGETS,
    )
    print(table.round(1).to_string())
    for name in table.columns:
        m, e, lines = (table.loc[t, name] for t in TARGETS)
        print(f"  {name:<24} rewrite / entities {m / e:4.2f}x, rewrite / entity_lines "
              f"{m / lines:4.2f}x")  # fmt: skip


def check_grounding(rows: pd.DataFrame) -> None:
    """Both entity formats rebuild target_text exactly after grounding."""
    for target in ("entities", "entity_lines"):
        answers = PromptBuilder(target=target).build(rows)["output"]
        t0 = time.process_time()
        same = sum(
            render_masked(src, ground_entities(src, parse_entities(ans))) == want
            for src, ans, want in zip(
                rows["source_text"], answers, rows["target_text"], strict=True
            )
        )
        rate = len(rows) / max(time.process_time() - t0, 1e-9)
        print(f"parse+ground+render of {target} == target_text on {same}/{len(rows)} rows "
              f"({rate:,.0f} rows/s)")  # fmt: skip


def main(path: Path) -> None:
    count = counters()
    if path.exists():
        raw = pd.read_json(path, lines=True)
        real = raw[raw["derivation"] == "exact"].rename(
            columns={"privacy_mask_derived": "privacy_mask"}
        )
        real = real.reset_index(drop=True)
        compare(f"real ai4privacy rows ({path.name}, derivation exact)", real, count)
        check_grounding(real)
    else:
        print(f"(real rows not found at {path}: generated rows only)")
    generated = load_pii_dataset(generate_rows(1000, seed=0))
    compare("generated rows (pii_gemini.synthetic)", generated, count)
    check_grounding(generated)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
