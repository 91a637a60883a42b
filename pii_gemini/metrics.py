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

import ast
import json
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import compress, pairwise
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from ._align import Alignment, RawAlignment
from ._align import align as _align_public
from ._align import align_raw as _align
from ._exceptions import ConfigError, DatasetError
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
from ._report import EvaluationReport, SpanScores
from ._types import MaskResult, Span
from .labels import ALL_LABELS, PLACEHOLDER_RE

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

_SEPARATORS = " \t\n\r\f\v-–.,()/_'’\u00a0\u202f"
_DROP_SEPARATORS = str.maketrans("", "", _SEPARATORS)
# the same for ASCII text, as bytes: one C pass that also lower-cases (casefold on ASCII)
_ASCII_SEPARATORS = "".join(ch for ch in _SEPARATORS if ch.isascii()).encode("ascii")
_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_INDEX_RE = re.compile(r"_\d+$")
_LABEL_LIKE_RE = re.compile(r"[A-Z0-9_\[\]]+")
_BY_START_END = itemgetter(0, 1)


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


# a row's gold spans as parallel lists (starts, ends, labels, values), sorted by (start, end):
# evaluate reads them thousands of times per second, so they are not built into Span objects
_Gold = tuple[list[int], list[int], list[str], list[str]]


def _gold_row(value: Any, source: str, row: int) -> _Gold:
    """Gold spans from a privacy_mask entry: list of dicts/Spans, or its JSON/repr string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                # from None: the parser's message would quote the (PII) text
                raise DatasetError("gold_spans entry is not a list", row=row) from None
    if value is None:
        return [], [], [], []
    n_chars = len(source)
    starts: list[int] = []
    ends: list[int] = []
    labels: list[str] = []
    prev_end = 0
    try:  # the common case: dicts with int offsets and str labels, sorted, in the text
        if not isinstance(value, (list, tuple, np.ndarray)):
            raise _Unusual  # maybe a one-shot iterable: read it once, item by item
        for item in value:
            start, end, label = item["start"], item["end"], item["label"]
            if (
                type(start) is not int
                or type(end) is not int
                or type(label) is not str
                or not prev_end <= start < end <= n_chars
            ):
                raise _Unusual
            starts.append(start)
            ends.append(end)
            labels.append(label)
            prev_end = end
    except (_Unusual, KeyError, TypeError, IndexError):
        starts, ends, labels = _gold_checked(value, n_chars, row)
    if "_" in "".join(labels):  # "FIRSTNAME_1" -> "FIRSTNAME"
        labels = [_INDEX_RE.sub("", label) for label in labels]
    return starts, ends, labels, [source[a:b] for a, b in zip(starts, ends, strict=True)]


class _Unusual(Exception):
    """A gold entry off the common shape: parsed again item by item, with checks."""


def _gold_checked(
    value: Iterable[Any], n_chars: int, row: int
) -> tuple[list[int], list[int], list[str]]:
    """Gold offsets and labels item by item (Spans, mappings, numpy integers), each checked,
    sorted by (start, end)."""
    try:
        items = list(value)
    except TypeError:
        raise DatasetError("gold_spans entry is not a list", row=row) from None
    bounds: list[tuple[int, int, str]] = []
    for k, item in enumerate(items):
        start, end, label = _span_item(item, f"gold_spans[{row}][{k}]", row)
        if not 0 <= start < end <= n_chars:
            raise DatasetError(
                f"gold_spans[{row}][{k}] offsets {start}..{end} are outside the text", row=row
            )
        bounds.append((start, end, label))
    bounds.sort(key=_BY_START_END)
    if any(b[0] < a[1] for a, b in pairwise(bounds)):
        raise DatasetError(f"gold_spans[{row}] has overlapping spans", row=row)
    return [b[0] for b in bounds], [b[1] for b in bounds], [b[2] for b in bounds]


def _span_item(item: Any, where: str, row: int) -> tuple[int, int, str]:
    """(start, end, label) of a Span or a ``{start, end, label}`` mapping; ``where`` names it."""
    if isinstance(item, Span):
        return item.start, item.end, item.label
    if not isinstance(item, Mapping):
        raise DatasetError(f"{where} is not a dict or Span", row=row)
    try:
        return int(item["start"]), int(item["end"]), str(item["label"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{where} needs integer start/end and a label", row=row) from exc


def _render(source: str, starts: Sequence[int], ends: Sequence[int], labels: Sequence[str]) -> str:
    """The ideal masked text: each gold span replaced by ``[LABEL]`` (sorted, no overlap)."""
    out: list[str] = []
    last = 0
    for start, end, label in zip(starts, ends, labels, strict=True):
        out.append(source[last:start])
        out.append(f"[{label}]")
        last = end
    out.append(source[last:])
    return "".join(out)


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
    per-cell inference in ``from_records``, same dtypes); text columns are left to pandas.
    """
    columns: dict[str, Any] = {}
    for name, values in zip(_ROW_COLUMNS, zip(*records, strict=True), strict=True):
        if name in _TEXT_COLUMNS:
            columns[name] = list(values)
        else:
            array = np.asarray(values)
            columns[name] = array.astype(np.int64, copy=False) if array.dtype.kind == "i" else array
    frame: pd.DataFrame = pd.DataFrame(columns)
    return frame


