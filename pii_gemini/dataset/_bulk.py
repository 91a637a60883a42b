"""Arrow record batches -> normalised Arrow tables, checked column-wise; and the DataFrame.

The rules of the row-by-row path (``_normalise``), in bulk: language filter, ids, limit,
``errors="skip"``, and the span checks of ``_bulk_spans``. A row that fails any bulk check is
not rejected here: it goes through the careful path (``check_row``), which accepts every
form the datasets use or raises the same RowError, so results, errors and skip counts are
those of the row-by-row path (``tests/dataset/test_bulk.py`` compares the two).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import DatasetError
from ._arrow import SPAN_TYPE
from ._bulk_spans import Bools, current_spans, legacy_spans, nulls, plain
from ._normalise import check_row, row_error, skip_reason
from ._schemas import SCHEMAS, normalize_language
from ._spanarray import span_series
from ._spans import RowError

__all__ = ["NORMALISED_ARROW", "BulkNormaliser", "to_frame"]

NORMALISED_ARROW = pa.schema(
    [
        ("id", pa.string()),
        ("source_text", pa.string()),
        ("target_text", pa.string()),
        ("privacy_mask", pa.list_(SPAN_TYPE)),
        ("language", pa.string()),
    ]
)
"""The normalised columns as Arrow types (what :meth:`BulkNormaliser.table` yields)."""


@dataclass
class BulkNormaliser:
    """Normalises batches of one file in order; keeps the counts across batches."""

    schema: str
    languages: frozenset[str] | None
    limit: int | None
    errors: str
    rows_seen: int = 0
    kept: int = 0
    skipped: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # skipped rows by reason

    @property
    def full(self) -> bool:
        """True once ``limit`` good rows are kept: stop reading."""
        return self.limit is not None and self.kept >= self.limit

    def tables(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.Table]:
        """The normalised table of each batch (rows filtered, checked, limited)."""
        for batch in batches:
            if self.full:
                return
            yield self.table(batch)

    def table(self, batch: pa.RecordBatch) -> pa.Table:
        """One batch normalised; raises DatasetError for a malformed row (errors="raise")."""
        batch = _plain_strings(batch)
        first, n = self.rows_seen, batch.num_rows
        self.rows_seen += n
        src_col, tgt_col, mask_col = SCHEMAS[self.schema]
        names = batch.schema.names
        source, target = _text(batch, src_col), _text(batch, tgt_col)
        language, bad_lang = _languages(batch) if "language" in names else (None, None)
        if self.languages is not None and language is None:
            raise DatasetError(
                "cannot filter by language: the data has no 'language' column", column="language"
            )
        ids, id_col = _ids(batch, first)
        wanted: Bools = np.ones(n, dtype=bool)
        if self.languages is not None and language is not None:
            member = pc.is_in(language, pa.array(sorted(self.languages))).fill_null(False)
            wanted = np.asarray(member, dtype=bool)
            wanted = wanted | (bad_lang if bad_lang is not None else False)
        if self.schema == "legacy":
            ok, spans = legacy_spans(batch, source, mask_col)
        else:
            ok, spans = current_spans(batch.column(mask_col), source)
        ok &= ~nulls(target) & ~nulls(source)
        if id_col is not None:
            ok &= ~nulls(ids)  # a row without its id is malformed (the careful path says so)
        if bad_lang is not None:
            ok &= ~bad_lang
        keep, careful = self._walk(batch, first, np.flatnonzero(wanted), ok)
        lang = language if language is not None else pa.nulls(n, pa.string())
        columns = [ids, _as_string(source), _as_string(target), spans, lang]
        if len(keep) < n:  # keep is ascending and unique: all n rows need no take
            picked = pa.array(keep, pa.int64())
            columns = [c.take(picked) for c in columns]
        if careful:
            columns[3] = _with_careful(spans, keep, careful)
        return pa.Table.from_arrays(columns, schema=NORMALISED_ARROW)

    def _walk(
        self, batch: pa.RecordBatch, first: int, rows: np.ndarray[Any, Any], ok: Bools
    ) -> tuple[list[int], dict[int, list[dict[str, Any]]]]:
        """Rows kept in order (up to the limit) and the careful path's spans per row."""
        budget = len(rows) if self.limit is None else max(0, self.limit - self.kept)
        if ok[rows[:budget]].all():  # the common case: every wanted row passed in bulk
            keep = rows[:budget].tolist()
            self.kept += len(keep)
            return keep, {}
        src_col, tgt_col, mask_col = SCHEMAS[self.schema]
        columns = {c: batch.column(c) for c in (src_col, tgt_col, mask_col, "span_labels",
                                               "language", "id", "uid")
                   if c in batch.schema.names}  # fmt: skip
        keep, careful = [], {}
        for row in rows.tolist():
            if len(keep) >= budget:
                break
            if ok[row]:
                keep.append(row)
                continue
            values = {c: col[row].as_py() for c, col in columns.items()}
            try:
                careful[row] = _careful(self.schema, values)
            except RowError as exc:
                if self.errors == "raise":
                    raise row_error(first + row, exc) from None
                self.skipped += 1
                self.reasons[skip_reason(exc)] += 1
                continue
            keep.append(row)
        self.kept += len(keep)
        return keep, careful


