"""The evaluation loop: every row cleaned, aligned and scored, in one pass (compiled by mypyc).

:func:`pii_gemini.metrics.evaluate` checks its arguments and calls :func:`evaluate` here.
Inside, nothing builds per-span objects (see docs/architecture.md, "The evaluation hot
path"): gold spans are parallel lists (``_gold``), the answer's alignment a ``RawAlignment``
(the one found while cleaning when the answer fits the source), and the counts of a row go
into one record tuple; the report's tables are built from the records once (``_tables``).
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from itertools import compress
from typing import Any

import pandas as pd

from ._align import RawAlignment, without_revealing
from ._align import align_raw as _align
from ._exceptions import ConfigError, DatasetError
from ._gold import gold_row, net_row, render
from ._hygiene import clean_and_fit, kept_values, without_indices
from ._leaks import blank, leak_flags, value_groups
from ._report import EvaluationReport, RowSpans, SpanScores
from ._spanmath import caught, cross_overlaps, preserved, strict_matches
from ._tables import TEXT_COLUMNS, per_label, rows_frame
from .labels import ALL_LABELS

__all__ = ["as_texts", "evaluate", "same_length"]


def as_texts(values: Iterable[Any], name: str, fill: Sequence[str] = ()) -> list[str]:
    """``values`` as a list of str; anything else is a DatasetError.

    None, NA and NaN (missing) become ``fill[i]`` when there is one, else "".
    """
    if isinstance(values, str):
        raise ConfigError(f"{name} must be a sequence of texts, not a single str")
    out: list[str] = []
    for i, v in enumerate(values):
        if isinstance(v, str):
            out.append(v)
        elif v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            out.append(fill[i] if i < len(fill) else "")
        else:
            raise DatasetError(f"{name}[{i}] is {type(v).__name__}, expected str", row=i)
    return out


def same_length(**columns: Sequence[Any]) -> int:
    """The common length of the columns; ConfigError when they differ."""
    lengths = {k: len(v) for k, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ConfigError(f"inputs differ in length: {lengths}")
    return next(iter(lengths.values()))


def evaluate(
    sources: Iterable[Any], predictions: Iterable[Any], **options: Any
) -> EvaluationReport:
    """:func:`pii_gemini.metrics.evaluate` (documented there, with the keyword ``options``),
    once it has checked them."""
    references: Iterable[Any] | None = options.get("references")
    gold_spans: Iterable[Any] | None = options.get("gold_spans")
    labels: Collection[str] | None = options.get("labels")
    clean: bool = options.get("clean", True)
    safety_net_spans: Iterable[Any] | None = options.get("safety_net_spans")
    languages: Iterable[Any] | None = options.get("languages")
    model: str | None = options.get("model")
    srcs = as_texts(sources, "sources")
    # a missing prediction (a row the model did not mask) is scored as its unmasked source
    preds = as_texts(predictions, "predictions", fill=srcs)
    if gold_spans is None and references is None:
        raise ConfigError("evaluate needs references or gold_spans")
    refs = as_texts(references, "references") if references is not None else None
    golds_in = list(gold_spans) if gold_spans is not None else None
    columns: dict[str, Sequence[Any]] = {"sources": srcs, "predictions": preds}
    if refs is not None:
        columns["references"] = refs
    if golds_in is not None:
        columns["gold_spans"] = golds_in
    nets_in = list(safety_net_spans) if safety_net_spans is not None else None
    if nets_in is not None:
        columns["safety_net_spans"] = nets_in
    langs = as_texts(languages, "languages") if languages is not None else None
    if langs is not None:
        columns["languages"] = langs
    n = same_length(**columns)
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
        unfit = False
        if clean:
            cleaned = clean_and_fit(raw, source)  # with tags normalised, and its fit
            text, fitted, unfit = cleaned.normalized, cleaned.fitted, cleaned.unfit
            chatter, refused = cleaned.had_chatter, cleaned.refused
            lead = bool(cleaned.removed_prefix) and not refused
        else:
            text, chatter, lead, refused = raw, False, False, False
        exact = text.strip() == reference.strip() or (
            ("_" in text or "_" in reference) and _same_unindexed(text, reference, source)
        )
        al = fitted if fitted is not None else _align(source, text, unfit=unfit)
        if not ALL_LABELS.issuperset(al.labels):  # an invented label: is it the value?
            al = _unrevealed(source, al, gold[3])
        if nets_in is not None:
            n_caught += caught(gold, al, net_row(nets_in[i], source, i))
        gold_labels = gold[2]
        # an exact answer predicts the gold spans, whatever its alignment found
        pred_labels = gold_labels if exact else al.labels
        n_gold, n_pred = len(gold_labels), len(pred_labels)
        gold_labels_all.extend(gold_labels)
        pred_labels_all.extend(pred_labels)
        # strict: same boundaries and label (multiset)
        if exact:
            strict_tp = n_gold
            tp_labels.extend(gold_labels)
        char_gold = sum(gold[1]) - sum(gold[0])
        if exact or (al.starts == gold[0] and al.ends == gold[1]):
            # the gold boundaries (a quarter of real answers): every span overlaps its twin
            # and only it, so lenient and character counts are the gold's and strict
            # compares the labels pairwise
            if not exact:
                same = list(map(str.__eq__, gold_labels, al.labels))
                strict_tp = sum(same)
                tp_labels.extend(compress(gold_labels, same))
            len_gold_hit = len_pred_hit = n_gold
            char_tp = char_pred = char_gold
            lenient_labels.extend(gold_labels)
        else:
            if not exact:
                strict_tp = strict_matches(gold, al, tp_labels)
            # lenient: overlapping any span, any label; char: the characters both cover
            gold_hits, len_pred_hit, char_tp = cross_overlaps(gold[0], gold[1], al.starts, al.ends)
            len_gold_hit = sum(gold_hits)
            lenient_labels.extend(compress(gold_labels, gold_hits))
            char_pred = sum(al.ends) - sum(al.starts)
        groups = value_groups(gold[3]) if not exact or raw != text else {}
        if exact:
            leaked = leaked_n = 0
        else:
            if al.revealed:  # a placeholder spelling out its value stays: it is a leak
                blanked: str | None = blank(text, keep=al.revealed)
            elif "[" not in source:  # the aligner cut the text at every placeholder:
                blanked = "\x00".join(al.literals) if al.literals else text  # NUL-joined
            else:
                blanked = None
            flags_v, flags_n = leak_flags(groups, n_gold, text, reference, output_blanked=blanked)
            leaked, leaked_n = sum(flags_v), sum(flags_n)
            if leaked_n:
                leak_labels.extend(compress(gold_labels, flags_n))
        if raw == text:
            leaked_raw = leaked
        elif "\x00" not in source and not any(map(raw.__contains__, groups)):
            leaked_raw = 0  # no value in the answer at all (blanking only removes matches)
        else:
            flags_raw = leak_flags(groups, n_gold, raw, reference, normalised=False)[0]
            leaked_raw = sum(flags_raw)
        kept, total = preserved(len(source), gold, al)
        # placeholders the model inserted (a bracketed label kept from the source is text):
        # the aligner's tags, which skip the same bracketed texts of the source
        n_tags = len(al.tags)
        n_invented = n_tags - sum(map(label_set.__contains__, al.tags))
        n_kept = len(kept_values(source, text)) if n_tags and not exact else 0
        records.append(
            (
                i, exact, n_gold, n_pred, strict_tp, leaked, leaked_n, al.faithful, al.ambiguous,
                chatter, refused, n_invented, n_kept, ",".join(al.issues), lead, leaked_raw,
                n_tags, len_pred_hit, len_gold_hit, kept, total, gold_amb, char_gold, char_pred,
                char_tp, source, text, reference,
            )
        )  # fmt: skip

    frame = rows_frame(records, langs)
    totals = {c: int(frame[c].sum()) for c in frame.columns if c not in TEXT_COLUMNS}

    def rate(key: str, denom: str | int) -> float:
        d = totals[denom] if isinstance(denom, str) else denom
        return totals[key] / d if d else 0.0

    def share(column: str) -> float:
        return float((frame[column] > 0).mean())

    return EvaluationReport(
        n_rows=n,
        exact_match=rate("exact", n),
        strict=SpanScores.from_counts(
            totals["strict_tp"], totals["n_pred"], totals["strict_tp"], totals["n_gold"]
        ),
        lenient=SpanScores.from_counts(
            totals["len_pred_hit"], totals["n_pred"], totals["len_gold_hit"], totals["n_gold"]
        ),
        char=SpanScores.from_counts(
            totals["char_tp"], totals["char_pred"], totals["char_tp"], totals["char_gold"]
        ),
        leak_rate=rate("leaked", "n_gold"),
        leak_rate_normalized=rate("leaked_normalized", "n_gold"),
        rows_with_leak_rate=share("leaked"),
        rows_with_leak_rate_normalized=share("leaked_normalized"),
        leak_rate_raw=rate("leaked_raw", "n_gold"),
        rows_with_leak_rate_raw=share("leaked_raw"),
        preservation_rate=rate("kept_chars", "nonpii_chars") if totals["nonpii_chars"] else 1.0,
        faithful_rate=rate("faithful", n),
        chatter_rate=rate("chatter", n),
        leading_chatter_rate=rate("leading_chatter", n),
        refusal_rate=rate("refused", n),
        invented_label_rate=share("invented_labels"),
        invented_placeholder_share=rate("invented_labels", "n_tags"),
        kept_value_rate=share("kept_values"),
        ambiguous_alignments=totals["ambiguous"],
        gold_ambiguous_alignments=totals["gold_ambiguous"],
        n_gold_spans=totals["n_gold"],
        n_pred_spans=totals["n_pred"],
        per_label=per_label(
            Counter(gold_labels_all),
            Counter(pred_labels_all),
            Counter(tp_labels),
            Counter(lenient_labels),
            Counter(leak_labels),
        ),
        _rows=frame,
        safety_net_caught=n_caught if nets_in is not None else None,
        model=model,
        _spans=functools.partial(_row_spans, srcs, frame["prediction"].tolist(), refs, golds_in),
    )


def _same_unindexed(text: str, reference: str, source: str) -> bool:
    """``text`` equals ``reference`` once the ``_N`` indices of their placeholders are
    dropped (``[FIRSTNAME_1]`` from ``mask --operator numbered`` or a legacy reference)."""
    return without_indices(text.strip(), source) == without_indices(reference.strip(), source)


def _unrevealed(source: str, al: RawAlignment, values: Sequence[str]) -> RawAlignment:
    """``al`` without the spans of placeholders that spell out a gold value ("[WF75HYD]")."""
    if set(map(str.upper, values)).isdisjoint(al.labels):
        return al
    return without_revealing(source, al)


def _row_spans(
    sources: Sequence[str],
    texts: Sequence[str],
    refs: Sequence[str] | None,
    golds: Sequence[Any] | None,
) -> tuple[RowSpans, ...]:
    """Every row's gold and predicted spans, derived again as :func:`evaluate` derived them.

    The report asks for them only for the IOB2 and nervaluate views, so ``evaluate`` keeps
    the inputs instead of thousands of per-row lists (holding those costs more garbage
    collector time than the whole span arithmetic).
    """
    out: list[RowSpans] = []
    for i, (source, text) in enumerate(zip(sources, texts, strict=True)):
        if golds is not None:
            g_starts, g_ends, g_labels, values = gold_row(golds[i], source, i)
        else:
            assert refs is not None
            g_al = _align(source, refs[i])
            g_starts, g_ends, g_labels = list(g_al.starts), list(g_al.ends), list(g_al.labels)
            values = [source[a:b] for a, b in zip(g_starts, g_ends, strict=True)]
        al = _align(source, text)
        if not ALL_LABELS.issuperset(al.labels):
            al = _unrevealed(source, al, values)
        out.append((g_starts, g_ends, g_labels, al.starts, al.ends, al.labels))
    return tuple(out)
