"""Output length of the three tuning targets on the same real rows.

The model's answer length drives generation cost and latency. ``target="masked_text"``
makes it rewrite the whole input; ``target="entities"`` makes it list only the PII as
``[{"label":..,"value":..}]``; ``target="entity_lines"`` lists it one ``LABEL: value`` a line.
All are built with dataset.PromptBuilder from the same rows
of ../shared/data/ai4privacy-200k-en-dev.jsonl (read at run time; the "exact" rows, whose
derived spans are reliable). Tokens are estimated two ways: characters / 4 (the usual rule
of thumb for Gemini/SentencePiece on English) and a word-piece count (words and single
punctuation marks), since no tokenizer is installed offline.

It also checks the entities route end to end: grounding each answer's entities in the input
and rendering the masked text must give back target_text.

Measured (896 exact rows): masked_text 156 chars / 33 word pieces per answer; entities JSON
136 / 61 (1.15x fewer characters but 0.55x - i.e. MORE - word pieces, all that punctuation);
entity_lines 73 / 16 (2.15x fewer characters, 2.10x fewer word pieces than masked_text).
All three rebuild target_text exactly after grounding.

Run: python benchmarks/bench_formats.py [path/to/ai4privacy-200k-en-dev.jsonl]
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pii_gemini._entities import ground_entities, parse_entities, render_masked
from pii_gemini.dataset import PromptBuilder

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ai4privacy-200k-en-dev.jsonl"
_PIECE_RE = re.compile(r"\w+|[^\w\s]")


def _stats(lengths: pd.Series) -> dict[str, float]:
    return {
        "mean": float(lengths.mean()),
        "median": float(lengths.median()),
        "p95": float(lengths.quantile(0.95)),
        "total": float(lengths.sum()),
    }


def main(path: Path) -> None:
    raw = pd.read_json(path, lines=True)
    df = raw[raw["derivation"] == "exact"].rename(columns={"privacy_mask_derived": "privacy_mask"})
    df = df.reset_index(drop=True)
    masked = PromptBuilder(target="masked_text").build(df)["output"]
    entities = PromptBuilder(target="entities").build(df)["output"]
    lines = PromptBuilder(target="entity_lines").build(df)["output"]
    print(f"rows: {len(df)} (derivation == 'exact') from {path.name}\n")

    rows = {}
    for name, out in (("masked_text", masked), ("entities", entities), ("entity_lines", lines)):
        chars = out.str.len()
        rows[(name, "chars")] = _stats(chars)
        rows[(name, "~tokens (chars/4)")] = _stats(chars / 4)
        rows[(name, "word pieces")] = _stats(out.map(lambda t: len(_PIECE_RE.findall(t))))
    table = pd.DataFrame(rows).T.round(1)
    print(table.to_string())
    ratio_chars = masked.str.len().sum() / entities.str.len().sum()
    pieces_m = masked.map(lambda t: len(_PIECE_RE.findall(t))).sum()
    pieces_e = entities.map(lambda t: len(_PIECE_RE.findall(t))).sum()
    shorter = float((entities.str.len() < masked.str.len()).mean())
    print(f"\nmasked_text / entities: {ratio_chars:.2f}x characters, "
          f"{pieces_m / pieces_e:.2f}x word pieces; entities answer shorter on "
          f"{shorter:.1%} of rows")  # fmt: skip
    pieces_l = lines.map(lambda t: len(_PIECE_RE.findall(t))).sum()
    print(f"masked_text / entity_lines: {masked.str.len().sum() / lines.str.len().sum():.2f}x "
          f"characters, {pieces_m / pieces_l:.2f}x word pieces")  # fmt: skip

    # the entities route gives back the masked text exactly
    t0 = time.process_time()
    rebuilt = [
        render_masked(src, ground_entities(src, parse_entities(ans)))
        for src, ans in zip(df["source_text"], entities, strict=True)
    ]
    dt = time.process_time() - t0
    same = sum(r == t for r, t in zip(rebuilt, df["target_text"], strict=True))
    same_lines = sum(
        render_masked(src, ground_entities(src, parse_entities(ans))) == t
        for src, ans, t in zip(df["source_text"], lines, df["target_text"], strict=True)
    )
    print(f"parse+ground+render of the entities answers == target_text on {same}/{len(df)} rows "
          f"({len(df) / dt:,.0f} rows/s); entity_lines: {same_lines}/{len(df)}")  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
