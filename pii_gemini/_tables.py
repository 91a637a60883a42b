"""The tables of an evaluation: the per-row frame, per label and per language.

Built once per :func:`pii_gemini.metrics.evaluate` call from its per-row records (the loop
over rows stays in ``metrics``); pandas work only, nothing per span.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "RECORD_COLUMNS",
    "ROW_COLUMNS",
    "TEXT_COLUMNS",
    "f_beta",
    "per_label",
    "per_language",
    "rows_frame",
]

RECORD_COLUMNS = (
    "row", "exact", "n_gold", "n_pred", "strict_tp", "leaked", "leaked_normalized", "faithful",
    "ambiguous", "chatter", "refused", "invented_labels", "kept_values", "issues",
    "leading_chatter", "leaked_raw", "n_tags", "len_pred_hit", "len_gold_hit", "kept_chars",
    "nonpii_chars", "gold_ambiguous", "char_gold", "char_pred", "char_tp", "source",
    "prediction", "reference",
)  # fmt: skip
"""The fields of ``evaluate``'s per-row records, in order."""

ROW_COLUMNS = (
    "row", "exact", "n_gold", "n_pred", "strict_tp", "strict_recall", "strict_precision",
    "lenient_recall", "leaked", "leaked_normalized", "preserved_rate", "faithful", "ambiguous",
    "chatter", "refused", "invented_labels", "kept_values", "issues", "leading_chatter",
    "leaked_raw", "n_tags", "len_pred_hit", "len_gold_hit", "kept_chars", "nonpii_chars",
    "gold_ambiguous", "char_gold", "char_pred", "char_tp", "language", "source", "prediction",
    "reference",
)  # fmt: skip
"""The columns of the per-row frame (the records plus per-row rates and the language)."""

TEXT_COLUMNS = frozenset({"source", "prediction", "reference", "issues", "language"})
"""Per-row columns that hold text (the first three may hold PII)."""

_NAN = float("nan")


def f_beta(p: float, r: float, beta: float) -> float:
    """The F-beta score of precision ``p`` and recall ``r`` (0.0 when both are 0)."""
    b2 = beta * beta
    denom = b2 * p + r
    return (1 + b2) * p * r / denom if denom > 0 else 0.0


