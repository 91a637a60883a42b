"""Span recovery and evaluation on real ai4privacy rows, with a difflib baseline.

Reads ../shared/data/ai4privacy-200k-en-dev.jsonl at run time (never copied; pass another
path as the first argument). Prints:

1. align(source_text, target_text) against privacy_mask_derived on every row whose
   derivation is "exact" (mismatches as row_index only), and how the "ambiguous" rows are
   handled (split by value shape vs. flagged);
2. evaluate() on target_text (must be perfect) and on the zero-shot llama3 answers;
3. rows/s of align and of align+evaluate on one core (CPU time, best of BEST_OF runs of
   REPEAT passes), each with its ratio against the same work done with a
   difflib.SequenceMatcher-based aligner written below as the baseline.

Throughput history (rows/s of align+evaluate on one core; issue 4 asks >= 20,000):

==========================================  ===========  =====================
version, measurement                        target_text  llama3_t0001_response
==========================================  ===========  =====================
d7afbf3, old bench (one run), lead's figure      21,576                 10,487
d7afbf3, old bench (one run), same machine       22,783                 12,173
d7afbf3, best of 10 in one process               24,691                 12,454
now, this bench (best of 3), same machine        35,904                 19,298
==========================================  ===========  =====================

The llama3 figure is still ~4% short of 20,000 on this machine (18,900-19,300 over runs);
the remaining cost is spread thinly over per-row Python work (span objects, leak
normalisation, chatter stripping, alignment), none of it above ~5% on its own.

What made the difference (results unchanged, checked number for number): the fit check of
clean_output is reused by evaluate instead of aligning twice and bails out early on chatter
and model-style tags; leak counting normalises each text once (ASCII via one bytes.translate)
and only searches the reference for values the output holds; placeholders are scanned with a
greedy-label regex (same matches as labels.PLACEHOLDER_RE, ~40% faster); the loose aligner
tries the whole literal before its binary search; the per-row frame is built column-wise.

Run: python benchmarks/bench_align.py [path/to/ai4privacy-200k-en-dev.jsonl]
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pii_gemini import metrics
from pii_gemini._align import RawAlignment, align, split_masked
from pii_gemini._hygiene import CleanedFit, clean_and_fit
from pii_gemini._types import Span
from pii_gemini.labels import PLACEHOLDER_RE

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT = DATA_DIR / "ai4privacy-200k-en-dev.jsonl"
REPEAT = 5  # passes over the rows per timed run
BEST_OF = 3  # timed runs per figure; the fastest counts


def difflib_align(source: str, masked: str) -> list[Span]:
    """Baseline: character diff of source vs masked; each placeholder takes its diff region.

    A replace/insert region of the masked text holding placeholders maps to the source
    region it replaces; several placeholders in one region share it at the literal text
    between them (first occurrence), the usual hand-written approach.
    """
    sm = difflib.SequenceMatcher(None, source, masked, autojunk=False)
    spans: list[Span] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        region = masked[j1:j2]
        found = list(PLACEHOLDER_RE.finditer(region))
        if not found:
            continue
        cursor = i1
        for k, m in enumerate(found):
            nxt = found[k + 1].start() if k + 1 < len(found) else None
            if nxt is None:
                end = i2
            else:
                lit = region[m.end() : nxt]
                p = source.find(lit, cursor + 1, i2) if lit else cursor + 1
                end = p if p > cursor else i2
            if end > cursor:
                spans.append(Span(cursor, end, m.group(1), source[cursor:end]))
            cursor = end + (len(region[m.end() : nxt]) if nxt is not None else 0)
    return spans


def _pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _rate(fn: Callable[[], object], rows: int) -> float:
    """Rows per CPU second, best of BEST_OF runs (the least disturbed one)."""
    best = float("inf")
    for _ in range(BEST_OF):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return rows / best


def _difflib_alignment(source: str, masked: str, **_: object) -> RawAlignment:
    spans = difflib_align(source, masked)
    labels = tuple(s.label for s in spans)
    parts = split_masked(masked, source)  # what evaluate reads besides the spans
    return RawAlignment([s.start for s in spans], [s.end for s in spans], labels, False, True,
                        (), (), parts.labels, parts.literals if parts.labels else ())  # fmt: skip


@contextlib.contextmanager
def _difflib_evaluate() -> Iterator[None]:
    """evaluate() with every prediction aligned by the difflib baseline instead of align()."""

    def clean_only(raw: str, source: str) -> CleanedFit:
        return clean_and_fit(raw, source)._replace(fitted=None)  # no fitted alignment to reuse

    with (
        mock.patch.object(metrics, "_align", _difflib_alignment),
        mock.patch.object(metrics, "clean_and_fit", clean_only),
    ):
        yield


def main(path: Path) -> None:
    _pin_one_core()
    df = pd.read_json(path, lines=True)
    print(f"rows: {len(df)} from {path.name}")
    src, tgt = df["source_text"].tolist(), df["target_text"].tolist()
    llama = df["llama3_t0001_response"].tolist()
    exact = (df["derivation"] == "exact").tolist()

    # 1. reproduce privacy_mask_derived on the exact rows; flag the ambiguous ones
    mismatches: list[int] = []
    n_exact = n_amb = amb_flagged = amb_shape = exact_flagged = base_ok = 0
    for i, row in enumerate(df.itertuples()):
        a = align(src[i], tgt[i])
        got = [s.to_dict() for s in a.spans]
        if exact[i]:
            n_exact += 1
            if got != list(row.privacy_mask_derived):
                mismatches.append(int(row.row_index))
            exact_flagged += a.ambiguous
            base = [s.to_dict() for s in difflib_align(src[i], tgt[i])]
            base_ok += base == list(row.privacy_mask_derived)
        else:
            n_amb += 1
            amb_flagged += a.ambiguous
            amb_shape += (not a.ambiguous) and "split_by_shape" in a.issues
    print("\n== align(source_text, target_text) vs privacy_mask_derived ==")
    print(f"exact rows reproduced: {n_exact - len(mismatches)}/{n_exact}; mismatched row_index: "
          f"{mismatches}; exact rows flagged ambiguous: {exact_flagged}")  # fmt: skip
    unhandled = n_amb - amb_shape - amb_flagged
    print(f"ambiguous rows: {n_amb}; split by value shape (certain): {amb_shape}; "
          f"flagged ambiguous: {amb_flagged}; unhandled: {unhandled}")  # fmt: skip
    print(f"difflib baseline reproduces {base_ok}/{n_exact} exact rows")

    # 2. evaluate
    ex = df[df["derivation"] == "exact"]
    print("\n== evaluate (gold = privacy_mask_derived, exact rows) ==")
    keys = ["exact_match", "strict_f1", "lenient_f1", "strict_recall", "lenient_recall",
            "leak_rate", "leak_rate_normalized", "rows_with_leak_rate", "preservation_rate",
            "faithful_rate", "chatter_rate", "leading_chatter_rate", "refusal_rate",
            "invented_label_rate", "kept_value_rate", "ambiguous_alignments"]  # fmt: skip
    reports = {
        col: metrics.evaluate(ex["source_text"], ex[col], gold_spans=ex["privacy_mask_derived"])
        for col in ("target_text", "llama3_t0001_response")
    }
    table = pd.DataFrame({col: [r[k] for k in keys] for col, r in reports.items()}, index=keys)
    print(table.round(4).to_string())
    full = metrics.evaluate(src, llama, references=tgt)
    print(f"all {len(df)} rows, gold from aligning target_text: strict_f1={full.strict.f1:.4f} "
          f"leak_rate={full.leak_rate:.4f} chatter_rate={full.chatter_rate:.4f} "
          f"gold_ambiguous_alignments={full.gold_ambiguous_alignments}")  # fmt: skip

    # 3. throughput on one core
    print(f"\n== throughput (CPU time, one core, best of {BEST_OF} x {REPEAT} passes) ==")
    n = len(df) * REPEAT
    s_rep, t_rep, l_rep = src * REPEAT, tgt * REPEAT, llama * REPEAT
    ours_t = _rate(lambda: [align(s, t) for s, t in zip(s_rep, t_rep, strict=True)], n)
    base_t = _rate(lambda: [difflib_align(s, t) for s, t in zip(s_rep, t_rep, strict=True)], n)
    ours_l = _rate(lambda: [align(s, t) for s, t in zip(s_rep, l_rep, strict=True)], n)
    base_l = _rate(lambda: [difflib_align(s, t) for s, t in zip(s_rep, l_rep, strict=True)], n)
    print(f"align target_text: {ours_t:,.0f} rows/s vs difflib {base_t:,.0f} rows/s "
          f"-> {ours_t / base_t:.1f}x")  # fmt: skip
    print(f"align llama3 answers: {ours_l:,.0f} rows/s vs difflib {base_l:,.0f} rows/s "
          f"-> {ours_l / base_l:.1f}x")  # fmt: skip
    ex_n = len(ex) * REPEAT
    ex_src = ex["source_text"].tolist() * REPEAT
    ex_gold = ex["privacy_mask_derived"].tolist() * REPEAT
    for col in ("target_text", "llama3_t0001_response"):
        preds = ex[col].tolist() * REPEAT
        run = functools.partial(metrics.evaluate, ex_src, preds, gold_spans=ex_gold)
        r = _rate(run, ex_n)
        with _difflib_evaluate():
            r_base = _rate(run, ex_n)
        print(f"align+evaluate on {col}: {r:,.0f} rows/s vs difflib {r_base:,.0f} rows/s "
              f"-> {r / r_base:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
