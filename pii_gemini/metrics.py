"""Metrics for PII masking: exact match, span recovery and an honest evaluation report.

Exact match alone says little (prompted LLMs almost never reproduce the reference byte for
byte). :func:`evaluate` cleans each answer, recovers its spans, and reports span precision /
recall / F1 / F2 (strict and lenient), PII leakage (verbatim and normalised), preservation of
the non-PII text, chatter, refusals, invented labels and kept values::

    report = metrics.evaluate(df.source_text, predictions, gold_spans=df.privacy_mask)
    print(report.to_markdown())
    report.plot_recall("recall.png")
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from itertools import compress
from typing import Any

import numpy as np
import pandas as pd

from ._align import Alignment, RawAlignment
from ._align import align as _align_public
from ._align import align_raw as _align
from ._exceptions import ConfigError, DatasetError
from ._gold import gold_row, net_row, render
from ._hygiene import (
    CleanedOutput,
    FaithfulnessReport,
    check_faithfulness,
    clean_and_fit,
    clean_output,
    invented_labels,
    kept_values,
    normalize_placeholders,
    repair,
)
from ._leaks import leak_flags, value_groups
from ._report import EvaluationReport, SpanScores
from ._spanmath import caught, overlaps, preserved, strict_matches
from ._types import MaskResult, Span
from .labels import ALL_LABELS

__all__ = [
    "Alignment",
    "CleanedOutput",
    "EvaluationReport",
    "FaithfulnessReport",
    "SpanScores",
    "align",
    "align_detailed",
    "check_faithfulness",
    "clean_output",
    "compare",
    "evaluate",
    "evaluate_results",
    "exact_match",
    "invented_labels",
    "kept_values",
    "normalize_placeholders",
    "repair",
]


def align(source: str, masked: str, *, labels: Collection[str] | None = None) -> list[Span]:
    """The spans of ``source`` hidden by the placeholders of ``masked`` (see align_detailed)."""
    return list(_align_public(source, masked, labels=labels).spans)


def align_detailed(source: str, masked: str, *, labels: Collection[str] | None = None) -> Alignment:
    """Spans plus whether they are ambiguous, whether ``masked`` is faithful, and issues.

    Placeholders are ``[LABEL]`` or ``[LABEL_N]``; adjacent placeholders are split by value
    shape when that is certain and flagged ``ambiguous`` otherwise; text the model rewrote is
    reported in ``changes`` and makes ``faithful`` False.
    """
    return _align_public(source, masked, labels=labels)


def _texts(values: Iterable[Any], name: str) -> list[str]:
    if isinstance(values, str):
        raise ConfigError(f"{name} must be a sequence of texts, not a single str")
    out: list[str] = []
    for i, v in enumerate(values):
        if isinstance(v, str):
            out.append(v)
        elif v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            out.append("")
        else:
            raise DatasetError(f"{name}[{i}] is {type(v).__name__}, expected str", row=i)
    return out


def _same_length(**columns: Sequence[Any]) -> int:
    lengths = {k: len(v) for k, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ConfigError(f"inputs differ in length: {lengths}")
    return next(iter(lengths.values()))


def exact_match(predictions: Iterable[Any], references: Iterable[Any]) -> float:
    """Share of predictions equal to their reference (surrounding whitespace ignored)."""
    preds = _texts(predictions, "predictions")
    refs = _texts(references, "references")
    n = _same_length(predictions=preds, references=refs)
    if n == 0:
        raise ConfigError("exact_match needs at least one row")
    return sum(p.strip() == r.strip() for p, r in zip(preds, refs, strict=True)) / n


_ROW_COLUMNS = (
    "row", "exact", "n_gold", "n_pred", "strict_tp", "strict_recall", "strict_precision",
    "lenient_recall", "leaked", "leaked_normalized", "preserved_rate", "faithful", "ambiguous",
    "chatter", "refused", "invented_labels", "kept_values", "issues", "leading_chatter",
    "leaked_raw", "n_tags", "len_pred_hit", "len_gold_hit", "kept_chars", "nonpii_chars",
    "gold_ambiguous", "source", "prediction", "reference",
)  # fmt: skip
_TEXT_COLUMNS = frozenset({"source", "prediction", "reference", "issues"})


def _rows_frame(records: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """The per-row frame from ``evaluate``'s records, one column at a time.

    Numeric and boolean columns go through numpy in one step (much cheaper than pandas'
    per-cell inference in ``from_records``, same dtypes); text columns stay Python objects.
    """
    columns: dict[str, Any] = {}
    for name, values in zip(_ROW_COLUMNS, zip(*records, strict=True), strict=True):
        if name in _TEXT_COLUMNS:  # object dtype: pandas' str dtype cannot hold a lone
            columns[name] = pd.Series(values, dtype=object)  # surrogate (a cut emoji)
        else:
            array = np.asarray(values)
            columns[name] = array.astype(np.int64, copy=False) if array.dtype.kind == "i" else array
    frame: pd.DataFrame = pd.DataFrame(columns)
    return frame


def evaluate(
    sources: Iterable[Any],
    predictions: Iterable[Any],
    *,
    references: Iterable[Any] | None = None,
    gold_spans: Iterable[Any] | None = None,
    labels: Collection[str] | None = None,
    clean: bool = True,
    safety_net_spans: Iterable[Any] | None = None,
) -> EvaluationReport:
    """Evaluate masked ``predictions`` of ``sources`` against the gold PII.

    Gold spans come from ``gold_spans`` (one ``privacy_mask`` per row: a list of
    ``{"value", "start", "end", "label"}`` dicts or Spans) when given, else from aligning
    ``references`` (the gold masked texts) to the sources. ``labels`` is the label set used to
    count invented labels (default: every ai4privacy label). With ``clean`` each answer first
    goes through chatter removal and placeholder normalisation. ``safety_net_spans`` (one
    sequence of Spans or ``{start, end, label}`` dicts per row, ``MaskResult.safety_net_spans``)
    adds ``safety_net_caught``: gold values a safety-net span covers that no span of the
    model covers (predictions may include the safety net's masking or not).
    """
    srcs = _texts(sources, "sources")
    preds = _texts(predictions, "predictions")
    if gold_spans is None and references is None:
        raise ConfigError("evaluate needs references or gold_spans")
    refs = _texts(references, "references") if references is not None else None
    golds_in = list(gold_spans) if gold_spans is not None else None
    columns: dict[str, Sequence[Any]] = {"sources": srcs, "predictions": preds}
    if refs is not None:
        columns["references"] = refs
    if golds_in is not None:
        columns["gold_spans"] = golds_in
    nets_in = list(safety_net_spans) if safety_net_spans is not None else None
    if nets_in is not None:
        columns["safety_net_spans"] = nets_in
    n = _same_length(**columns)
    if n == 0:
        raise ConfigError("evaluate needs at least one row")
    label_set = frozenset(labels) if labels is not None else ALL_LABELS

    tp_labels: list[str] = []
    gold_labels_all: list[str] = []
    pred_labels_all: list[str] = []
    lenient_labels: list[str] = []
    leak_labels: list[str] = []
    records: list[tuple[Any, ...]] = []
    n_caught = 0
    for i in range(n):
        source, raw = srcs[i], preds[i]
        if golds_in is not None:
            gold = gold_row(golds_in[i], source, i)
            gold_amb = False
            reference = refs[i] if refs is not None else render(source, *gold[:3])
        else:
            assert refs is not None
            reference = refs[i]
            g_al = _align(source, reference)
            if not g_al.faithful:
                raise DatasetError(
                    f"references[{i}] does not match its source outside placeholders", row=i
                )
            g_starts, g_ends = list(g_al.starts), list(g_al.ends)
            values = [source[a:b] for a, b in zip(g_starts, g_ends, strict=True)]
            gold, gold_amb = (g_starts, g_ends, list(g_al.labels), values), g_al.ambiguous
        fitted: RawAlignment | None = None
        if clean:
            cleaned = clean_and_fit(raw, source)
            text, fitted = cleaned.text, cleaned.fitted
            if cleaned.model_tags:
                text = normalize_placeholders(text)
                if text != cleaned.text:
                    fitted = None
            chatter, refused = cleaned.had_chatter, cleaned.refused
            lead = bool(cleaned.removed_prefix) and not refused
        else:
            text, chatter, lead, refused = raw, False, False, False
        exact = text.strip() == reference.strip()
        no_bracket = "[" not in source
        al = fitted if fitted is not None else _align(source, text)
        if nets_in is not None:
            n_caught += caught(gold, al, net_row(nets_in[i], source, i))
        gold_labels = gold[2]
        n_gold, n_pred = len(gold_labels), len(al.labels)
        gold_labels_all.extend(gold_labels)
        pred_labels_all.extend(al.labels)
        # strict: same boundaries and label (multiset)
        if exact:
            strict_tp = n_gold
            tp_labels.extend(gold_labels)
        else:
            strict_tp = strict_matches(gold, al, tp_labels)
        gold_hits = overlaps(gold[0], gold[1], al.starts, al.ends)
        len_gold_hit = sum(gold_hits)
        len_pred_hit = sum(overlaps(al.starts, al.ends, gold[0], gold[1]))
        lenient_labels.extend(compress(gold_labels, gold_hits))
        groups = value_groups(gold[3]) if not exact or raw != text else {}
        if exact:
            leaked = leaked_n = 0
        else:
            # the aligner cut the text at every placeholder (when no bracket in the source
            # stopped one counting): joined by NULs, its literals are the blanked text
            blanked = ("\x00".join(al.literals) if al.literals else text) if no_bracket else None
            flags_v, flags_n = leak_flags(groups, n_gold, text, reference, output_blanked=blanked)
            leaked, leaked_n = sum(flags_v), sum(flags_n)
            if leaked_n:
                leak_labels.extend(compress(gold_labels, flags_n))
        if raw != text:
            flags_raw = leak_flags(groups, n_gold, raw, reference, normalised=False)[0]
            leaked_raw = sum(flags_raw)
        else:
            leaked_raw = leaked
        kept, total = preserved(len(source), gold, al)
        # placeholders the model inserted (a bracketed label kept from the source is text):
        # the aligner's tags, which skip the same bracketed texts of the source
        n_tags = len(al.tags)
        n_invented = n_tags - sum(map(label_set.__contains__, al.tags))
        n_kept = len(kept_values(source, text)) if n_tags and not exact else 0
        records.append(
            (
                i, exact, n_gold, n_pred, strict_tp,
                strict_tp / n_gold if n_gold else 1.0,
                strict_tp / n_pred if n_pred else 1.0,
                len_gold_hit / n_gold if n_gold else 1.0,
                leaked, leaked_n, kept / total if total else 1.0,
                al.faithful, al.ambiguous, chatter, refused, n_invented, n_kept,
                ",".join(al.issues), lead, leaked_raw, n_tags, len_pred_hit, len_gold_hit,
                kept, total, gold_amb, source, text, reference,
            )
        )  # fmt: skip

    frame = _rows_frame(records)
    totals = {c: int(frame[c].sum()) for c in frame.columns if c not in _TEXT_COLUMNS}

    def rate(key: str, denom: str | int) -> float:
        d = totals[denom] if isinstance(denom, str) else denom
        return totals[key] / d if d else 0.0

    tp_strict = Counter(tp_labels)
    per_label = _per_label(
        Counter(gold_labels_all),
        Counter(pred_labels_all),
        tp_strict,
        tp_strict,
        Counter(lenient_labels),
        Counter(leak_labels),
    )
    return EvaluationReport(
        n_rows=n,
        exact_match=rate("exact", n),
        strict=SpanScores.from_counts(
            totals["strict_tp"], totals["n_pred"], totals["strict_tp"], totals["n_gold"]
        ),
        lenient=SpanScores.from_counts(
            totals["len_pred_hit"], totals["n_pred"], totals["len_gold_hit"], totals["n_gold"]
        ),
        leak_rate=rate("leaked", "n_gold"),
        leak_rate_normalized=rate("leaked_normalized", "n_gold"),
        rows_with_leak_rate=float((frame["leaked"] > 0).mean()),
        rows_with_leak_rate_normalized=float((frame["leaked_normalized"] > 0).mean()),
        leak_rate_raw=rate("leaked_raw", "n_gold"),
        preservation_rate=rate("kept_chars", "nonpii_chars") if totals["nonpii_chars"] else 1.0,
        faithful_rate=rate("faithful", n),
        chatter_rate=rate("chatter", n),
        leading_chatter_rate=rate("leading_chatter", n),
        refusal_rate=rate("refused", n),
        invented_label_rate=float((frame["invented_labels"] > 0).mean()),
        invented_placeholder_share=rate("invented_labels", "n_tags"),
        kept_value_rate=float((frame["kept_values"] > 0).mean()),
        ambiguous_alignments=totals["ambiguous"],
        gold_ambiguous_alignments=totals["gold_ambiguous"],
        n_gold_spans=totals["n_gold"],
        n_pred_spans=totals["n_pred"],
        per_label=per_label,
        _rows=frame,
        safety_net_caught=n_caught if nets_in is not None else None,
    )


def evaluate_results(
    results: Iterable[MaskResult],
    *,
    references: Iterable[Any] | None = None,
    gold_spans: Iterable[Any] | None = None,
    labels: Collection[str] | None = None,
    clean: bool = True,
) -> EvaluationReport:
    """:func:`evaluate` on a Masker's output: sources, masked texts and safety-net spans
    taken from the ``MaskResult`` list (a row without a masked text counts as empty).

    Spans are recovered from the masked texts, so use an operator that writes placeholders
    (``replace`` or ``numbered``) for results you want to score.
    """
    rows = list(results)
    for i, r in enumerate(rows):
        if not isinstance(r, MaskResult):
            raise ConfigError(f"results[{i}] is {type(r).__name__}, not a MaskResult")
    return evaluate(
        [r.text for r in rows],
        [r.masked_text if r.masked_text is not None else "" for r in rows],
        references=references,
        gold_spans=gold_spans,
        labels=labels,
        clean=clean,
        safety_net_spans=[r.safety_net_spans for r in rows],
    )


def _per_label(
    gold: Counter[str],
    pred: Counter[str],
    tp: Counter[str],
    pred_tp: Counter[str],
    lenient: Counter[str],
    leaked: Counter[str],
) -> pd.DataFrame:
    records = []
    for label in sorted(gold):
        sc = SpanScores.from_counts(pred_tp[label], pred[label], tp[label], gold[label])
        records.append(
            {
                "label": label,
                "support": gold[label],
                "n_pred": pred[label],
                "strict_tp": tp[label],
                "strict_precision": sc.precision,
                "strict_recall": sc.recall,
                "strict_f1": sc.f1,
                "strict_f2": sc.f2,
                "lenient_recall": lenient[label] / gold[label],
                "leak_rate_normalized": leaked[label] / gold[label],
            }
        )
    columns = [
        "label", "support", "n_pred", "strict_tp", "strict_precision", "strict_recall",
        "strict_f1", "strict_f2", "lenient_recall", "leak_rate_normalized",
    ]  # fmt: skip
    out: pd.DataFrame = pd.DataFrame(records, columns=columns)
    return out


def compare(
    sources: Iterable[Any],
    predictions: Iterable[Any],
    references: Iterable[Any],
    *,
    show_pii: bool = False,
) -> pd.DataFrame:
    """One row per input: exact match, chatter, faithfulness, span and leak counts.

    Text columns (source, prediction, reference) are included only with ``show_pii``.
    """
    out: pd.DataFrame = evaluate(sources, predictions, references=references).rows(
        show_pii=show_pii
    )
    return out