def _row_ratio(num: npt.NDArray[Any], den: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """``num / den`` per row, 1.0 where ``den`` is 0 (nothing to find is found)."""
    out = np.ones(len(num), dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def rows_frame(records: Sequence[tuple[Any, ...]], languages: Sequence[str] | None) -> pd.DataFrame:
    """The per-row frame from ``evaluate``'s records, one column at a time.

    Numeric and boolean columns go through numpy in one step (much cheaper than pandas'
    per-cell inference in ``from_records``, same dtypes), and so do the per-row rates; text
    columns stay Python objects (pandas' str dtype cannot hold a lone surrogate, such as a
    cut emoji). ``language`` is the given code per row ("unknown" when missing), or "".
    """
    columns: dict[str, Any] = {}
    for name, values in zip(RECORD_COLUMNS, zip(*records, strict=True), strict=True):
        if name in TEXT_COLUMNS:
            columns[name] = pd.Series(values, dtype=object)
        else:
            array = np.asarray(values)
            columns[name] = array.astype(np.int64, copy=False) if array.dtype.kind == "i" else array
    columns["strict_recall"] = _row_ratio(columns["strict_tp"], columns["n_gold"])
    columns["strict_precision"] = _row_ratio(columns["strict_tp"], columns["n_pred"])
    columns["lenient_recall"] = _row_ratio(columns["len_gold_hit"], columns["n_gold"])
    columns["preserved_rate"] = _row_ratio(columns["kept_chars"], columns["nonpii_chars"])
    if languages is None:
        columns["language"] = pd.Series([""] * len(records), dtype=object)
    else:
        columns["language"] = pd.Series([c or "unknown" for c in languages], dtype=object)
    frame: pd.DataFrame = pd.DataFrame({name: columns[name] for name in ROW_COLUMNS})
    return frame


def per_label(
    gold: Counter[str],
    pred: Counter[str],
    tp: Counter[str],
    lenient: Counter[str],
    leaked: Counter[str],
) -> pd.DataFrame:
    """One row per label that is in the gold or the predictions.

    A rate with nothing to divide by is undefined (NaN), never a perfect score: precision of
    a label never predicted, recall of a label only predicted. F1/F2 of a label never
    predicted are 0.0 (its recall is 0, whatever the precision).
    """
    labels = sorted(set(gold) | set(pred))
    support = np.array([gold[lab] for lab in labels], dtype=np.int64)
    n_pred = np.array([pred[lab] for lab in labels], dtype=np.int64)
    hits = np.array([tp[lab] for lab in labels], dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0: NaN, as documented
        p = np.where(n_pred > 0, hits / n_pred, np.nan)
        r = np.where(support > 0, hits / support, np.nan)
        f = {
            beta: np.where(
                support == 0,
                np.nan,
                np.where(n_pred == 0, 0.0, (1 + beta**2) * p * r / (beta**2 * p + r)),
            )
            for beta in (1.0, 2.0)
        }
        f = {beta: np.where(np.isnan(v) & (support > 0), 0.0, v) for beta, v in f.items()}
        lenient_recall = np.array([lenient[lab] for lab in labels]) / support
        leak = np.array([leaked[lab] for lab in labels]) / support
    out: pd.DataFrame = pd.DataFrame(
        {
            "label": pd.Series(labels, dtype=object),
            "support": support,
            "n_pred": n_pred,
            "strict_tp": hits,
            "strict_precision": p,
            "strict_recall": r,
            "strict_f1": f[1.0],
            "strict_f2": f[2.0],
            "lenient_recall": np.where(support > 0, lenient_recall, np.nan),
            "leak_rate_normalized": np.where(support > 0, leak, np.nan),
        }
    )
    return out


def _ratio(num: float, den: float, empty: float) -> float:
    return num / den if den else empty


def per_language(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per language of the per-row frame: the headline scores of its rows.

    Strict and character scores follow :class:`~pii_gemini.metrics.SpanScores` (nothing
    predicted: precision 1.0; nothing to find: recall 1.0); leak rates are per gold value.
    """
    groups: dict[str, list[int]] = {}
    for position, language in enumerate(frame["language"].tolist()):
        groups.setdefault(language, []).append(position)  # (no groupby: pandas would turn
    records = []  # the codes into its str dtype, which a lone surrogate breaks)
    for language in sorted(groups):
        rows = frame.iloc[groups[language]]
        t = rows.sum(numeric_only=True)
        sp = _ratio(t["strict_tp"], t["n_pred"], 1.0)
        sr = _ratio(t["strict_tp"], t["n_gold"], 1.0)
        cp = _ratio(t["char_tp"], t["char_pred"], 1.0)
        cr = _ratio(t["char_tp"], t["char_gold"], 1.0)
        records.append(
            {
                "language": str(language),
                "n_rows": len(rows),
                "n_gold": int(t["n_gold"]),
                "exact_match": float(rows["exact"].mean()),
                "strict_precision": sp,
                "strict_recall": sr,
                "strict_f1": f_beta(sp, sr, 1.0),
                "lenient_recall": _ratio(t["len_gold_hit"], t["n_gold"], 1.0),
                "char_f1": f_beta(cp, cr, 1.0),
                "leak_rate": _ratio(t["leaked"], t["n_gold"], 0.0),
                "leak_rate_raw": _ratio(t["leaked_raw"], t["n_gold"], 0.0),
                "rows_with_leak_rate": float((rows["leaked"] > 0).mean()),
                "preservation_rate": _ratio(t["kept_chars"], t["nonpii_chars"], 1.0),
            }
        )
    columns = [
        "language", "n_rows", "n_gold", "exact_match", "strict_precision", "strict_recall",
        "strict_f1", "lenient_recall", "char_f1", "leak_rate", "leak_rate_raw",
        "rows_with_leak_rate", "preservation_rate",
    ]  # fmt: skip
    data: dict[str, Any] = {name: [r[name] for r in records] for name in columns}
    data["language"] = pd.Series(data["language"], dtype=object)  # (pandas' str dtype cannot
    out: pd.DataFrame = pd.DataFrame(data, columns=columns)  # hold a lone surrogate)
    return out