def _norm(text: str) -> str:
    """Case-folded ``text`` without whitespace and digit/name separators."""
    if text.isascii():  # most texts: ~7x faster than str.translate, same result
        return text.encode("ascii").translate(_ASCII_LOWER, _ASCII_SEPARATORS).decode("ascii")
    return text.translate(_DROP_SEPARATORS).casefold()


def _blank(text: str) -> str:
    """``text`` with each placeholder replaced by a NUL (so no value can match across it)."""
    return PLACEHOLDER_RE.sub("\x00", text) if "[" in text else text


def _norm_all(values: Sequence[str]) -> list[str]:
    """``_norm`` of each value, in one call (case folding works char by char)."""
    joined = _norm("\x00".join(values)).split("\x00")
    if len(joined) == len(values):
        return joined
    return [_norm(v) for v in values]  # a value held a NUL


def _value_groups(values: Sequence[str]) -> dict[str, list[int]]:
    """Indices of the gold spans per distinct (non-blank) value, in order of appearance."""
    groups: dict[str, list[int]] = {}
    for k, value in enumerate(values):
        if value.strip():
            groups.setdefault(value, []).append(k)
    return groups


def _leak_flags(
    groups: Mapping[str, Sequence[int]],
    n_gold: int,
    output: str,
    reference: str,
    *,
    normalised: bool = True,
    output_blanked: str | None = None,
) -> tuple[list[bool], list[bool]]:
    """Per gold span: is its value still in the output (verbatim, and after normalising)?

    ``groups`` comes from :func:`_value_groups` (computed once per row). A value leaks when
    it occurs in the output more often than in the ideal masked text (so a value that is
    also legitimately non-PII elsewhere is not counted); with a repeated value, that many of
    its spans count as leaked. The reference is only searched (and only normalised) for
    values the output contains. ``output_blanked`` is ``_blank(output)`` when the caller
    has it already.
    """
    verbatim = [False] * n_gold
    norm = [False] * n_gold
    if not groups:
        return verbatim, norm
    blank = False  # from the first label-like value on, count outside placeholders only
    out_b = output_blanked  # output / reference with placeholders blanked, on first need
    ref_b: str | None = None
    out_n: str | None = None  # normalised output / reference, on first need
    ref_n: str | None = None
    norm_values: list[str] | None = None
    for j, (value, idxs) in enumerate(groups.items()):
        n_spans = len(idxs)
        if not blank and _LABEL_LIKE_RE.fullmatch(value):
            blank = True  # a value like "IP" could match inside "[IPV4]"
        found = output.count(value)
        in_ref = reference
        if blank and (found or "\x00" in value):  # (blanking removes matches, adds none)
            if out_b is None:
                out_b = _blank(output)
            if ref_b is None:
                ref_b = _blank(reference)
            found, in_ref = out_b.count(value), ref_b
        v = 0
        if found:
            v = min(max(found - in_ref.count(value), 0), n_spans)
            for k in idxs[:v]:
                verbatim[k] = True
        if not normalised:
            continue
        nv_count = v
        if v < n_spans:
            if norm_values is None:
                norm_values = _norm_all(list(groups))
            nv = norm_values[j]
            if nv:
                if out_n is None:  # placeholders out first: "[FIRSTNAME]" must not match "name"
                    out_n = _norm(_blank(output) if out_b is None else out_b)
                found_n = out_n.count(nv)
                if found_n:
                    if ref_n is None:
                        ref_n = _norm(_blank(reference) if ref_b is None else ref_b)
                    nv_count = max(nv_count, min(max(found_n - ref_n.count(nv), 0), n_spans))
        for k in idxs[:nv_count]:
            norm[k] = True
    return verbatim, norm


def _strict_matches(gold: _Gold, pred: RawAlignment, matched: list[str]) -> int:
    """Predicted spans with the boundaries and label of a gold span.

    Appends the label of each match to ``matched``. (Neither side can hold the same span
    twice: gold spans may not overlap and aligned spans never do, so a set intersection is
    the multiset match.)
    """
    common = set(zip(gold[0], gold[1], gold[2], strict=True)).intersection(
        zip(pred.starts, pred.ends, pred.labels, strict=True)
    )
    matched.extend([key[2] for key in common])
    return len(common)


def _overlaps(
    a_starts: Sequence[int], a_ends: Sequence[int], b_starts: Sequence[int], b_ends: Sequence[int]
) -> list[bool]:
    """For each span of ``a``: does it overlap a span of ``b``? (both sorted by start)"""
    nb = len(b_starts)
    if not nb:
        return [False] * len(a_starts)
    out: list[bool] = []
    j = 0
    for start, end in zip(a_starts, a_ends, strict=True):
        while j < nb and b_ends[j] <= start:
            j += 1
        k = j
        hit = False
        while k < nb and b_starts[k] < end:
            if b_ends[k] > start:
                hit = True
                break
            k += 1
        out.append(hit)
    return out


