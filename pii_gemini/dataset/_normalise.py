"""A raw frame in any schema -> the normalised frame of ``docs/architecture.md``.

Rows are checked in chunks: the fast path first (a C-level ``map`` over contiguous rows), the
careful path for any row it declines. A malformed row raises DatasetError naming the row and
column, or with ``errors="skip"`` is counted and replaced by the next candidate, so that
``limit`` counts good rows.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import DatasetError
from ._schemas import SCHEMAS, detect_schema, normalize_language
from ._spanarray import span_series, spans_from_dicts
from ._spans import RowError, fast_current, fast_legacy, spans_current, spans_legacy

__all__ = ["check_row", "normalise_frame", "row_error", "skip_reason"]

logger = logging.getLogger("pii_gemini.dataset")  # the package's logger, as users configure it


def _languages_of(
    frame: pd.DataFrame,
) -> tuple[np.ndarray[Any, np.dtype[np.object_]], set[int], set[int]]:
    """Normalised language per row, the rows whose language cell is not a scalar, and those
    whose language holds a lone surrogate (``_surrogate_rows``).

    Factorised, so the mapping runs once per distinct value; a list or dict in a cell (which
    cannot be factorised) makes that row malformed instead of failing the whole load.
    """
    if "language" not in frame.columns:
        return np.full(len(frame), None, dtype=object), set(), set()
    column = frame["language"]
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # an unhashable cell: map value by value
        values = column.tolist()
        bad = {i for i, v in enumerate(values) if not _is_scalar(v)}
        out = np.array([None if i in bad else normalize_language(v) for i, v in enumerate(values)])
        return out.astype(object), bad, _surrogate_rows(values)
    table = np.array([normalize_language(u) for u in uniques] + [None], dtype=object)
    lone = np.flatnonzero(np.isin(codes, sorted(_surrogate_rows(list(uniques)))))
    return table[codes], set(), set(lone.tolist())  # code -1 (missing) picks the trailing None


def _is_scalar(value: object) -> bool:
    """A cell a language can be read from: no list, dict, array or other container."""
    try:
        hash(value)
    except TypeError:
        return False
    return not isinstance(value, (tuple, frozenset))


def _id_column(frame: pd.DataFrame) -> str | None:
    """The column the ids are read from (``id``, else ``uid``); None numbers the rows."""
    return next((c for c in ("id", "uid") if c in frame.columns), None)


def _ids_of(frame: pd.DataFrame, positions: np.ndarray[Any, Any] | None) -> pd.Series:
    """The ids of the kept rows (all rows when ``positions`` is None), as text."""
    column = _id_column(frame)
    if column is None:
        numbers = np.arange(len(frame)) if positions is None else positions
        numbered: pd.Series = pd.Series(numbers.astype(str))
        return numbered
    return _as_text(frame[column], positions)  # rows without an id are malformed: not kept


def _missing_ids(frame: pd.DataFrame) -> dict[int, tuple[str, str]]:
    """Rows whose id is missing (while others have one): row -> (column, reason)."""
    column = _id_column(frame)
    if column is None:
        return {}
    rows = np.flatnonzero(frame[column].isna().to_numpy()).tolist()
    return dict.fromkeys(rows, (column, f"{column} is missing"))


_SURROGATE = re.compile("[\\ud800-\\udfff]")
#: pandas before 3 keeps strings as Python objects (no Arrow conversion to refuse bad text)
_PANDAS_2 = int(pd.__version__.split(".", 1)[0]) < 3


def _surrogate_rows(values: Sequence[object]) -> set[int]:
    """Positions whose string holds a lone surrogate (half of a cut emoji, or a byte that was
    not UTF-8): no UTF-8 file or Arrow string can hold one."""
    return {i for i, v in enumerate(values) if type(v) is str and _SURROGATE.search(v)}


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building millions of small dicts (it rescans them all)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _bad_strings(series: pd.Series) -> set[int]:
    """Positions whose value is not a string (vectorised for string dtypes)."""
    if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        bad = series.isna().to_numpy()
    else:
        bad = np.fromiter((type(v) is not str for v in series.tolist()), bool, len(series))
    return set(np.flatnonzero(bad).tolist())


def _lone(column: str) -> str:
    return f"{column} holds a lone surrogate (not valid Unicode text)"


def check_row(
    schema: str, source: object, target: object, mask: object, span_labels: object
) -> list[dict[str, Any]]:
    """The careful path for one row of ``schema``: its checked spans, or RowError naming the
    column of that schema at fault (``target`` is only read for the legacy schema)."""
    if schema == "legacy":
        return spans_legacy(source, target, mask, span_labels)
    try:
        return spans_current(source, mask)
    except RowError as exc:
        if exc.column == "source_text":
            exc.column = SCHEMAS[schema][0]
        raise


def skip_reason(exc: RowError) -> str:
    """How a skipped row is counted in ``attrs["skipped_reasons"]``: by the column at fault
    (the detail, with its offsets, would make every row a group of its own)."""
    return f"malformed {exc.column!r}"


def row_error(row: int, exc: RowError) -> DatasetError:
    """The DatasetError for a malformed row: row number, column and a reason free of PII."""
    return DatasetError(
        f"row {row}: column {exc.column!r}: {exc.reason}", column=exc.column, row=row
    )


def normalise_frame(
    frame: pd.DataFrame,
    *,
    schema: str | None,
    languages: frozenset[str] | None,
    limit: int | None,
    errors: str,
) -> pd.DataFrame:
    """The normalised frame of ``frame``, every kept row's spans checked (arguments already are).

    Keeps the rows whose language is in ``languages`` (all when None), at most ``limit``
    good ones; a malformed row raises DatasetError, or is counted in
    ``attrs["skipped_rows"]`` (by reason in ``attrs["skipped_reasons"]``) and dropped with
    ``errors="skip"``. A lone surrogate in a text or id column makes its row malformed:
    Arrow's strings refuse it when the result is built, and only then are the cells looked
    for and the frame normalised again with those rows malformed (no cost when clean).
    """
    name = detect_schema([str(c) for c in frame.columns], schema)
    if _PANDAS_2:  # strings stay Python objects there: nothing refuses a lone surrogate
        return _normalise(frame, name, languages, limit, errors, _lone_rows(frame, name))
    try:
        return _normalise(frame, name, languages, limit, errors, {})
    except UnicodeEncodeError:
        lone = _lone_rows(frame, name)
        if not lone:
            raise
        return _normalise(frame, name, languages, limit, errors, lone)


def _lone_rows(frame: pd.DataFrame, name: str) -> dict[int, tuple[str, str]]:
    """Rows with a lone surrogate in a text or id column: row -> (column, reason)."""
    id_col = _id_column(frame)
    lone: dict[int, tuple[str, str]] = {}
    for column in (*SCHEMAS[name][:2], *([id_col] if id_col else [])):
        rows = _surrogate_rows(frame[column].tolist())
        lone.update(dict.fromkeys(rows, (column, _lone(column))))
    return lone


def _normalise(
    frame: pd.DataFrame,
    name: str,
    languages: frozenset[str] | None,
    limit: int | None,
    errors: str,
    lone: dict[int, tuple[str, str]],
) -> pd.DataFrame:
    """``normalise_frame`` for schema ``name``; ``lone`` are rows already known malformed."""
    src_col, tgt_col, mask_col = SCHEMAS[name]
    lang, bad_langs, surrogate_langs = _languages_of(frame)
    candidates: Sequence[int]
    if languages is not None and "language" not in frame.columns:
        raise DatasetError(
            "cannot filter by language: the data has no 'language' column", column="language"
        )
    if languages is not None:
        wanted_rows = pd.Series(lang, dtype=object).isin(languages).to_numpy().copy()
        # a malformed row is reported, not filtered out
        wanted_rows[sorted(bad_langs | surrogate_langs)] = True
        candidates = np.flatnonzero(wanted_rows).tolist()
    else:
        candidates = range(len(frame))
    wanted = len(candidates) if limit is None else min(limit, len(candidates))

    sources = frame[src_col].tolist()
    masks = frame[mask_col].tolist()
    # rows known to be malformed before their spans are read: row -> (column, reason)
    bad_rows = dict.fromkeys(_bad_strings(frame[tgt_col]), (tgt_col, f"{tgt_col} is not a string"))
    bad_rows.update(dict.fromkeys(bad_langs, ("language", "language is not a string")))
    bad_rows.update(_missing_ids(frame))
    bad_rows.update(lone)
    bad_rows.update(dict.fromkeys(surrogate_langs, ("language", _lone("language"))))
    legacy = name == "legacy"
    span_labels = (
        frame["span_labels"].tolist() if legacy and "span_labels" in frame.columns else None
    )

    def careful(row: int) -> list[dict[str, Any]]:
        """Full validation of one row; raises RowError naming the column."""
        if row in bad_rows:
            raise RowError(*bad_rows[row])
        raw_spans = span_labels[row] if span_labels is not None else None
        target = frame[tgt_col].iat[row]
        return check_row(name, sources[row], target, masks[row], raw_spans)

    def fast(rows: Sequence[int]) -> list[list[dict[str, Any]] | None]:
        """Fast-path spans per row (None: take the careful path); C-level map when contiguous."""
        contiguous = isinstance(rows, range) and rows.step == 1
        lo, hi = (rows.start, rows.stop) if isinstance(rows, range) else (0, 0)
        if not legacy:
            if contiguous:
                return list(map(fast_current, sources[lo:hi], masks[lo:hi]))
            return [fast_current(sources[r], masks[r]) for r in rows]
        sl = span_labels
        if sl is None:
            return [None] * len(rows)
        if contiguous:
            return list(map(fast_legacy, sources[lo:hi], masks[lo:hi], sl[lo:hi]))
        return [fast_legacy(sources[r], masks[r], sl[r]) for r in rows]

    good: list[int] = []
    out_masks: list[list[dict[str, Any]]] = []
    reasons: Counter[str] = Counter()
    done = 0
    with _gc_paused():
        # chunks: the first covers the limit; later ones only replace skipped rows
        while len(good) < wanted and done < len(candidates):
            chunk = candidates[done : done + wanted - len(good)]
            done += len(chunk)
            results = fast(chunk)
            if not bad_rows and None not in results:  # the common case: all rows canonical
                good.extend(chunk)
                out_masks.extend(results)  # type: ignore[arg-type]
                continue
            for row, spans in zip(chunk, results, strict=True):
                if spans is None or row in bad_rows:
                    try:
                        spans = careful(row)
                    except RowError as exc:
                        if errors == "raise":
                            raise row_error(row, exc) from None
                        reasons[skip_reason(exc)] += 1
                        continue
                good.append(row)
                out_masks.append(spans)

    positions = np.asarray(good, dtype=np.intp)
    every = len(good) == len(frame)  # nothing filtered or skipped: no take() copies needed
    result: pd.DataFrame = pd.DataFrame(
        {
            "id": _ids_of(frame, None if every else positions),
            "source_text": _as_text(frame[src_col], None if every else positions),
            "target_text": _as_text(frame[tgt_col], None if every else positions),
            "privacy_mask": span_series(spans_from_dicts(out_masks)),
            "language": pd.Series(lang if every else lang[positions], dtype=object),
        }
    )
    result.attrs["schema"] = name
    skipped = result.attrs["skipped_rows"] = sum(reasons.values())
    result.attrs["skipped_reasons"] = dict(reasons)
    if skipped:
        logger.warning("skipped %d malformed row(s) of %d", skipped, skipped + len(good))
    return result


def _as_text(series: pd.Series, positions: np.ndarray[Any, Any] | None) -> pd.Series:
    if positions is not None:
        series = series.take(positions)
    out: pd.Series = series.astype(str).reset_index(drop=True)
    return out
