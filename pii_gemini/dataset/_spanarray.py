"""The ``privacy_mask`` column of a loaded frame: spans kept in Arrow, read back as span dicts.

A 200k-row dataset holds about a million spans; building a Python dict for each when the
file is loaded cost more than reading the file. The column is therefore a pandas extension
array over one Arrow ``list<struct<value, start, end, label>>`` array (``pii_spans`` dtype):
row access (``iloc[i]``, ``tolist()``, iteration, ``itertuples``, ``to_numpy()``) still gives
each row as a list of ``{"value", "start", "end", "label"}`` dicts, built on demand a block of
rows at a time by pyarrow, and a frame saved with ``to_parquet`` reads back with this dtype.
The dicts are fresh on every access (changing one does not change the frame); to edit spans
cell by cell, take ``df.astype({"privacy_mask": object})`` first.
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.extensions import register_extension_dtype

from ._arrow import SPAN_TYPE

__all__ = ["SPAN_LIST", "SpanArray", "SpanDtype", "span_series", "spans_from_dicts"]

SPAN_LIST = pa.list_(SPAN_TYPE)
"""A row's spans as Arrow stores them."""

_BLOCK = 4096  # rows turned into dicts at a time while iterating


@register_extension_dtype
class SpanDtype(pd.ArrowDtype):
    """``pii_spans``: an Arrow list of value/start/end/label structs, one list a row."""

    def __init__(self, pyarrow_dtype: pa.DataType = SPAN_LIST) -> None:
        super().__init__(SPAN_LIST)

    @property
    def name(self) -> str:  # type: ignore[override]
        return "pii_spans"

    def __str__(self) -> str:
        return "pii_spans"

    def __repr__(self) -> str:
        return "pii_spans"

    @classmethod
    def construct_from_string(cls, string: str) -> SpanDtype:
        if string == "pii_spans":
            return cls()
        raise TypeError(f"Cannot construct a 'SpanDtype' from '{string}'")

    @classmethod
    def construct_array_type(cls) -> type[SpanArray]:  # type: ignore[override]
        return SpanArray

    def __from_arrow__(self, array: pa.Array | pa.ChunkedArray) -> SpanArray:
        """What ``pd.read_parquet`` makes of a saved ``pii_spans`` column."""
        return SpanArray(array if array.type == SPAN_LIST else array.cast(SPAN_LIST))


class SpanArray(pd.arrays.ArrowExtensionArray):
    """Arrow-backed spans whose elements read as lists of span dicts (see the module doc)."""

    def __init__(self, values: pa.Array | pa.ChunkedArray) -> None:
        super().__init__(values)
        self._dtype = SpanDtype()

    def __iter__(self) -> Iterator[Any]:
        """Rows as lists of span dicts, converted a block at a time with the cyclic GC paused
        (pandas' own iteration converts one Arrow scalar at a time, 5x slower; the GC would
        rescan every dict already made, 2x)."""
        for chunk in self._pa_array.iterchunks():  # type: ignore[attr-defined]
            for lo in range(0, len(chunk), _BLOCK):
                enabled = gc.isenabled()
                gc.disable()
                try:
                    rows = chunk.slice(lo, _BLOCK).to_pylist()
                finally:
                    if enabled:
                        gc.enable()
                yield from rows

    def _cmp_method(self, other: Any, op: Any) -> Any:
        """``==``/``!=`` compare rows as lists of span dicts (as on the object column before;
        Arrow cannot compare nested values); other comparisons as pandas does."""
        if op not in (operator.eq, operator.ne):
            return super()._cmp_method(other, op)  # type: ignore[misc]  # pragma: no cover
        rows = list(self)
        if isinstance(other, (pd.Series, pd.Index)):
            other = other.array
        if isinstance(other, (pd.api.extensions.ExtensionArray, np.ndarray, list, tuple)):
            if len(other) != len(rows):
                raise ValueError("Lengths must match to compare")
            result = [op(a, b) for a, b in zip(rows, other, strict=True)]
        else:
            result = [op(a, other) for a in rows]
        return np.array(result, dtype=bool)

    def to_numpy(
        self, dtype: Any = None, copy: bool = False, na_value: Any = pd.api.extensions.no_default
    ) -> np.ndarray[Any, Any]:
        """An object array of lists of span dicts (as the column held before it was Arrow)."""
        if dtype is None or np.dtype(dtype) == np.dtype(object):
            return np.fromiter(iter(self), dtype=object, count=len(self))
        return super().to_numpy(dtype=dtype, copy=copy, na_value=na_value)  # pragma: no cover


def span_series(spans: pa.Array | pa.ChunkedArray) -> pd.Series:
    """A ``pii_spans`` Series (fresh RangeIndex) over an Arrow list-of-spans array."""
    series: pd.Series = pd.Series(SpanArray(spans))
    return series


def spans_from_dicts(masks: Sequence[Sequence[dict[str, Any]]]) -> pa.ListArray:
    """Checked rows of span dicts (value, start, end, label each) as one Arrow array, built a
    column at a time (pyarrow's own conversion of a million dicts is 2x slower)."""
    lengths = np.fromiter(map(len, masks), dtype=np.int64, count=len(masks))
    offsets = np.zeros(len(masks) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = [span for mask in masks for span in mask]
    fields = [
        pa.array([s["value"] for s in flat], pa.string()),
        pa.array([s["start"] for s in flat], pa.int64()),
        pa.array([s["end"] for s in flat], pa.int64()),
        pa.array([s["label"] for s in flat], pa.string()),
    ]
    items = pa.StructArray.from_arrays(fields, fields=list(SPAN_TYPE))
    return pa.ListArray.from_arrays(pa.array(offsets), items, type=SPAN_LIST)