def _preserved(n: int, gold: _Gold, pred: RawAlignment) -> tuple[int, int]:
    """(kept, total) non-PII characters: outside gold, not masked and not rewritten.

    ``total`` is what the gold spans leave (they never overlap); ``kept`` is what the union
    of gold spans, predicted spans and the alignment's rewritten regions (``changes``,
    ``(source_start, source_end, ...)``) leaves.
    """
    g_starts, g_ends = gold[0], gold[1]
    total = n - sum(g_ends) + sum(g_starts)
    p_starts, p_ends, changes = pred.starts, pred.ends, pred.changes
    if not changes and p_starts == g_starts and p_ends == g_ends:
        return total, total
    covered = start = end = 0
    for a, b in sorted(
        [
            *zip(g_starts, g_ends, strict=True),
            *zip(p_starts, p_ends, strict=True),
            *[(c[0], c[1]) for c in changes if c[1] > c[0]],
        ]
    ):
        if a >= end:  # a new run of covered characters
            covered += end - start
            start, end = a, b
        elif b > end:
            end = b
    covered += end - start
    return n - covered, total


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
    caught = 0
    for i in range(n):
        source, raw = srcs[i], preds[i]
        if golds_in is not None:
            gold = _gold_row(golds_in[i], source, i)
            gold_amb = False
            reference = refs[i] if refs is not None else _render(source, *gold[:3])
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
            caught += _caught(gold, al, _net_row(nets_in[i], source, i))
        gold_labels = gold[2]
        n_gold, n_pred = len(gold_labels), len(al.labels)
        gold_labels_all.extend(gold_labels)
        pred_labels_all.extend(al.labels)
        # strict: same boundaries and label (multiset)
        if exact:
            strict_tp = n_gold
            tp_labels.extend(gold_labels)
        else:
            strict_tp = _strict_matches(gold, al, tp_labels)
        gold_hits = _overlaps(gold[0], gold[1], al.starts, al.ends)
        len_gold_hit = sum(gold_hits)
        len_pred_hit = sum(_overlaps(al.starts, al.ends, gold[0], gold[1]))
        lenient_labels.extend(compress(gold_labels, gold_hits))
        groups = _value_groups(gold[3]) if not exact or raw != text else {}
        if exact:
            leaked = leaked_n = 0
        else:
            # the aligner cut the text at every placeholder (when no bracket in the source
            # stopped one counting): joined by NULs, its literals are the blanked text
            blanked = ("\x00".join(al.literals) if al.literals else text) if no_bracket else None
            flags_v, flags_n = _leak_flags(groups, n_gold, text, reference, output_blanked=blanked)
            leaked, leaked_n = sum(flags_v), sum(flags_n)
            if leaked_n:
                leak_labels.extend(compress(gold_labels, flags_n))
        if raw != text:
            flags_raw = _leak_flags(groups, n_gold, raw, reference, normalised=False)[0]
            leaked_raw = sum(flags_raw)
        else:
            leaked_raw = leaked
        kept, total = _preserved(len(source), gold, al)
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
        safety_net_caught=caught if nets_in is not None else None,
    )


def _net_row(value: Any, source: str, row: int) -> tuple[list[int], list[int]]:
    """One row of ``safety_net_spans`` (Spans or ``{start, end, label}`` dicts): sorted
    starts and ends."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise DatasetError("safety_net_spans entry is not a JSON list", row=row) from None
    if value is None:
        return [], []
    bounds: list[tuple[int, int]] = []
    for k, item in enumerate(value):
        start, end, _ = _span_item(item, f"safety_net_spans[{row}][{k}]", row)
        if not 0 <= start <= end <= len(source):
            raise DatasetError(
                f"safety_net_spans[{row}][{k}] offsets {start}..{end} are outside the text",
                row=row,
            )
        bounds.append((start, end))
    bounds.sort()
    return [b[0] for b in bounds], [b[1] for b in bounds]


def _caught(gold: _Gold, pred: RawAlignment, net: tuple[list[int], list[int]]) -> int:
    """Gold spans that a safety-net span overlaps and no model span does.

    Model spans are the predicted spans that overlap no safety-net span (the safety net only
    adds spans where the model had none, so those others are its own).
    """
    net_starts, net_ends = net
    if not net_starts or not gold[0]:
        return 0
    own = [not hit for hit in _overlaps(pred.starts, pred.ends, net_starts, net_ends)]
    model_starts = list(compress(pred.starts, own))
    model_ends = list(compress(pred.ends, own))
    by_net = _overlaps(gold[0], gold[1], net_starts, net_ends)
    by_model = _overlaps(gold[0], gold[1], model_starts, model_ends)
    return sum(n and not m for n, m in zip(by_net, by_model, strict=True))


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