def _careful(schema: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    src_col, tgt_col, mask_col = SCHEMAS[schema]
    id_col = next((c for c in ("id", "uid") if c in values), None)
    if id_col is not None and values[id_col] is None:
        raise RowError(id_col, f"{id_col} is missing")
    language = values.get("language")
    if language is not None and not isinstance(language, str):
        raise RowError("language", "language is not a string")
    if not isinstance(values.get(tgt_col), str):
        raise RowError(tgt_col, f"{tgt_col} is not a string")
    mask = values.get(mask_col)
    if isinstance(mask, list):  # Arrow fills a span's missing keys with null: drop them
        mask = [{k: v for k, v in s.items() if v is not None} if isinstance(s, dict) else s
                for s in mask]  # fmt: skip
    return check_row(
        schema, values.get(src_col), values.get(tgt_col), mask, values.get("span_labels")
    )


def _with_careful(
    spans: pa.ListArray, keep: list[int], careful: dict[int, list[dict[str, Any]]]
) -> pa.Array:
    """The kept rows' spans: bulk-checked ones from ``spans``, the others from ``careful``."""
    bulk = [i for i, row in enumerate(keep) if row not in careful]
    slow = [i for i, row in enumerate(keep) if row in careful]
    parts = pa.concat_arrays(
        [
            spans.take(pa.array([keep[i] for i in bulk], pa.int64())),
            pa.array([careful[keep[i]] for i in slow], pa.list_(SPAN_TYPE)),
        ]
    )
    order = np.empty(len(keep), dtype=np.int64)
    order[np.array(bulk + slow, dtype=np.int64)] = np.arange(len(keep))
    return parts.take(pa.array(order))


# -- columns ---------------------------------------------------------------------------------


def _plain_strings(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Large and view strings (pandas 3 writes large_string) as plain Arrow strings."""
    arrays = [plain(c) for c in batch.columns]
    if all(a is c for a, c in zip(arrays, batch.columns, strict=True)):
        return batch
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _text(batch: pa.RecordBatch, column: str) -> pa.Array:
    """A text column as strings; any other type as all-null (every row goes the careful
    path, which reports the column)."""
    array = batch.column(column)
    if pa.types.is_string(array.type):
        return array
    return pa.nulls(len(array), pa.string())


def _as_string(array: pa.Array) -> pa.Array:
    return array if array.type == pa.string() else array.cast(pa.string())


def _ids(batch: pa.RecordBatch, first: int) -> tuple[pa.Array, str | None]:
    """Row ids as strings and the column they come from: the id/uid column, else the row
    number in the file (column None). A missing id stays null: that row is malformed."""
    for column in ("id", "uid"):
        if column in batch.schema.names:
            ids = batch.column(column)
            kind = ids.type
            if (
                pa.types.is_integer(kind)
                or pa.types.is_string(kind)
                or pa.types.is_large_string(kind)
            ):
                return ids.cast(pa.string()), column
            texts = [None if v is None else str(v) for v in ids.to_pylist()]  # as pandas does
            return pa.array(texts, pa.string()), column
    return pa.array(np.arange(first, first + batch.num_rows).astype(str), pa.string()), None


def _languages(batch: pa.RecordBatch) -> tuple[pa.Array, Bools | None]:
    """Normalised language codes (once per distinct value) and the rows whose cell is a
    list or a mapping (malformed, as on the row-by-row path)."""
    column = batch.column("language")
    kind = column.type
    if pa.types.is_nested(kind):
        return pa.nulls(len(column), pa.string()), ~nulls(column)
    encoded = column.dictionary_encode()  # strings; numbers read as the row path reads them
    codes = [normalize_language(v) for v in encoded.dictionary.to_pylist()]
    mapped = pa.array(codes, pa.string()).take(encoded.indices)
    return mapped, None


# -- to pandas -------------------------------------------------------------------------------


def to_frame(tables: list[pa.Table], normaliser: BulkNormaliser) -> pd.DataFrame:
    """The normalised DataFrame of the normalised tables (``privacy_mask`` stays in Arrow:
    ``_spanarray``)."""
    table = pa.concat_tables(tables) if tables else NORMALISED_ARROW.empty_table()
    frame: pd.DataFrame = pd.DataFrame(
        {
            "id": _strings(table.column("id")),
            "source_text": _strings(table.column("source_text")),
            "target_text": _strings(table.column("target_text")),
            "privacy_mask": span_series(table.column("privacy_mask")),
            "language": pd.Series(table.column("language").to_pylist(), dtype=object),
        }
    )
    frame.attrs["schema"] = normaliser.schema
    frame.attrs["skipped_rows"] = normaliser.skipped
    frame.attrs["skipped_reasons"] = dict(normaliser.reasons)
    return frame


def _strings(column: pa.ChunkedArray) -> pd.Series:
    series: pd.Series = column.to_pandas().astype(str)  # the row path's dtype, per pandas
    return series
